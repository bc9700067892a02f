#![no_main]
//! Fuzz target: see `wxnet::fuzzing::multipart`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxnet::fuzzing::multipart(data));
