//! See `deltacrdt_fuzz::reconcile_rounds`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| deltacrdt_fuzz::reconcile_rounds(data));
