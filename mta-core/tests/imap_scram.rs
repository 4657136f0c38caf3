//! SCRAM-SHA-256-PLUS from mailhub-sasl's client to the IMAP driver over IMAPS (TLS 1.3,
//! `tls-exporter` channel binding, SASL-IR), and a wrong binding refused.

mod imap_support;

use futures::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use imap_support::{LIMIT, Tls, message, start};
use mailhub_mta_core::auth::Plaintext;
use mailhub_mta_core::session::ConnectionLimits;
use mailhub_mta_core::tls::{ClientVerification, Stream, client_config};
use mailhub_sasl::{ClientCredentials, ClientSession, Mechanism, framing};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_util::compat::TokioAsyncReadCompatExt;

async fn line<R: futures::io::AsyncBufRead + Unpin>(r: &mut R) -> String {
    let mut s = String::new();
    r.read_line(&mut s).await.unwrap();
    s.trim_end().to_owned()
}

/// Runs SCRAM-SHA-256-PLUS with `binding` (the real one when `None`); returns the tagged
/// answer and the connection.
async fn scram(
    addr: std::net::SocketAddr,
    binding: Option<mailhub_sasl::ChannelBinding>,
) -> (
    String,
    BufReader<Stream<tokio_util::compat::Compat<TcpStream>>>,
) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let connector =
        futures_rustls::TlsConnector::from(client_config(&ClientVerification::Opportunistic));
    let tls = Stream::Plain(tcp.compat())
        .connect(&connector, ServerName::try_from("localhost").unwrap())
        .await
        .unwrap();
    let cb = tls.channel_binding().expect("TLS 1.3 channel binding");
    let mut io = BufReader::new(tls);
    let greeting = line(&mut io).await;
    assert!(greeting.contains("AUTH=SCRAM-SHA-256-PLUS"), "{greeting}");
    let mut creds = ClientCredentials::password("dave", "secret");
    creds.channel_binding = Some(binding.unwrap_or(cb));
    let mut client = ClientSession::new(Mechanism::ScramSha256Plus, creds).unwrap();
    let first = client.start(true).unwrap().unwrap();
    let cmd = format!(
        "a AUTHENTICATE SCRAM-SHA-256-PLUS {}\r\n",
        framing::encode(&first)
    );
    io.write_all(cmd.as_bytes()).await.unwrap();
    let result = loop {
        let l = line(&mut io).await;
        if let Some(ch) = l.strip_prefix("+ ").or((l == "+").then_some("")) {
            let challenge = framing::decode_challenge(ch.as_bytes(), 1 << 16).unwrap();
            let resp = client.step(&challenge).unwrap();
            io.write_all(format!("{}\r\n", framing::encode(&resp)).as_bytes())
                .await
                .unwrap();
        } else {
            break l;
        }
    };
    (result, io)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_sha256_plus_over_imaps() {
    tokio::time::timeout(LIMIT, async {
        let hub = start(
            Tls::Implicit,
            Plaintext::Never,
            &[message("one", "1")],
            |_| {},
            ConnectionLimits::default(),
        )
        .await;
        let (result, mut io) = scram(hub.addr, None).await;
        assert!(result.starts_with("a OK"), "{result}");
        io.write_all(b"s SELECT INBOX\r\n").await.unwrap();
        let mut lines = Vec::new();
        loop {
            let l = line(&mut io).await;
            assert!(!l.is_empty(), "closed after {lines:?}");
            let done = l.starts_with("s ");
            lines.push(l);
            if done {
                break;
            }
        }
        assert!(lines.iter().any(|l| l == "* 1 EXISTS"), "{lines:?}");
        assert!(lines.last().unwrap().starts_with("s OK"), "{lines:?}");

        // A wrong binding is refused: the server's SCRAM checks it.
        let wrong = mailhub_sasl::ChannelBinding {
            kind: mailhub_sasl::ChannelBindingType::TlsExporter,
            data: vec![0; 32],
        };
        let (result, _) = scram(hub.addr, Some(wrong)).await;
        assert!(result.starts_with("a NO"), "{result}");
    })
    .await
    .expect("test timed out");
}
