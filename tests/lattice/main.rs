//! The lattices and their clock: the lattice laws and the semantic oracle over random clocked
//! histories (both proptest, DESIGN §9.2–9.3), the exactness of every dot index (DESIGN §10), the encoded size of every delta, and the hybrid
//! logical clock's rules (DESIGN §4).
//!
//! The clock tests need no feature; the others read encoded round trips and sizes (`sync`).

mod clock;
#[cfg(feature = "sync")]
#[cfg(feature = "sync")]
mod delta_size;
#[cfg(feature = "sync")]
mod index;
#[cfg(feature = "sync")]
mod laws;
#[cfg(feature = "sync")]
mod oracle;
#[cfg(feature = "sync")]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failure should panic loudly"
)]
#[path = "../support/mod.rs"]
mod support;
