//! Malformed frames against a seeded replica and the standalone decoders: truncated, bit-flipped,
//! corrupted, oversized, wrong-version, hostile-length and random bytes each give a typed error
//! (or a harmless valid frame), never a panic, leave the replica unchanged when refused
//! (state, sequence number and clock; rule D3), and allocate at most a bound proportional to the
//! frame (rule D2).
//!
//! Every frame closes with a CRC-32, which stops nearly every corruption at
//! `DecodeError::Checksum`. Corrupted frames are therefore fed both as they are and resealed
//! (`targets::resealed`), so the body decoders behind the checksum meet them too.
//!
//! Allocation is measured with a counting global allocator. `total_allocated` grows by every
//! byte allocated, freed or not, so its growth over one decode bounds that decode's peak from
//! above. Tests here take one lock so no other test's allocations are counted.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::print_stderr,
    reason = "tests"
)]

use std::alloc::System;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use cap::Cap;
use deltacrdt::{
    DecodeError, DecodeLimits, Doc, FORMAT_VERSION, OrSet, SyncConfig, SyncEngine, SyncError,
    decode, decode_with, encode,
};

#[allow(
    unreachable_pub,
    missing_docs,
    dead_code,
    unused_imports,
    reason = "shared with the fuzz crate, which uses all of it"
)]
#[path = "../fuzz/src/lib.rs"]
mod targets;

use targets::{Fixture, PEER, Rng, fixed_clock, r, receive_checked, resealed, seal};

#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

/// Serialises the tests of this binary so allocation counts are not polluted.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The most one hostile decode may allocate: `PER_BYTE` per frame byte plus `FIXED`.
///
/// Measured (see `allocation_bound_holds_with_margin`): the decode of a frame of `n` bytes
/// allocates the frame's replica table (16 bytes per id, each id paid by 16 frame bytes), a
/// chunk's byte string (paid byte for byte), and the decoded value, whose elements are each
/// paid by at least one frame byte but may take up to a few dozen bytes in memory (a `Value` is
/// 32 bytes, a map entry more); serde pre-allocates a sequence only up to the bytes left
/// (postcard reports no size hint past them), and our decoders reserve at most 4 KiB per
/// sequence before its elements arrive. The worst case per byte is a list of one-byte `Null`s:
/// 32 bytes each in memory, in a `Vec` whose capacity doubles up to the next power of two —
/// and `measured` sums every allocation, so the doublings count twice: 32 × 2 × 2 = 128. The
/// fixed part covers the engine's per-frame bookkeeping, the thread-local sessions and
/// hash-map first allocations.
const PER_BYTE: usize = 128;
const FIXED: usize = 1 << 20;

fn bound(frame_len: usize) -> usize {
    PER_BYTE * frame_len + FIXED
}

/// Runs `f` and returns its result and the bytes allocated meanwhile (an upper bound on its
/// peak).
fn measured<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOC.total_allocated();
    let out = f();
    (out, ALLOC.total_allocated() - before)
}

/// Which variants and sync errors the inputs reached, for the coverage check.
#[derive(Default, Debug)]
struct Tally {
    decode: BTreeMap<&'static str, usize>,
    sync: BTreeMap<&'static str, usize>,
    accepted: usize,
    /// The most any one input allocated, as a fraction of its bound.
    worst_ratio: f64,
}

fn variant(err: &DecodeError) -> &'static str {
    match err {
        DecodeError::FrameTooLarge { .. } => "FrameTooLarge",
        DecodeError::Truncated => "Truncated",
        DecodeError::BadMagic { .. } => "BadMagic",
        DecodeError::UnsupportedVersion { .. } => "UnsupportedVersion",
        DecodeError::Checksum { .. } => "Checksum",
        DecodeError::UnknownKind(_) => "UnknownKind",
        DecodeError::UnexpectedKind { .. } => "UnexpectedKind",
        DecodeError::TooManyReplicas { .. } => "TooManyReplicas",
        DecodeError::DuplicateReplica => "DuplicateReplica",
        DecodeError::UnknownReplica { .. } => "UnknownReplica",
        DecodeError::TooManyElements { .. } => "TooManyElements",
        DecodeError::TooDeep { .. } => "TooDeep",
        DecodeError::BadChunk { .. } => "BadChunk",
        DecodeError::Invalid(_) => "Invalid",
        DecodeError::Malformed(_) => "Malformed",
        DecodeError::TrailingBytes(_) => "TrailingBytes",
        _ => "unknown variant",
    }
}

