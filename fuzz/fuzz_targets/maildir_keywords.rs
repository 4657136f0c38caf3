#![no_main]

#[path = "../harness/maildir.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::keywords(data));
