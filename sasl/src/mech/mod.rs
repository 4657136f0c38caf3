//! The built-in mechanisms, one module each.

use crate::{ClientMechanism, Mechanism, ServerMechanism};

mod plain;

/// The server side of a built-in mechanism.
pub(crate) fn new_server(mechanism: Mechanism) -> Box<dyn ServerMechanism> {
    match mechanism {
        Mechanism::Plain => Box::new(plain::PlainServer::default()),
        other => Box::new(NotYet(other)),
    }
}

/// The client side of a built-in mechanism.
pub(crate) fn new_client(mechanism: Mechanism) -> Box<dyn ClientMechanism> {
    match mechanism {
        Mechanism::Plain => Box::new(plain::PlainClient),
        other => Box::new(NotYet(other)),
    }
}

// Temporary while the remaining mechanisms land.
struct NotYet(Mechanism);

impl ServerMechanism for NotYet {
    fn mechanism(&self) -> Mechanism {
        self.0
    }
    fn step(
        &mut self,
        _: Option<&[u8]>,
        _: &dyn crate::Credentials,
        _: &mut crate::ServerContext,
    ) -> Result<crate::ServerStep, crate::Error> {
        Err(crate::Error::UnknownMechanism(self.0.name().into()))
    }
}

impl ClientMechanism for NotYet {
    fn mechanism(&self) -> Mechanism {
        self.0
    }
    fn start(&mut self, _: &mut crate::ClientCredentials) -> Result<Option<Vec<u8>>, crate::Error> {
        Err(crate::Error::UnknownMechanism(self.0.name().into()))
    }
    fn step(
        &mut self,
        _: &[u8],
        _: &mut crate::ClientCredentials,
    ) -> Result<Vec<u8>, crate::Error> {
        Err(crate::Error::UnknownMechanism(self.0.name().into()))
    }
    fn finish(
        &mut self,
        _: Option<&[u8]>,
        _: &mut crate::ClientCredentials,
    ) -> Result<(), crate::Error> {
        Err(crate::Error::UnknownMechanism(self.0.name().into()))
    }
}
