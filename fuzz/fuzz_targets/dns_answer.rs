#![no_main]
//! Fuzz target: see `wxnet::fuzzing::dns_answer`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxnet::fuzzing::dns_answer(data));
