#![no_main]
//! Fuzz target: see `wxnet::fuzzing::url_policy`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxnet::fuzzing::url_policy(data));
