//! The bodies of the fuzz targets, shared by the cargo-fuzz binaries in `fuzz/fuzz_targets/`
//! and by the stable replay test `tests/codec/fuzz_corpus.rs`, which includes this file with
//! `#[path]` so the logic exists once. Also the fixtures both need: a seeded document, a seeded
//! replica, and valid frames of every kind.
//!
//! Every target takes raw bytes, so a corpus file means the same thing to libFuzzer and to the
//! replay test (`sync_actions` reads its actions from the bytes with `arbitrary`, exactly as
//! `fuzz_target!(|actions: T| …)` would; `reconcile_rounds` reads its scenario byte by byte).
//!
//! Every frame ends with the CRC-32 of the bytes before it, so a mutated frame almost always
//! stops at `DecodeError::Checksum`. The two byte targets therefore run each input as it is
//! and again with its checksum fixed up ([`resealed`]; rule D5), and every hand-built or edited
//! frame here is [`seal`]ed so it reaches the check it is aimed at.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test support: a panic is the fuzzers' failure signal"
)]

use std::sync::OnceLock;

mod actions;
mod frames;
mod rounds;

pub use actions::{
    Action, Op, Scenario, Sim, random_scenario, run_scenario, scenario_bytes, sync_actions,
};
use deltacrdt::{
    Doc, Hlc, OrSet, ReplicaId, Scalar, SyncConfig, SyncEngine, Value, decode, encode,
};
pub use frames::{
    deep_register_frame, greedy_nested_register_frame, header, hostile_frames, valid_frames,
    varint, wide_register_frame,
};
pub use rounds::{random_rounds_input, reconcile_rounds};

/// What the fixtures ask of a replicated type: a `SyncEngine` runs it, and a check can compare,
/// print and encode it.
pub trait Fixture:
    Clone + std::fmt::Debug + deltacrdt::Reconcile + serde::Serialize + serde::de::DeserializeOwned
{
}

impl<T> Fixture for T where
    T: Clone
        + std::fmt::Debug
        + deltacrdt::Reconcile
        + serde::Serialize
        + serde::de::DeserializeOwned
{
}

/// The physical time every fixture's clock starts at (ms since the Unix epoch).
pub const EPOCH_MS: u64 = 1_700_000_000_000;

/// Replica `n` of the fixtures.
pub fn r(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

/// The replica the hostile frames in `apply_remote` claim to come from.
pub const PEER: u128 = 2;

/// A clock fixed at [`EPOCH_MS`] for `replica`.
pub fn fixed_clock(replica: ReplicaId) -> Hlc {
    Hlc::builder(replica).clock(|| EPOCH_MS).build().unwrap()
}

/// SplitMix64: the fixtures' only randomness, seeded.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A document built from `seed` that uses every field kind (counter, register with nested list
/// and object values, set with every scalar kind, flag, nested maps), with writes from three
/// replicas, removals and a deletion, so its causal context has gaps and several entries.
pub fn seeded_doc(seed: u64) -> Doc {
    let mut rng = Rng::new(seed);
    let mut clocks: Vec<Hlc> = (1..=3).map(|i| fixed_clock(r(i))).collect();
    let mut doc = Doc::default();
    let names = ["a", "b", "c", "d"];
    for step in 0..40u64 {
        let who = rng.below(3) as usize;
        let id = r(who as u128 + 1);
        let name = names[rng.below(4) as usize];
        let delta = match (step + rng.below(7)) % 7 {
            0 => doc.increment(id, &["count", name], rng.below(20) as i64 - 10),
            1 => {
                let stamp = clocks[who].now().unwrap();
                let value = Value::List(vec![
                    Value::Null,
                    Value::Scalar(Scalar::Int(rng.next_u64() as i64)),
                    Value::Object(
                        [("k".to_owned(), Value::Scalar(Scalar::Str(name.to_owned())))].into(),
                    ),
                ]);
                doc.set(stamp, &["reg", name], value)
            }
            2 => {
                let element = match rng.below(4) {
                    0 => Scalar::Bool(rng.below(2) == 0),
                    1 => Scalar::Int(rng.below(5) as i64),
                    2 => Scalar::Float(rng.below(5) as f64 / 2.0),
                    _ => Scalar::Str(name.to_owned()),
                };
                doc.insert(id, &["set"], element)
            }
            3 => doc.remove_element(id, &["set"], &Scalar::Int(rng.below(5) as i64)),
            4 => doc.set_flag(id, &["flag", name], rng.below(3) != 0),
            5 => doc.increment(id, &["deep", "er", "still", name], 1),
            _ => doc.delete(id, &["count", names[rng.below(4) as usize]]),
        };
        let _ = delta.unwrap();
    }
    // One field of each kind that certainly survives.
    let stamp = clocks[0].now().unwrap();
    let _ = doc.set(stamp, &["title"], "hello".into()).unwrap();
    let _ = doc.increment(r(1), &["likes"], 3).unwrap();
    let _ = doc.insert(r(2), &["tags"], "x".into()).unwrap();
    let _ = doc.set_flag(r(3), &["done"], true).unwrap();
    let _ = doc.increment(r(1), &["m", "n", "o"], 1).unwrap();
    doc
}

/// A set of `u64` built from `seed`, with removals.
pub fn seeded_set(seed: u64) -> OrSet<u64> {
    let mut rng = Rng::new(seed);
    let mut set = OrSet::default();
    for _ in 0..30 {
        let id = r(u128::from(rng.below(3) as u8) + 1);
        let element = rng.below(12);
        let _ = if rng.below(4) == 0 {
            set.remove(&element)
        } else {
            set.insert(id, element)
        };
    }
    set
}

/// The replica `apply_remote` attacks: replica 1 holding [`seeded_doc`]`(1)` at sequence 5,
/// connected to [`PEER`]. The document is built once per process and cloned.
pub fn seeded_engine() -> SyncEngine<Doc> {
    static DOC: OnceLock<Doc> = OnceLock::new();
    let doc = DOC.get_or_init(|| seeded_doc(1)).clone();
    let mut engine = SyncEngine::restore(fixed_clock(r(1)), doc, 5, SyncConfig::default());
    engine.connect(r(PEER));
    engine
}

/// What must not change when a frame is refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot<T> {
    /// The replicated state.
    pub state: T,
    /// The sequence number.
    pub seq: u64,
    /// The clock's last timestamp.
    pub last: deltacrdt::Timestamp,
}