/// Every `DecodeError` variant; bytes reach each of them (`every_reachable_variant_is_reached`).
const ALL_VARIANTS: [&str; 16] = [
    "FrameTooLarge",
    "Truncated",
    "BadMagic",
    "UnsupportedVersion",
    "Checksum",
    "UnknownKind",
    "UnexpectedKind",
    "TooManyReplicas",
    "DuplicateReplica",
    "UnknownReplica",
    "TooManyElements",
    "TooDeep",
    "BadChunk",
    "Invalid",
    "Malformed",
    "TrailingBytes",
];

impl Tally {
    fn decode_error(&mut self, err: &DecodeError) {
        *self.decode.entry(variant(err)).or_default() += 1;
    }

    fn sync_error(&mut self, err: &SyncError) {
        let name = match err {
            SyncError::Incompatible { .. } => "Incompatible",
            SyncError::Decode { source, .. } => {
                self.decode_error(source);
                "Decode"
            }
            SyncError::Clock { .. } => "Clock",
            SyncError::PeerMismatch { .. } => "PeerMismatch",
            SyncError::SelfId(_) => "SelfId",
            SyncError::AckOutOfRange { .. } => "AckOutOfRange",
            _ => "unknown variant",
        };
        *self.sync.entry(name).or_default() += 1;
    }

    fn allocation(&mut self, what: &str, frame: &[u8], bytes: usize) {
        assert!(
            bytes <= bound(frame.len()),
            "{what}: a frame of {} bytes allocated {bytes} bytes (bound {})",
            frame.len(),
            bound(frame.len())
        );
        self.worst_ratio = self
            .worst_ratio
            .max(bytes as f64 / bound(frame.len()) as f64);
    }
}

/// A replica of `T` holding `state`, connected to [`PEER`] (which it has heard from, so chunks
/// and data from it are processed like a live session's).
struct Replica<T> {
    state: T,
    engine: SyncEngine<T>,
}

impl<T> Replica<T>
where
    T: Fixture,
{
    fn new(state: T) -> Self {
        let engine = Self::fresh(&state);
        Self { state, engine }
    }

    fn fresh(state: &T) -> SyncEngine<T> {
        let mut engine =
            SyncEngine::restore(fixed_clock(r(1)), state.clone(), 5, SyncConfig::default());
        engine.connect(r(PEER));
        engine
    }

    /// Feeds `frame` from `from`, checking the receive contract and the allocation bound;
    /// rebuilds the engine after an accepted frame so every input meets the same replica.
    fn feed(&mut self, tally: &mut Tally, from: u128, frame: &[u8]) -> Result<bool, SyncError> {
        let (result, bytes) = measured(|| receive_checked(&mut self.engine, r(from), frame));
        tally.allocation("receive", frame, bytes);
        match &result {
            Err(err) => tally.sync_error(err),
            Ok(_) => {
                tally.accepted += 1;
                self.engine = Self::fresh(&self.state);
            }
        }
        result
    }
}

