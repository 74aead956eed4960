//! See `deltacrdt_fuzz::apply_remote`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| deltacrdt_fuzz::apply_remote(data));
