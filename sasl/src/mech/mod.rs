//! The built-in mechanisms, one module each, and the GS2 header and SASLprep they share.

use crate::{ClientMechanism, Mechanism, ServerMechanism};

mod anonymous;
mod cram_md5;
mod external;
mod gs2;
mod login;
mod oauthbearer;
mod plain;
pub(crate) mod saslprep;
mod scram;
mod xoauth2;

/// The server side of a built-in mechanism.
pub(crate) fn new_server(mechanism: Mechanism) -> Box<dyn ServerMechanism> {
    match mechanism {
        Mechanism::Plain => Box::new(plain::PlainServer::default()),
        Mechanism::Login => Box::new(login::LoginServer::default()),
        Mechanism::CramMd5 => Box::new(cram_md5::CramMd5Server::default()),
        Mechanism::ScramSha1
        | Mechanism::ScramSha1Plus
        | Mechanism::ScramSha256
        | Mechanism::ScramSha256Plus => Box::new(scram::ScramServer::new(mechanism)),
        Mechanism::OAuthBearer => Box::new(oauthbearer::OAuthBearerServer::default()),
        Mechanism::XOAuth2 => Box::new(xoauth2::XOAuth2Server::default()),
        Mechanism::Anonymous => Box::new(anonymous::AnonymousServer::default()),
        Mechanism::External => Box::new(external::ExternalServer::default()),
    }
}

/// The client side of a built-in mechanism.
pub(crate) fn new_client(mechanism: Mechanism) -> Box<dyn ClientMechanism> {
    match mechanism {
        Mechanism::Plain => Box::new(plain::PlainClient),
        Mechanism::Login => Box::new(login::LoginClient::default()),
        Mechanism::CramMd5 => Box::new(cram_md5::CramMd5Client::default()),
        Mechanism::ScramSha1
        | Mechanism::ScramSha1Plus
        | Mechanism::ScramSha256
        | Mechanism::ScramSha256Plus => Box::new(scram::ScramClient::new(mechanism)),
        Mechanism::OAuthBearer => Box::new(oauthbearer::OAuthBearerClient::default()),
        Mechanism::XOAuth2 => Box::new(xoauth2::XOAuth2Client::default()),
        Mechanism::Anonymous => Box::new(anonymous::AnonymousClient),
        Mechanism::External => Box::new(external::ExternalClient),
    }
}