/// Decodes `frame` as standalone values of both types, under the default and tight limits,
/// checking the allocation bound and tallying errors.
fn decode_all(tally: &mut Tally, frame: &[u8]) {
    let tight = DecodeLimits {
        max_elements: 64,
        max_depth: 8,
        max_replicas: 2,
        ..DecodeLimits::default()
    };
    let (doc, bytes) = measured(|| decode::<Doc>(frame));
    tally.allocation("decode::<Doc>", frame, bytes);
    if let Err(err) = &doc {
        tally.decode_error(err);
    }
    let (set, bytes) = measured(|| decode::<OrSet<u64>>(frame));
    tally.allocation("decode::<OrSet<u64>>", frame, bytes);
    if let Err(err) = &set {
        tally.decode_error(err);
    }
    let (tight_doc, bytes) = measured(|| decode_with::<Doc>(frame, &tight));
    tally.allocation("decode_with::<Doc>", frame, bytes);
    if let Err(err) = &tight_doc {
        tally.decode_error(err);
    }
}

/// The frames every test corrupts: valid frames of every kind for both types.
fn valid_frames() -> Vec<(String, Vec<u8>)> {
    targets::valid_frames()
}

fn is_set_frame(name: &str) -> bool {
    name.starts_with("set_") || name == "value_set"
}

/// Both replicas, and which one a named frame belongs to.
struct Replicas {
    doc: Replica<Doc>,
    set: Replica<OrSet<u64>>,
}

impl Replicas {
    fn new() -> Self {
        Self {
            doc: Replica::new(targets::seeded_doc(1)),
            set: Replica::new(targets::seeded_set(1)),
        }
    }

    /// Feeds `frame` to both replicas (a frame of the other type is just another malformed
    /// input) and to the standalone decoders; returns the result of the replica it was made for.
    fn feed(&mut self, tally: &mut Tally, name: &str, frame: &[u8]) -> Result<bool, SyncError> {
        decode_all(tally, frame);
        let doc = self.doc.feed(tally, PEER, frame);
        let set = self.set.feed(tally, PEER, frame);
        if is_set_frame(name) { set } else { doc }
    }
}

#[test]
fn valid_frames_are_accepted() {
    let _serial = serial();
    let mut replicas = Replicas::new();
    let mut tally = Tally::default();
    for (name, frame) in valid_frames() {
        if name.starts_with("value_") {
            continue; // standalone values are not sync messages
        }
        // A hello must come from the replica it names; replica 1's own hellos are skipped.
        let from = if frame[3] == 0x01 {
            u128::from_be_bytes(frame[4..20].try_into().unwrap())
        } else {
            PEER
        };
        if from == 1 {
            continue;
        }
        decode_all(&mut tally, &frame);
        let replica_result = if is_set_frame(&name) {
            replicas.set.feed(&mut tally, from, &frame)
        } else {
            replicas.doc.feed(&mut tally, from, &frame)
        };
        assert!(replica_result.is_ok(), "{name} refused: {replica_result:?}");
    }
}

/// Every prefix of a valid frame, as it is and sealed with its own checksum (so the body
/// decoders meet the truncation), is refused.
#[test]
fn every_prefix_of_a_valid_frame_is_refused() {
    let _serial = serial();
    let mut replicas = Replicas::new();
    let mut tally = Tally::default();
    for (name, frame) in valid_frames() {
        let covered = frame.len() - 4;
        let sealed_prefixes = (0..covered).map(|len| {
            let mut prefix = frame[..len].to_vec();
            seal(&mut prefix);
            prefix
        });
        let prefixes = (0..frame.len()).map(|len| frame[..len].to_vec());
        for prefix in prefixes.chain(sealed_prefixes) {
            let result = replicas.feed(&mut tally, &name, &prefix);
            assert!(
                result.is_err(),
                "{name}: the prefix {prefix:02x?} was accepted"
            );
            assert!(decode::<Doc>(&prefix).is_err());
            assert!(decode::<OrSet<u64>>(&prefix).is_err());
        }
    }
    assert!(tally.decode["Truncated"] > 0);
    eprintln!("truncations: {tally:?}");
}

