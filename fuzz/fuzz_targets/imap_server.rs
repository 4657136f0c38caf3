#![no_main]

#[path = "../harness/imap_server.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::server_input(data));
