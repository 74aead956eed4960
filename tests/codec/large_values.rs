//! Standalone values larger than one sync frame: `decode` takes back what `encode` wrote, under
//! the default limits, for every size those limits are documented to suit; a value frame is
//! bounded by `max_state_bytes` instead, and refused above it before anything is parsed.
#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "tests; the sizes are printed for the report, with --nocapture"
)]

use deltacrdt::{DecodeError, DecodeLimits, Doc, OrSet, ReplicaId, decode, decode_with, encode};

fn r(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

/// An add-wins set of `n` integers written by three replicas.
fn set_of(n: u64) -> OrSet<u64> {
    let mut set = OrSet::default();
    for i in 0..n {
        let _ = set.insert(r(u128::from(i % 3) + 1), i);
    }
    set
}

/// A document of about `n` elements: a set of `n / 2` scalars and `n / 2` counter fields.
fn doc_of(n: u64) -> Doc {
    let mut doc = Doc::default();
    for i in 0..n / 2 {
        let _ = doc
            .insert(r(1), &["tags"], i64::try_from(i).unwrap().into())
            .unwrap();
        let _ = doc.increment(r(2), &["counts", &i.to_string()], 1).unwrap();
    }
    doc
}

fn round_trips_past_one_sync_frame(n: u64) {
    let set = set_of(n);
    let bytes = encode(&set).unwrap();
    assert!(
        bytes.len() > DecodeLimits::default().max_frame_bytes,
        "{} B",
        bytes.len()
    );
    eprintln!("OrSet<u64> of {n}: {} B", bytes.len());
    assert_eq!(decode::<OrSet<u64>>(&bytes).unwrap(), set);
    let doc = doc_of(n);
    let bytes = encode(&doc).unwrap();
    assert!(
        bytes.len() > DecodeLimits::default().max_frame_bytes,
        "{} B",
        bytes.len()
    );
    eprintln!("Doc of {n}: {} B", bytes.len());
    assert_eq!(decode::<Doc>(&bytes).unwrap(), doc);
}

/// Before value frames were bounded by `max_state_bytes`, sets failed from ~79,000 elements.
#[test]
fn values_larger_than_a_sync_frame_decode_under_default_limits() {
    round_trips_past_one_sync_frame(200_000);
}

/// The size the defaults are documented to suit (slow: run with `--ignored`).
#[test]
#[ignore = "builds and decodes five million elements: seconds in release, minutes in debug"]
fn five_million_elements_decode_under_default_limits() {
    round_trips_past_one_sync_frame(5_000_000);
}

#[test]
fn a_value_above_max_state_bytes_is_refused_by_size_first() {
    let bytes = encode(&set_of(1_000)).unwrap();
    let limits = DecodeLimits {
        max_state_bytes: bytes.len() - 1,
        ..DecodeLimits::default()
    };
    assert_eq!(
        decode_with::<OrSet<u64>>(&bytes, &limits),
        Err(DecodeError::FrameTooLarge {
            len: bytes.len(),
            max: bytes.len() - 1
        })
    );
    // Exactly at the bound it decodes, and the sync frame bound does not apply to it.
    let limits = DecodeLimits {
        max_state_bytes: bytes.len(),
        max_frame_bytes: 16,
        ..DecodeLimits::default()
    };
    assert_eq!(
        decode_with::<OrSet<u64>>(&bytes, &limits).unwrap(),
        set_of(1_000)
    );
}
