#![no_main]
//! Fuzz target: see `wxnet::fuzzing::h3_frames`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxnet::fuzzing::h3_frames(data));
