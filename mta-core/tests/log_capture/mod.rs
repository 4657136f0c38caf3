//! Captures everything the process logs at TRACE level, for the tests that prove no password
//! or SASL payload is ever logged. One capture per test binary: the subscriber is global.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The captured log text.
#[derive(Clone, Default)]
pub(crate) struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Installs the global subscriber writing into a new capture.
    pub(crate) fn capture_trace() -> Logs {
        let logs = Logs::default();
        let w = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || w.clone())
            .init();
        logs
    }

    /// Everything logged so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}