/// The durable parts of `engine`.
pub fn snapshot<
    T: Clone + deltacrdt::Reconcile + serde::Serialize + serde::de::DeserializeOwned,
>(
    engine: &SyncEngine<T>,
) -> Snapshot<T> {
    Snapshot {
        state: engine.state().clone(),
        seq: engine.seq(),
        last: engine.hlc().last(),
    }
}

/// Feeds `frame` to `engine` as if from `from` and checks the receive contract: on an error the
/// state, sequence number and clock are unchanged; on success, `Ok(changed)` says truthfully
/// whether the state changed. Returns the result.
pub fn receive_checked<T>(
    engine: &mut SyncEngine<T>,
    from: ReplicaId,
    frame: &[u8],
) -> Result<bool, deltacrdt::SyncError>
where
    T: Fixture,
{
    let before = snapshot(engine);
    let result = engine.receive(from, frame);
    let after = snapshot(engine);
    match &result {
        Err(err) => assert_eq!(before, after, "refused frame ({err}) changed the replica"),
        Ok(changed) => {
            assert_eq!(
                *changed,
                before.state != after.state,
                "receive misreported a change"
            );
            assert!(after.seq >= before.seq, "sequence number went backwards");
            assert!(after.last >= before.last, "clock went backwards");
        }
    }
    result
}

// ----- checksums -----

/// Closes a hand-built `frame` with the CRC-32 of its bytes, as the encoder does.
pub fn seal(frame: &mut Vec<u8>) {
    let crc = crc32fast::hash(frame);
    frame.extend_from_slice(&crc.to_le_bytes());
}

/// `frame` with its closing CRC-32 (its last 4 bytes) recomputed over the bytes before it, so
/// an edited frame gets past the checksum; shorter inputs are returned as they are.
pub fn resealed(frame: &[u8]) -> Vec<u8> {
    let Some(covered) = frame.len().checked_sub(4).map(|end| &frame[..end]) else {
        return frame.to_vec();
    };
    let mut out = covered.to_vec();
    seal(&mut out);
    out
}

/// Runs `target` on `data`, then on `data` [`resealed`] if that differs: without the fix-up a
/// fuzzer's mutations would almost never get past the checksum (rule D5). A resealed mutation
/// may be a valid frame, so targets may only assert what holds for every input.
fn as_is_and_resealed(data: &[u8], target: impl Fn(&[u8])) {
    target(data);
    let fixed = resealed(data);
    if fixed != data {
        target(&fixed);
    }
}

// ----- target: decode_frame -----

/// Arbitrary bytes, as they are and resealed, as a standalone value of two types and as a sync
/// frame to fresh engines: never a panic, and whatever decodes round-trips.
pub fn decode_frame(data: &[u8]) {
    as_is_and_resealed(data, decode_frame_once);
}

fn decode_frame_once(data: &[u8]) {
    if let Ok(doc) = decode::<Doc>(data) {
        let again = decode::<Doc>(&encode(&doc).unwrap()).unwrap();
        assert_eq!(again, doc, "a decoded document does not round-trip");
        assert!(doc.validate().is_ok(), "a decoded document is invalid");
    }
    if let Ok(set) = decode::<OrSet<u64>>(data) {
        let again = decode::<OrSet<u64>>(&encode(&set).unwrap()).unwrap();
        assert_eq!(again, set, "a decoded set does not round-trip");
    }
    let mut doc_engine = SyncEngine::<Doc>::new(fixed_clock(r(1)));
    let _ = receive_checked(&mut doc_engine, r(PEER), data);
    let mut set_engine = SyncEngine::<OrSet<u64>>::new(fixed_clock(r(1)));
    let _ = receive_checked(&mut set_engine, r(PEER), data);
}

// ----- target: apply_remote -----

/// Arbitrary bytes, as they are and resealed, as a frame from [`PEER`] to a fresh
/// [`seeded_engine`]: a refused frame leaves the replica unchanged, an accepted one leaves it
/// valid, and the engine keeps working.
pub fn apply_remote(data: &[u8]) {
    as_is_and_resealed(data, apply_remote_once);
}

fn apply_remote_once(data: &[u8]) {
    let mut engine = seeded_engine();
    let _ = receive_checked(&mut engine, r(PEER), data);
    assert!(
        engine.state().validate().is_ok(),
        "an accepted frame broke the state"
    );
    // Whatever happened, the engine still answers and can still be mutated.
    while engine.poll_transmit().is_some() {}
    engine
        .update(|doc, hlc| doc.increment(hlc.replica(), &["after"], 1))
        .unwrap();
    while engine.poll_transmit().is_some() {}
}