/// Every single-bit flip of a valid frame. As it is, the flip is refused: by the magic or
/// version check in the header, else by the checksum (CRC-32 detects every single-bit error).
/// Resealed, it reaches the body decoders and is refused or harmless (a flipped bit may give
/// another valid frame); a flip inside the checksum reseals to the original frame, so those
/// are skipped.
#[test]
fn every_single_bit_flip_is_refused_or_harmless() {
    let _serial = serial();
    let mut replicas = Replicas::new();
    let (mut raw, mut deep) = (Tally::default(), Tally::default());
    for (name, frame) in valid_frames() {
        for bit in 0..frame.len() * 8 {
            let mut flipped = frame.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let result = replicas.feed(&mut raw, &name, &flipped);
            assert!(result.is_err(), "{name}: flipping bit {bit} was accepted");
            let expected = match bit / 8 {
                0 | 1 => "BadMagic",
                2 => "UnsupportedVersion",
                _ => "Checksum",
            };
            let err = decode::<Doc>(&flipped).unwrap_err();
            assert_eq!(variant(&err), expected, "{name}: bit {bit}: {err}");
            if bit < (frame.len() - 4) * 8 {
                let _ = replicas.feed(&mut deep, &name, &resealed(&flipped));
            }
        }
    }
    eprintln!("bit flips as they are: {raw:?}");
    eprintln!("bit flips resealed: {deep:?}");
    assert_eq!(raw.accepted, 0);
    for past_the_checksum in DEEP_VARIANTS {
        assert!(
            deep.decode.contains_key(past_the_checksum),
            "no resealed flip reached {past_the_checksum}"
        );
    }
}

/// Variants only a frame with a correct checksum can reach, which resealed bit flips and
/// corruptions must reach.
const DEEP_VARIANTS: [&str; 5] = [
    "UnknownKind",
    "UnexpectedKind",
    "Invalid",
    "Malformed",
    "TrailingBytes",
];

#[test]
fn random_corruptions_are_refused_or_harmless() {
    let seed = 0x00c0_ffee;
    eprintln!("seed {seed:#x}");
    let _serial = serial();
    let mut rng = Rng::new(seed);
    let frames = valid_frames();
    let mut replicas = Replicas::new();
    let mut tally = Tally::default();
    for _ in 0..3_000 {
        let (name, frame) = &frames[rng.below(frames.len() as u64) as usize];
        let mut bytes = frame.clone();
        for _ in 0..=rng.below(6) {
            let at = rng.below(bytes.len() as u64) as usize;
            match rng.below(4) {
                0 => bytes[at] = rng.next_u64() as u8,
                1 => bytes[at] = [0x00, 0x7f, 0x80, 0xff][rng.below(4) as usize],
                2 => bytes.insert(at, rng.next_u64() as u8),
                _ => {
                    let _ = bytes.remove(at.max(4).min(bytes.len() - 1));
                }
            }
        }
        let _ = replicas.feed(&mut tally, name, &bytes);
        let _ = replicas.feed(&mut tally, name, &resealed(&bytes));
    }
    eprintln!("corruptions: {tally:?}");
    for past_the_checksum in DEEP_VARIANTS {
        assert!(
            tally.decode.contains_key(past_the_checksum),
            "no resealed corruption reached {past_the_checksum}"
        );
    }
}

#[test]
fn random_bytes_are_refused() {
    let seed = 0x5eed;
    eprintln!("seed {seed:#x}");
    let _serial = serial();
    let mut rng = Rng::new(seed);
    let mut replicas = Replicas::new();
    let mut tally = Tally::default();
    for i in 0..3_000 {
        let len = rng.below(600) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        // Most inputs get a valid header, and half of them a valid checksum too, so they reach
        // the body decoders.
        if i % 4 != 0 && bytes.len() >= 8 {
            let kind = [0x01, 0x02, 0x03, 0x04, 0x05, 0x10][rng.below(6) as usize];
            bytes[..4].copy_from_slice(&targets::header(kind));
            if i % 4 != 1 {
                bytes = resealed(&bytes);
            }
        }
        let _ = replicas.feed(&mut tally, "random", &bytes);
    }
    eprintln!("random: {tally:?}");
}

