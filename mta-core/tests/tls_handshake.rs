//! TLS over real loopback TCP: SNI selection, verification against an extra root,
//! opportunistic mode, and the same RFC 9266 channel binding on both sides.

use std::time::Duration;

use mailhub_mta_core::tls::{
    ClientVerification, ServerTls, Stream, client_config, self_signed_pem,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

fn cert(name: &str) -> (String, String) {
    self_signed_pem(&[name.to_owned()]).unwrap()
}

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

/// One handshake; returns both sides' channel bindings or the client's error.
async fn handshake(
    server: &ServerTls,
    verification: ClientVerification,
    name: &str,
) -> Result<(Vec<u8>, Vec<u8>), std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = server.acceptor();
    let srv = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let s: Stream<Compat<TcpStream>> = Stream::Plain(tcp.compat());
        let s = s.accept(&acceptor).await.ok()?;
        assert!(s.is_tls());
        s.channel_binding().map(|c| c.data)
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let connector = futures_rustls::TlsConnector::from(client_config(&verification));
    let sn = ServerName::try_from(name.to_owned()).unwrap();
    let c = Stream::Plain(tcp.compat()).connect(&connector, sn).await;
    let client_cb = match c {
        Ok(c) => c.channel_binding().unwrap().data,
        Err(e) => {
            srv.abort();
            return Err(e);
        }
    };
    let server_cb = srv.await.unwrap().unwrap();
    Ok((client_cb, server_cb))
}

#[tokio::test]
async fn sni_verification_and_channel_binding() {
    tokio::time::timeout(Duration::from_secs(20), async {
        let (a_cert, a_key) = cert("a.test");
        let (b_cert, b_key) = cert("b.test");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.pem"), &b_cert).unwrap();
        std::fs::write(dir.path().join("b.key"), &b_key).unwrap();
        let mut server = ServerTls::from_pem(a_cert.as_bytes(), a_key.as_bytes()).unwrap();
        server
            .add_sni(
                "b.test",
                &mailhub_mta_core::tls::CertSource::Pem {
                    cert: dir.path().join("b.pem"),
                    key: dir.path().join("b.key"),
                },
            )
            .unwrap();

        let trust_b = ClientVerification::Verified {
            extra_roots: vec![der(&b_cert)],
        };
        let (c, s) = handshake(&server, trust_b.clone(), "b.test").await.unwrap();
        assert_eq!(c.len(), 32);
        assert_eq!(c, s, "both sides export the same binding");

        // Another name gets the default certificate, which the client does not trust.
        assert!(handshake(&server, trust_b, "a.test").await.is_err());
        // The web PKI alone trusts neither.
        let web = ClientVerification::Verified {
            extra_roots: vec![],
        };
        assert!(handshake(&server, web, "b.test").await.is_err());

        // Opportunistic accepts anything; bindings of two connections differ.
        let (c1, _) = handshake(&server, ClientVerification::Opportunistic, "x.test")
            .await
            .unwrap();
        let (c2, _) = handshake(&server, ClientVerification::Opportunistic, "x.test")
            .await
            .unwrap();
        assert_ne!(c1, c2);
    })
    .await
    .expect("test timed out");
}
