#![no_main]

#[path = "../harness/mbox.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::reader(data));