#[test]
fn oversized_frames_are_refused_before_parsing() {
    let _serial = serial();
    let mut replicas = Replicas::new();
    let mut tally = Tally::default();
    let max = DecodeLimits::default().max_frame_bytes;
    // A valid value frame padded past the limit: refused by size, whatever it holds.
    let mut frame = encode(&targets::seeded_doc(1)).unwrap();
    frame.resize(max + 1, 0);
    let err = replicas.feed(&mut tally, "doc", &frame).unwrap_err();
    assert_eq!(
        err,
        SyncError::Decode {
            peer: r(PEER),
            source: DecodeError::FrameTooLarge { len: max + 1, max }
        }
    );
    // A standalone value is a whole state: bounded by `max_state_bytes`, refused above it
    // just as early (a bound lowered to the sync frame's keeps the test's memory small).
    let value_limits = DecodeLimits {
        max_state_bytes: max,
        ..DecodeLimits::default()
    };
    let (result, bytes) = measured(|| decode_with::<Doc>(&frame, &value_limits));
    assert_eq!(
        result,
        Err(DecodeError::FrameTooLarge { len: max + 1, max })
    );
    assert!(
        bytes < 4096,
        "an oversized frame allocated {bytes} bytes before being refused"
    );
    // Under tight limits a small frame is oversized too.
    let tight = DecodeLimits {
        max_state_bytes: 8,
        ..DecodeLimits::default()
    };
    let small = encode(&Doc::default()).unwrap();
    assert!(decode_with::<Doc>(&small, &tight).is_ok() == (small.len() <= 8));
    let frame = encode(&targets::seeded_doc(1)).unwrap();
    assert!(matches!(
        decode_with::<Doc>(&frame, &tight),
        Err(DecodeError::FrameTooLarge { max: 8, .. })
    ));
}

#[test]
fn every_other_version_is_incompatible() {
    let _serial = serial();
    let mut replicas = Replicas::new();
    let mut tally = Tally::default();
    for (name, frame) in valid_frames() {
        for version in (0..=u8::MAX).filter(|&v| v != FORMAT_VERSION) {
            let mut bytes = frame.clone();
            bytes[2] = version;
            let err = replicas.feed(&mut tally, &name, &bytes).unwrap_err();
            assert_eq!(
                err,
                SyncError::Incompatible {
                    peer: r(PEER),
                    found: version,
                    supported: FORMAT_VERSION
                },
                "{name}"
            );
            assert_eq!(
                decode::<Doc>(&bytes),
                Err(DecodeError::UnsupportedVersion {
                    found: version,
                    supported: FORMAT_VERSION
                })
            );
        }
    }
}

#[test]
fn hostile_lengths_are_refused_without_allocating_them() {
    let _serial = serial();
    let mut replicas = Replicas::new();
    let mut tally = Tally::default();
    for (name, frame) in targets::hostile_frames() {
        let result = replicas.feed(&mut tally, &name, &frame);
        if name != "value_wide_list" {
            assert!(result.is_err(), "{name} was accepted");
        }
        // Sealed: each one gets past the checksum to the check it aims at.
        assert!(
            !matches!(decode::<Doc>(&frame), Err(DecodeError::Checksum { .. })),
            "{name} stops at the checksum"
        );
    }
    // Each hostile length meets its typed error.
    let hostile: BTreeMap<String, Vec<u8>> = targets::hostile_frames().into_iter().collect();
    assert!(matches!(
        decode::<Doc>(&hostile["value_table_huge"]),
        Err(DecodeError::TooManyReplicas {
            count: u64::MAX,
            ..
        })
    ));
    assert_eq!(
        decode::<Doc>(&hostile["value_table_at_limit_truncated"]),
        Err(DecodeError::Truncated)
    );
    assert!(matches!(
        decode::<Doc>(&hostile["value_deep_nesting"]),
        Err(DecodeError::TooDeep { .. })
    ));
    let mut engine = SyncEngine::<Doc>::new(fixed_clock(r(1)));
    for (name, expected) in [
        ("delta_huge_seq_table", DecodeError::Truncated),
        ("chunk_bytes_len_huge", DecodeError::Truncated),
        (
            "chunk_total_huge",
            DecodeError::BadChunk {
                len: u64::MAX,
                max: DecodeLimits::default().max_state_bytes,
            },
        ),
        (
            "chunk_offset_huge",
            DecodeError::BadChunk {
                len: 10,
                max: DecodeLimits::default().max_state_bytes,
            },
        ),
        (
            "chunk_digest_wrong",
            DecodeError::Checksum {
                found: 0,
                computed: crc32fast::hash(&[0]),
            },
        ),
    ] {
        let err = receive_checked(&mut engine, r(PEER), &hostile[name]).unwrap_err();
        assert_eq!(
            err,
            SyncError::Decode {
                peer: r(PEER),
                source: expected
            },
            "{name}"
        );
    }
    eprintln!("hostile: {tally:?}");
}

