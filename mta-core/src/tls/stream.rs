//! A connection that may be upgraded to TLS in place (STARTTLS, STLS) or start in TLS
//! (RFC 8314 implicit TLS), and the channel-binding data of a TLS connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};
use mailhub_sasl::{ChannelBinding, ChannelBindingType};
use rustls_pki_types::ServerName;

/// The RFC 9266 §2 exporter label.
const EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

/// A connection over `S`, in cleartext or TLS (either side).
#[derive(Debug)]
#[non_exhaustive]
pub enum Stream<S> {
    /// Cleartext.
    Plain(S),
    /// TLS, server side.
    Server(Box<futures_rustls::server::TlsStream<S>>),
    /// TLS, client side.
    Client(Box<futures_rustls::client::TlsStream<S>>),
    /// A failed upgrade left nothing usable.
    Closed,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream<S> {
    /// Whether TLS protects the connection.
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Server(_) | Stream::Client(_))
    }

    /// Runs the server side of the TLS handshake on a cleartext stream (after the protocol's
    /// STARTTLS reply was sent, or at once for implicit TLS).
    pub async fn accept(self, acceptor: &futures_rustls::TlsAcceptor) -> io::Result<Stream<S>> {
        match self {
            Stream::Plain(s) => Ok(Stream::Server(Box::new(acceptor.accept(s).await?))),
            _ => Err(io::Error::other("TLS is already active")),
        }
    }

    /// Runs the client side of the TLS handshake, for `server_name`.
    pub async fn connect(
        self,
        connector: &futures_rustls::TlsConnector,
        server_name: ServerName<'static>,
    ) -> io::Result<Stream<S>> {
        match self {
            Stream::Plain(s) => Ok(Stream::Client(Box::new(
                connector.connect(server_name, s).await?,
            ))),
            _ => Err(io::Error::other("TLS is already active")),
        }
    }

    /// The `tls-exporter` channel binding of this connection, if it is TLS 1.3.
    pub fn channel_binding(&self) -> Option<ChannelBinding> {
        match self {
            Stream::Server(s) => channel_binding(s.get_ref().1),
            Stream::Client(s) => channel_binding(s.get_ref().1),
            _ => None,
        }
    }

    /// The SNI name the client asked for (server side).
    pub fn sni(&self) -> Option<String> {
        match self {
            Stream::Server(s) => s.get_ref().1.server_name().map(str::to_owned),
            _ => None,
        }
    }

    /// The negotiated protocol version and cipher suite, for logs and `Received:` lines
    /// (RFC 8314 §4.4).
    pub fn tls_summary(&self) -> Option<String> {
        let common: &rustls::CommonState = match self {
            Stream::Server(s) => s.get_ref().1,
            Stream::Client(s) => s.get_ref().1,
            _ => return None,
        };
        let v = common.protocol_version()?;
        let c = common.negotiated_cipher_suite()?;
        Some(format!("{v:?} {:?}", c.suite()))
    }
}

/// RFC 9266 `tls-exporter` data for a rustls connection: 32 octets, label
/// `EXPORTER-Channel-Binding`, no context. `None` before the handshake ends and on TLS 1.2 (see
/// the module doc of [`crate::tls`]).
pub fn channel_binding<D>(conn: &rustls::ConnectionCommon<D>) -> Option<ChannelBinding> {
    if conn.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) || conn.is_handshaking() {
        return None;
    }
    let data = conn
        .export_keying_material([0u8; 32], EXPORTER_LABEL, None)
        .ok()?;
    Some(ChannelBinding {
        kind: ChannelBindingType::TlsExporter,
        data: data.to_vec(),
    })
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Stream::Plain($s) => {
                let $s = Pin::new($s);
                $e
            }
            Stream::Server($s) => {
                let $s = Pin::new(&mut **$s);
                $e
            }
            Stream::Client($s) => {
                let $s = Pin::new(&mut **$s);
                $e
            }
            Stream::Closed => Poll::Ready(Err(io::Error::from(io::ErrorKind::NotConnected))),
        }
    };
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => s.poll_read(cx, buf))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => s.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_close(cx))
    }
}
