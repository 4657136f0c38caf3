//! Where nonces and salts come from: the operating system by default, or a source the caller
//! supplies (a seeded generator in tests, a hardware generator in an appliance).

use std::fmt;

/// A source of unpredictable bytes for nonces and salts.
pub trait RandomSource: Send {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

/// The operating system's generator (`getrandom`).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        // The OS generator failing is not a condition a mail server can recover from: there is
        // no safe nonce to fall back to.
        getrandom::fill(buf).expect("the operating system's random generator failed");
    }
}

impl<F: FnMut(&mut [u8]) + Send> RandomSource for F {
    fn fill(&mut self, buf: &mut [u8]) {
        self(buf)
    }
}

/// A boxed random source, as stored in contexts.
pub struct BoxedRandom(pub Box<dyn RandomSource>);

impl Default for BoxedRandom {
    fn default() -> Self {
        Self(Box::new(OsRandom))
    }
}

impl fmt::Debug for BoxedRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RandomSource")
    }
}

impl BoxedRandom {
    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        self.0.fill(buf)
    }

    /// A nonce of `len` printable characters (base64 alphabet without `,`), as SCRAM and
    /// CRAM-MD5 need.
    pub fn printable_nonce(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut raw = vec![0u8; len];
        self.fill(&mut raw);
        raw.iter()
            .map(|b| ALPHABET[(b & 63) as usize] as char)
            .collect()
    }
}
