#![no_main]
//! Fuzz target: see `wxnet::fuzzing::app_config`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxnet::fuzzing::app_config(data));
