//! The server side of SCRAM (RFC 5802 §5, §6, §9).

use super::{Attr, attributes, base64, encode, is_printable, nonce, variant, xor};
use crate::mech::gs2::{self, CbFlag};
use crate::server::authorize;
use crate::{
    Credentials, DEFAULT_SCRAM_ITERATIONS, Error, Mechanism, Outcome, ScramHash, ScramKeys, Secret,
    ServerContext, ServerMechanism, ServerStep, ct_eq,
};

/// Salt length of decoy keys, the same as the default derivation in [`Credentials::scram_keys`].
const DECOY_SALT_LEN: usize = 16;

/// Key of the decoy derivation when the caller set none. Anyone who reads this source can then
/// recompute a decoy salt and learn that a user does not exist; set
/// [`ServerContext::scram_decoy_key`] to a per-installation secret to prevent that.
const DEFAULT_DECOY_KEY: &[u8] = b"mailhub-sasl scram decoy key";

pub(crate) struct ScramServer {
    mechanism: Mechanism,
    hash: ScramHash,
    plus: bool,
    state: State,
}

enum State {
    New,
    Challenged,
    SentFirst(Box<Exchange>),
    Done,
}

/// What the server remembers between its first message and the client's proof.
struct Exchange {
    /// The GS2 header, and the channel-binding data it requires: `c=` must carry both.
    cbind_input: Vec<u8>,
    authzid: Option<String>,
    authcid: String,
    client_first_bare: Vec<u8>,
    server_first: Vec<u8>,
    nonce: Vec<u8>,
    keys: ScramKeys,
    /// The user is unknown and `keys` are a decoy: the proof must fail.
    decoy: bool,
}

impl ScramServer {
    pub(crate) fn new(mechanism: Mechanism) -> Self {
        let (hash, plus) = variant(mechanism);
        ScramServer {
            mechanism,
            hash,
            plus,
            state: State::New,
        }
    }

    /// The GS2 channel-binding checks of RFC 5802 §6; returns the binding data `c=` must carry.
    fn check_binding<'c>(
        &self,
        flag: &CbFlag,
        context: &'c ServerContext,
    ) -> Result<&'c [u8], Error> {
        match (flag, self.plus) {
            (CbFlag::Required(name), true) => {
                let cb = context
                    .channel_binding
                    .as_ref()
                    .ok_or(Error::ChannelBinding(
                        "no channel-binding data on this connection",
                    ))?;
                if cb.kind.name() != name {
                    return Err(Error::ChannelBinding("unsupported channel-binding type"));
                }
                Ok(&cb.data)
            }
            (_, true) => Err(Error::ChannelBinding(
                "a -PLUS mechanism needs p= in the GS2 header",
            )),
            (CbFlag::Required(_), false) => Err(Error::ChannelBinding(
                "p= sent with a mechanism without channel binding",
            )),
            (CbFlag::ClientOnly, false) if context.channel_binding.is_some() => {
                Err(Error::ChannelBinding(
                    "downgrade detected: the client saw no -PLUS mechanism, but the server supports channel binding",
                ))
            }
            (CbFlag::ClientOnly | CbFlag::No, false) => Ok(&[]),
        }
    }

    fn client_first(
        &mut self,
        message: &[u8],
        credentials: &dyn Credentials,
        context: &mut ServerContext,
    ) -> Result<ServerStep, Error> {
        let (header, bare) = gs2::parse_header(message)?;
        let cb_data = self.check_binding(&header.flag, context)?;
        let mut cbind_input = message[..header.len].to_vec();
        cbind_input.extend_from_slice(cb_data);

        let attrs = attributes(bare)?;
        let (user, client_nonce) = match attrs.as_slice() {
            [Attr { name: b'm', .. }, ..] => {
                return Err(Error::Malformed("unsupported mandatory SCRAM extension"));
            }
            [
                Attr {
                    name: b'n',
                    value: user,
                },
                Attr {
                    name: b'r',
                    value: nonce,
                },
                ..,
            ] => (*user, *nonce),
            _ => return Err(Error::Malformed("SCRAM client-first needs n= and r=")),
        };
        let authcid = gs2::decode_saslname(user)?;
        if !is_printable(client_nonce) {
            return Err(Error::Malformed("SCRAM client nonce is not printable"));
        }

        let (keys, decoy) = match credentials.scram_keys(&authcid, self.hash)? {
            Some(k) if k.hash == self.hash && k.iterations > 0 && !k.salt.is_empty() => (k, false),
            Some(_) => return Err(Error::TransitionNeeded),
            None if credentials.user_exists(&authcid)? => return Err(Error::TransitionNeeded),
            None => (decoy_keys(self.hash, &authcid, context), true),
        };

        let mut full_nonce = client_nonce.to_vec();
        full_nonce.extend_from_slice(nonce(&mut context.random, context.nonce_len).as_bytes());
        let mut server_first = b"r=".to_vec();
        server_first.extend_from_slice(&full_nonce);
        server_first.extend_from_slice(
            format!(",s={},i={}", encode(&keys.salt), keys.iterations).as_bytes(),
        );

        self.state = State::SentFirst(Box::new(Exchange {
            cbind_input,
            authzid: header.authzid,
            authcid,
            client_first_bare: bare.to_vec(),
            server_first: server_first.clone(),
            nonce: full_nonce,
            keys,
            decoy,
        }));
        Ok(ServerStep::Challenge(server_first))
    }

    fn client_final(
        &self,
        x: &Exchange,
        message: &[u8],
        credentials: &dyn Credentials,
    ) -> Result<ServerStep, Error> {
        let attrs = attributes(message)?;
        let (cbind, nonce, proof) = match attrs.as_slice() {
            [
                Attr {
                    name: b'c',
                    value: c,
                },
                Attr {
                    name: b'r',
                    value: r,
                },
                ..,
                Attr {
                    name: b'p',
                    value: p,
                },
            ] => (*c, *r, *p),
            _ => return Err(Error::Malformed("SCRAM client-final needs c=, r= and p=")),
        };
        // `p=` is the last attribute: everything before its comma is signed.
        let without_proof = &message[..message.len() - proof.len() - 3];

        if !ct_eq(nonce, &x.nonce) {
            return Err(Error::NonceMismatch);
        }
        if !ct_eq(&base64(cbind)?, &x.cbind_input) {
            return Err(Error::ChannelBinding("channel-binding data does not match"));
        }
        let proof = base64(proof)?;
        if proof.len() != self.hash.output_len() {
            return Err(Error::Malformed("SCRAM proof of the wrong length"));
        }

        let mut auth_message = x.client_first_bare.clone();
        auth_message.push(b',');
        auth_message.extend_from_slice(&x.server_first);
        auth_message.push(b',');
        auth_message.extend_from_slice(without_proof);

        let stored_key = x.keys.stored_key.expose();
        let client_signature = self.hash.hmac(stored_key, &auth_message);
        let client_key = Secret::new(xor(&proof, &client_signature));
        let matches = ct_eq(&self.hash.hash(client_key.expose()), stored_key);
        if !matches || x.decoy {
            return Err(Error::AuthenticationFailed);
        }
        let authzid = authorize(credentials, &x.authcid, x.authzid.as_deref())?;
        let server_signature = self.hash.hmac(x.keys.server_key.expose(), &auth_message);
        Ok(ServerStep::Success(Outcome {
            authcid: x.authcid.clone(),
            authzid,
            additional_data: Some(format!("v={}", encode(&server_signature)).into_bytes()),
        }))
    }
}

