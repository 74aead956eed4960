//! The repository as a whole: the p2p demo's scenario run as processes.

#[cfg(all(feature = "tokio", feature = "redb"))]
mod p2p_demo;
