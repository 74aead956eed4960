//! See `deltacrdt_fuzz::sync_actions`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| deltacrdt_fuzz::sync_actions(data));