/// Nested lists that each declare as many elements as there are bytes left: serde
/// pre-allocates every level for its declared length (capped at the bytes left), so memory
/// is the sum over levels, not one level's worth.
#[test]
fn greedy_nested_lengths_stay_within_the_bound() {
    let _serial = serial();
    let mut tally = Tally::default();
    for (depth, pad) in [(8, 4_000), (32, 4_000), (100, 4_000), (100, 60_000)] {
        let frame = targets::greedy_nested_register_frame(depth, pad);
        let (result, bytes) = measured(|| decode::<Doc>(&frame));
        eprintln!(
            "greedy nesting depth {depth}, {} bytes: {result:?}, allocated {bytes} bytes ({:.0}x)",
            frame.len(),
            bytes as f64 / frame.len() as f64
        );
        assert!(result.is_err());
        tally.allocation("greedy nesting", &frame, bytes);
    }
}

/// Measures the worst allocation, as a fraction of the bound, over the valid, hostile and
/// greedy-nesting frames, and checks the bound leaves a margin.
#[test]
fn allocation_bound_holds_with_margin() {
    let _serial = serial();
    let mut replicas = Replicas::new();
    let mut tally = Tally::default();
    let greedy = [(100, 4_000), (100, 60_000)].map(|(depth, pad)| {
        (
            "greedy".to_owned(),
            targets::greedy_nested_register_frame(depth, pad),
        )
    });
    for (name, frame) in valid_frames()
        .into_iter()
        .chain(targets::hostile_frames())
        .chain(greedy)
    {
        let _ = replicas.feed(&mut tally, &name, &frame);
    }
    eprintln!("worst allocation: {:.2} of the bound", tally.worst_ratio);
    assert!(tally.worst_ratio < 0.95, "the bound has no margin left");
}