/// Keys for a user who does not exist: the salt is stable per name (a client asking twice sees
/// the same salt, as for a real user) and unpredictable without the decoy key; the stored key
/// never matches since the exchange fails regardless.
fn decoy_keys(hash: ScramHash, authcid: &str, context: &ServerContext) -> ScramKeys {
    let key = match context.scram_decoy_key.expose().as_slice() {
        [] => DEFAULT_DECOY_KEY,
        k => k,
    };
    let derive = |label: &str| {
        let mut out = ScramHash::Sha256.hmac(key, format!("{label}\0{authcid}").as_bytes());
        out.truncate(hash.output_len());
        out
    };
    let mut salt = derive("salt");
    salt.truncate(DECOY_SALT_LEN);
    ScramKeys {
        hash,
        salt,
        iterations: DEFAULT_SCRAM_ITERATIONS,
        stored_key: Secret::new(derive("stored")),
        server_key: Secret::new(derive("server")),
    }
}

impl ServerMechanism for ScramServer {
    fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    fn step(
        &mut self,
        input: Option<&[u8]>,
        credentials: &dyn Credentials,
        context: &mut ServerContext,
    ) -> Result<ServerStep, Error> {
        match (std::mem::replace(&mut self.state, State::Done), input) {
            (State::New, None) => {
                self.state = State::Challenged;
                Ok(ServerStep::Challenge(Vec::new()))
            }
            (State::New | State::Challenged, Some(message)) => {
                self.client_first(message, credentials, context)
            }
            (State::SentFirst(x), Some(message)) => self.client_final(&x, message, credentials),
            _ => Err(Error::OutOfSequence("SCRAM expects a response")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoy_salt_is_stable_and_keyed() {
        let mut ctx = ServerContext::default();
        let a = decoy_keys(ScramHash::Sha256, "nobody", &ctx);
        let b = decoy_keys(ScramHash::Sha256, "nobody", &ctx);
        let c = decoy_keys(ScramHash::Sha256, "someone", &ctx);
        assert_eq!(a.salt, b.salt);
        assert_ne!(a.salt, c.salt);
        assert_eq!(a.salt.len(), DECOY_SALT_LEN);
        assert_eq!(a.stored_key.expose().len(), 32);
        ctx.scram_decoy_key = Secret::new(b"site secret".to_vec());
        assert_ne!(decoy_keys(ScramHash::Sha256, "nobody", &ctx).salt, a.salt);
        assert_eq!(
            decoy_keys(ScramHash::Sha1, "x", &ctx)
                .stored_key
                .expose()
                .len(),
            20
        );
    }
}
