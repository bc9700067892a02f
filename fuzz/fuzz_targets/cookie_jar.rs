#![no_main]
//! Fuzz target: see `wxnet::fuzzing::cookie_jar`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxnet::fuzzing::cookie_jar(data));
