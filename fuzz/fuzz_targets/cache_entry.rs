#![no_main]
//! Fuzz target: see `wxnet::fuzzing::cache_entry`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxnet::fuzzing::cache_entry(data));
