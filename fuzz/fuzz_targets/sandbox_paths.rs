#![no_main]
//! Fuzz target: see `wxnet::fuzzing::sandbox_paths`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxnet::fuzzing::sandbox_paths(data));
