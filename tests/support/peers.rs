//! Test peers on a network with per-peer keys: peer `n` has a fixed key (so failures
//! reproduce) and a replica id its key owns; peers 1 to 64 allow each other, any other `n` is
//! an outsider nobody allows.

use deltacrdt::{AllowList, PeerKey, ReplicaId};

/// Peer `n`'s key pair. `n` goes in bytes 1..17 of the secret: X25519 clamps the low bits of
/// byte 0 (and the top of byte 31), so keys differing only there would be one key.
pub(crate) fn key(n: u128) -> PeerKey {
    let mut secret = [0xdc; 32];
    secret[1..17].copy_from_slice(&n.to_le_bytes());
    PeerKey::from_secret(secret)
}

/// Peer `n`'s replica id, owned by [`key`]`(n)`.
pub(crate) fn id(n: u128) -> ReplicaId {
    let mut suffix = [0; 6];
    suffix.copy_from_slice(&n.to_be_bytes()[10..]);
    key(n).public().replica_id(suffix)
}

/// The keys of peers 1 to 64.
#[cfg_attr(
    not(feature = "tokio"),
    allow(dead_code, reason = "the network tests' list")
)]
pub(crate) fn group() -> AllowList {
    static GROUP: std::sync::OnceLock<AllowList> = std::sync::OnceLock::new();
    GROUP
        .get_or_init(|| AllowList::of((1..=64).map(|n| key(n).public())))
        .clone()
}
