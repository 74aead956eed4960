//! The repository as a whole: the p2p demo's scenario run as processes, and the layer check
//! that reads `src/` (DESIGN §1).

mod layers;
#[cfg(all(feature = "tokio", feature = "redb"))]
mod p2p_demo;
