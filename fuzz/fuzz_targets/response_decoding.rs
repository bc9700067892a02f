#![no_main]
//! Fuzz target: see `wxnet::fuzzing::response_decoding`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxnet::fuzzing::response_decoding(data));
