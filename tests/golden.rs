//! Golden byte vectors: the wire format of `src/codec/FORMAT.md`, pinned.
//!
//! If one of these fails, the bytes on the wire changed: that breaks every deployed peer and
//! every stored value. Change them only with a new format version and a line in the history of
//! `src/codec/FORMAT.md`.
#![allow(clippy::unwrap_used, reason = "tests")]

use deltacrdt::{
    Doc, GCounter, Hlc, LwwRegister, OrSet, ReplicaId, SyncConfig, SyncEngine, decode, encode,
};

const T0: u64 = 1_700_000_000_000;

fn r(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn engine<T: deltacrdt::Lattice + serde::Serialize + serde::de::DeserializeOwned>(
    n: u128,
) -> SyncEngine<T> {
    SyncEngine::new(Hlc::builder(r(n)).clock(|| T0).build().unwrap())
}

/// Checks `bytes` against the golden `expected` (hex, whitespace ignored).
fn pinned(name: &str, bytes: &[u8], expected: &str) {
    assert_eq!(
        hex(bytes),
        hex(&unhex(expected)),
        "{name} changed on the wire"
    );
}

/// The frames of a two-replica session syncing one counter increment: hello, hello reply,
/// delta, ack.
#[test]
fn session_frames() {
    let mut a = engine::<GCounter>(1);
    let mut b = engine::<GCounter>(2);
    a.connect(r(2));
    let hello = a.poll_transmit().unwrap().bytes;
    pinned("hello", &hello, HELLO);
    b.receive(r(1), &hello).unwrap();
    let reply = b.poll_transmit().unwrap().bytes;
    pinned("hello reply", &reply, HELLO_REPLY);
    a.receive(r(2), &reply).unwrap();
    a.update(|c, hlc| Ok::<_, deltacrdt::Error>(c.increment(hlc.replica(), 300)))
        .unwrap();
    let delta = a.poll_transmit().unwrap().bytes;
    pinned("delta", &delta, DELTA);
    assert!(b.receive(r(1), &delta).unwrap());
    let ack = b.poll_transmit().unwrap().bytes;
    pinned("ack", &ack, ACK);
    assert_eq!(b.state().value(), 300);
}

/// A payload larger than the frame cap travels as chunks, each naming the payload's CRC-32.
#[test]
fn chunk_frames() {
    let config = SyncConfig {
        max_frame_bytes: 80,
        ..SyncConfig::default()
    };
    let mut a: SyncEngine<GCounter> =
        SyncEngine::with_config(Hlc::builder(r(1)).clock(|| T0).build().unwrap(), config);
    let mut b = engine::<GCounter>(2);
    a.connect(r(2));
    b.receive(r(1), &a.poll_transmit().unwrap().bytes).unwrap();
    a.receive(r(2), &b.poll_transmit().unwrap().bytes).unwrap();
    for n in 3..8 {
        a.update(|c, _| Ok::<_, deltacrdt::Error>(c.increment(r(n), 1)))
            .unwrap();
    }
    let frames: Vec<Vec<u8>> = std::iter::from_fn(|| a.poll_transmit().map(|t| t.bytes)).collect();
    assert_eq!(frames.len(), 4);
    assert!(frames.iter().all(|f| f.len() <= 80));
    pinned("first chunk", &frames[0], CHUNK);
    for f in &frames {
        b.receive(r(1), f).unwrap();
    }
    assert_eq!(b.state().value(), 5);
}

#[test]
fn value_frames() {
    let mut set = OrSet::default();
    let _ = set.insert(r(1), 42u64);
    pinned("or-set value", &encode(&set).unwrap(), OR_SET);
    assert_eq!(decode::<OrSet<u64>>(&unhex(OR_SET)).unwrap(), set);

    let mut clock = Hlc::builder(r(1)).clock(|| T0).build().unwrap();
    let mut reg = LwwRegister::default();
    let _ = reg.write("hi".to_string(), clock.now().unwrap());
    pinned("lww value", &encode(&reg).unwrap(), LWW);
    assert_eq!(decode::<LwwRegister<String>>(&unhex(LWW)).unwrap(), reg);

    let mut doc = Doc::default();
    let _ = doc.increment(r(1), &["likes"], 3).unwrap();
    pinned("doc value", &encode(&doc).unwrap(), DOC);
    assert_eq!(decode::<Doc>(&unhex(DOC)).unwrap(), doc);
}

const HELLO: &str = "444301010000000000000000000000000000000100001c1f7e02";
const HELLO_REPLY: &str = "4443010100000000000000000000000000000002010004902319";
const DELTA: &str = "44430102010001000000000000000000000000000000010100ac026ff16cfe";
const CHUNK: &str =
    "4443010400055f5f34c95c00180500000000000000000000000000000003000000000000008a212c39";
const ACK: &str = "4443010501a35042e9";
const OR_SET: &str = "44430110010000000000000000000000000000000101000100012a000100dac21937";
const LWW: &str = "44430110010000000000000000000000000000000101808080c0d6fcf3c50100026869ca882b2c";
const DOC: &str =
    "4443011001000000000000000000000000000000010100010001056c696b6573000001000106298087bf";
