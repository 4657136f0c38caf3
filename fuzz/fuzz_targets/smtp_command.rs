#![no_main]

// Each target uses one of the harness's entry points.
#[allow(dead_code)]
#[path = "../harness/smtp.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::command(data));
