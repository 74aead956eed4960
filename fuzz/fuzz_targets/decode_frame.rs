//! See `deltacrdt_fuzz::decode_frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| deltacrdt_fuzz::decode_frame(data));
