//! The lattices and their clock: the lattice laws and the semantic oracle over random clocked
//! histories (both proptest, DESIGN §9.2–9.3), the encoded size of every delta, and the hybrid
//! logical clock's rules (DESIGN §4).
//!
//! The clock tests need no feature; the others read serde round trips and encoded sizes.

mod clock;
#[cfg(feature = "serde")]
mod delta_size;
#[cfg(feature = "serde")]
mod laws;
#[cfg(feature = "serde")]
mod oracle;
#[cfg(feature = "serde")]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failure should panic loudly"
)]
#[path = "../support/mod.rs"]
mod support;