/// Every `DecodeError` variant is reachable from bytes; this names an input for each and
/// checks the list is complete.
#[test]
fn every_reachable_variant_is_reached() {
    let _serial = serial();
    let set = targets::seeded_set(1);
    let set_frame = encode(&set).unwrap();
    let one = {
        let mut s = OrSet::<u64>::default();
        let _ = s.insert(r(1), 7);
        encode(&s).unwrap()
    };
    // `one` is header, table length 1, the 16-byte id, the body, then the checksum; the edits
    // are resealed so they get past the checksum.
    let without_table = {
        let mut f = one[..4].to_vec();
        f.push(0);
        f.extend_from_slice(&one[21..]);
        resealed(&f)
    };
    let duplicate_table = {
        let mut f = one[..4].to_vec();
        f.push(2);
        f.extend_from_slice(&one[5..21]);
        f.extend_from_slice(&one[5..21]);
        f.extend_from_slice(&one[21..]);
        resealed(&f)
    };
    let sealed = |bytes: &[u8]| {
        let mut f = bytes.to_vec();
        seal(&mut f);
        f
    };
    let tight = |f: fn(&mut DecodeLimits)| {
        let mut limits = DecodeLimits::default();
        f(&mut limits);
        limits
    };
    let hostile: BTreeMap<String, Vec<u8>> = targets::hostile_frames().into_iter().collect();
    let trailing = sealed(&[&set_frame[..set_frame.len() - 4], &[0]].concat());
    let mut corrupted = set_frame.clone();
    corrupted[10] ^= 1;
    let mut reached: BTreeMap<&'static str, DecodeError> = BTreeMap::new();
    let mut reach = |err: DecodeError| {
        let _ = reached.insert(variant(&err), err);
    };
    let oversized = vec![0u8; 9];
    reach(decode_with::<Doc>(&oversized, &tight(|l| l.max_state_bytes = 8)).unwrap_err());
    reach(decode::<Doc>(b"DC").unwrap_err());
    reach(decode::<Doc>(&sealed(b"XY\x01\x10\x00")).unwrap_err());
    reach(decode::<Doc>(&sealed(b"DC\x02\x10\x00")).unwrap_err());
    reach(decode::<OrSet<u64>>(&corrupted).unwrap_err());
    reach(decode::<Doc>(&sealed(b"DC\x01\x7f\x00")).unwrap_err());
    reach(decode::<Doc>(&hostile["hello_bad_flag"]).unwrap_err());
    reach(decode::<Doc>(&hostile["value_table_huge"]).unwrap_err());
    reach(decode::<OrSet<u64>>(&duplicate_table).unwrap_err());
    reach(decode::<OrSet<u64>>(&without_table).unwrap_err());
    reach(decode_with::<OrSet<u64>>(&set_frame, &tight(|l| l.max_elements = 1)).unwrap_err());
    reach(decode::<Doc>(&targets::deep_register_frame(200)).unwrap_err());
    reach(decode::<OrSet<u64>>(&trailing).unwrap_err());
    reach(decode::<OrSet<u64>>(&invalid_set_frame()).unwrap_err());
    let mut engine = SyncEngine::<Doc>::new(fixed_clock(r(1)));
    for name in ["chunk_total_huge", "ack_overlong_varint"] {
        match engine.receive(r(PEER), &hostile[name]).unwrap_err() {
            SyncError::Decode { source, .. } => reach(source),
            other => panic!("{name}: {other}"),
        }
    }
    eprintln!("{reached:#?}");
    let names: Vec<&str> = reached.keys().copied().collect();
    let mut all = ALL_VARIANTS.to_vec();
    all.sort_unstable();
    assert_eq!(names, all);
}

/// A set frame whose only element's dot is not covered by its context: it parses, but the
/// value is impossible ([`DecodeError::Invalid`]). Built by encoding a set with one element,
/// rewriting one byte of its body and resealing it.
fn invalid_set_frame() -> Vec<u8> {
    let mut s = OrSet::<u64>::default();
    let _ = s.insert(r(1), 7);
    let frame = encode(&s).unwrap();
    // Try every single-byte rewrite of the body, resealed, until one decodes as `Invalid`: the
    // layout of the body is the codec's business, the test only needs one such frame.
    for at in 21..frame.len() - 4 {
        for value in [0u8, 2, 3] {
            let mut f = frame.clone();
            f[at] = value;
            let f = resealed(&f);
            if matches!(decode::<OrSet<u64>>(&f), Err(DecodeError::Invalid(_))) {
                return f;
            }
        }
    }
    panic!("no single-byte rewrite of {frame:02x?} is an invalid set");
}

/// Regression: nested register lists that each declare as many elements as there are bytes
/// left made serde pre-allocate up to 1 MiB per nesting level (a 200 KB frame reserved 16 MiB
/// before any element arrived; a 1 MiB frame could reach `MAX_NESTING` MiB). Sequences now
/// reserve at most 4 KiB up front and grow with the elements that decode; what remains is the
/// innermost list's own growth, paid by its one-byte elements (see `PER_BYTE`).
#[test]
fn regression_nested_list_preallocation_within_bound() {
    let _serial = serial();
    let frame = targets::greedy_nested_register_frame(120, 200_000);
    let (result, bytes) = measured(|| decode::<Doc>(&frame));
    assert!(result.is_err());
    assert!(
        bytes <= bound(frame.len()),
        "a frame of {} bytes allocated {bytes} bytes (bound {})",
        frame.len(),
        bound(frame.len())
    );
}

