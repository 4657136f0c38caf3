#![no_main]

#[path = "../harness/sasl_passwd.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::parse(data));
