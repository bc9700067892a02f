#![no_main]
//! Fuzz target: see `wxnet::fuzzing::options`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxnet::fuzzing::options(data));
