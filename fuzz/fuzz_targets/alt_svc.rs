#![no_main]
//! Fuzz target: see `wxnet::fuzzing::alt_svc`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxnet::fuzzing::alt_svc(data));
