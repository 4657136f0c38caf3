#![no_main]

// Each target uses only part of its harness.
#[allow(dead_code)]
#[path = "../harness/mbox.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::reader(data));