/// A chunk frame of a payload of `total` bytes, `bytes` at `offset` (layout in FORMAT.md).
fn chunk_frame(digest: u32, total: u64, offset: u64, bytes: &[u8]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut f = vec![0x44, 0x43, FORMAT_VERSION, 0x04, 0x01];
    varint(&mut f, 1);
    f.extend_from_slice(&digest.to_le_bytes());
    varint(&mut f, total);
    varint(&mut f, offset);
    varint(&mut f, bytes.len() as u64);
    f.extend_from_slice(bytes);
    seal(&mut f);
    f
}

/// 64 peers each declare a 4 MiB payload and send 1 MiB of it, never finishing, while an
/// honest peer sends its chunked full state. Under `max_reassembly_bytes` of 8 MiB the engine
/// holds at most that of them (its heap measured once the honest state is in; without the cap
/// the flood would hold 64 MiB), drops the least recently advanced partial payloads
/// (counted), and the honest state arrives in the middle of the flood.
#[test]
fn unfinished_chunk_streams_of_many_peers_stay_under_the_reassembly_cap() {
    let _serial = serial();
    const CAP: usize = 8 << 20;
    const PIECE: usize = 32 << 10;
    let config = SyncConfig {
        max_reassembly_bytes: CAP,
        ..SyncConfig::default()
    };
    let mut honest_state = OrSet::<u64>::default();
    for i in 0..30_000 {
        let _ = honest_state.insert(r(7), i);
    }
    let mut honest =
        SyncEngine::restore(fixed_clock(r(7)), honest_state.clone(), 1, config.clone());
    let mut engine =
        SyncEngine::<OrSet<u64>>::restore(fixed_clock(r(1)), OrSet::default(), 0, config);
    honest.connect(r(1));
    engine.connect(r(7));
    let (mut base, mut peak, mut now) = (None, 0usize, 0u64);
    for round in 0..32u64 {
        // The honest peer's frames, then each flood peer's next piece.
        while let Some(t) = honest.poll_transmit() {
            engine.receive(r(7), &t.bytes).unwrap();
        }
        while let Some(t) = engine.poll_transmit() {
            if t.to == r(7) {
                honest.receive(r(1), &t.bytes).unwrap();
            }
        }
        if base.is_none() && engine.state() == &honest_state {
            // Measured from here: the honest state and what its arrival allocated are in.
            base = Some((round, ALLOC.allocated()));
        }
        for p in 0..64u128 {
            now += 1;
            engine.tick(now);
            let frame = chunk_frame(p as u32, 4 << 20, round * PIECE as u64, &[p as u8; PIECE]);
            assert_eq!(engine.receive(r(100 + p), &frame), Ok(false));
            if let Some((_, at)) = base {
                peak = peak.max(ALLOC.allocated().saturating_sub(at));
            }
            assert!(engine.stats().reassembly_bytes <= CAP);
        }
        honest.tick(now);
    }
    let stats = engine.stats();
    let (from_round, _) = base.expect("the honest state never arrived");
    eprintln!(
        "64 streams x 1 MiB, cap {CAP} B: heap growth after round {from_round} at most {peak} B; \
         {} partial payloads dropped, {} B held at the end",
        stats.reassemblies_dropped, stats.reassembly_bytes
    );
    assert!(from_round <= 2, "the honest state took {from_round} rounds");
    assert!(stats.reassemblies_dropped > 0);
    // The flood held about 2 MiB at the base: its growth stays within the cap.
    assert!(peak <= CAP, "heap growth {peak} B over the cap");
}
