#![no_main]

#[path = "../harness/mta_aliases.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::aliases_input(data));
