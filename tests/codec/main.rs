//! Bytes in and out (DESIGN §6): the golden byte vectors that pin the wire format, hostile
//! input against the public API, and the fuzz targets' corpus and crashers replayed on stable.
//!
//! `malformed_frames` is a binary of its own: it counts every allocation of its process with a
//! global allocator, so no other test may run beside it.

mod fuzz_corpus;
mod golden;
mod hostile_input;
mod large_values;
