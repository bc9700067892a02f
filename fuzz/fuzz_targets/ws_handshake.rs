#![no_main]
//! Fuzz target: see `wxnet::fuzzing::ws_handshake`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| wxnet::fuzzing::ws_handshake(data));
