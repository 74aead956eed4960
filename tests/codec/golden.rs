//! Golden byte vectors: the wire format of `src/codec/FORMAT.md`, pinned.
//!
//! If one of these fails, the bytes on the wire changed: that breaks every deployed peer and
//! every stored value. Change them only with a new format version and a line in the history of
//! `src/codec/FORMAT.md`.
//!
//! The vectors live in `tests/golden/vectors.json`, the single source that the wasm build's
//! Node test (`bindings/wasm/test/golden.test.mjs`) checks too.
#![allow(clippy::unwrap_used, reason = "tests")]

use deltacrdt::{
    Doc, GCounter, Hlc, LwwRegister, OrSet, ReplicaId, SyncConfig, SyncEngine, decode, encode,
};

const T0: u64 = 1_700_000_000_000;

/// The golden vector `name` (hex) from `tests/golden/vectors.json`.
fn vector(name: &str) -> String {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../golden/vectors.json")).unwrap();
    assert_eq!(
        all.get("t0_ms").and_then(serde_json::Value::as_u64),
        Some(T0),
        "vectors.json is for another clock"
    );
    all.get(name)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("no vector {name}"))
        .to_owned()
}

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

fn engine<T: deltacrdt::Reconcile + serde::Serialize + serde::de::DeserializeOwned>(
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
    pinned("hello", &hello, &vector("hello"));
    b.receive(r(1), &hello).unwrap();
    let reply = b.poll_transmit().unwrap().bytes;
    pinned("hello reply", &reply, &vector("hello_reply"));
    a.receive(r(2), &reply).unwrap();
    a.update(|c, hlc| Ok::<_, deltacrdt::Error>(c.increment(hlc.replica(), 300)))
        .unwrap();
    let delta = a.poll_transmit().unwrap().bytes;
    pinned("delta", &delta, &vector("delta"));
    assert!(b.receive(r(1), &delta).unwrap());
    let ack = b.poll_transmit().unwrap().bytes;
    pinned("ack", &ack, &vector("ack"));
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
    pinned("first chunk", &frames[0], &vector("chunk"));
    for f in &frames {
        b.receive(r(1), f).unwrap();
    }
    assert_eq!(b.state().value(), 5);
}

#[test]
fn value_frames() {
    let mut set = OrSet::default();
    let _ = set.insert(r(1), 42u64);
    pinned("or-set value", &encode(&set).unwrap(), &vector("or_set"));
    assert_eq!(
        decode::<OrSet<u64>>(&unhex(&vector("or_set"))).unwrap(),
        set
    );

    let mut clock = Hlc::builder(r(1)).clock(|| T0).build().unwrap();
    let mut reg = LwwRegister::default();
    let _ = reg.write("hi".to_string(), clock.now().unwrap());
    pinned("lww value", &encode(&reg).unwrap(), &vector("lww"));
    assert_eq!(
        decode::<LwwRegister<String>>(&unhex(&vector("lww"))).unwrap(),
        reg
    );

    let mut doc = Doc::default();
    let _ = doc.increment(r(1), &["likes"], 3).unwrap();
    pinned("doc value", &encode(&doc).unwrap(), &vector("doc"));
    assert_eq!(decode::<Doc>(&unhex(&vector("doc"))).unwrap(), doc);
}

/// The same session over a `Doc` (what the wasm build runs): the hello, reply and ack do not
/// depend on the replicated type; the delta carries the document's increment.
#[test]
fn doc_session_frames() {
    let mut a = engine::<Doc>(1);
    let mut b = engine::<Doc>(2);
    a.connect(r(2));
    let hello = a.poll_transmit().unwrap().bytes;
    pinned("doc hello", &hello, &vector("hello"));
    b.receive(r(1), &hello).unwrap();
    let reply = b.poll_transmit().unwrap().bytes;
    pinned("doc hello reply", &reply, &vector("hello_reply"));
    a.receive(r(2), &reply).unwrap();
    a.update(|d, hlc| d.increment(hlc.replica(), &["likes"], 3))
        .unwrap();
    let delta = a.poll_transmit().unwrap().bytes;
    pinned("doc delta", &delta, &vector("doc_delta"));
    assert!(b.receive(r(1), &delta).unwrap());
    pinned("doc ack", &b.poll_transmit().unwrap().bytes, &vector("ack"));
    pinned("doc value", &encode(b.state()).unwrap(), &vector("doc"));
}
