#![no_main]

#[path = "../harness/imap_client.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::client_input(data));
