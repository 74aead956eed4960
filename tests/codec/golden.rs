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
    Doc, GCounter, Hlc, LwwMap, LwwRegister, OrSet, ReplicaId, SyncConfig, SyncEngine, decode,
    encode,
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

/// An engine whose session nonces come from a fixed seed, so its hellos are the same bytes
/// on every run.
fn engine<T: deltacrdt::Reconcile + serde::Serialize + serde::de::DeserializeOwned>(
    n: u128,
) -> SyncEngine<T> {
    SyncEngine::with_config(Hlc::builder(r(n)).clock(|| T0).build().unwrap(), seeded(n))
}

fn seeded(n: u128) -> SyncConfig {
    SyncConfig {
        nonce_seed: Some([n as u8; 16]),
        ..SyncConfig::default()
    }
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
        ..seeded(1)
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

    // One key written, then the delta of its remove (the key and the remove's stamp).
    let mut map = LwwMap::default();
    let _ = map.insert("theme".to_string(), 7u64, clock.now().unwrap());
    pinned("lww-map value", &encode(&map).unwrap(), &vector("lww_map"));
    assert_eq!(
        decode::<LwwMap<String, u64>>(&unhex(&vector("lww_map"))).unwrap(),
        map
    );
    let remove = map.remove(&"theme".to_string(), clock.now().unwrap());
    pinned(
        "lww-map remove",
        &encode(&*remove).unwrap(),
        &vector("lww_map_remove"),
    );
    assert_eq!(
        decode::<LwwMap<String, u64>>(&unhex(&vector("lww_map_remove"))).unwrap(),
        *remove
    );

    let mut doc = Doc::default();
    let _ = doc.increment(r(1), &["likes"], 3).unwrap();
    pinned("doc value", &encode(&doc).unwrap(), &vector("doc"));
    assert_eq!(decode::<Doc>(&unhex(&vector("doc"))).unwrap(), doc);
}

/// The same session over a `Doc` (what the wasm build runs): its hellos announce the
/// document's (empty) causal context for reconciliation; the delta carries the increment.
#[test]
fn doc_session_frames() {
    let mut a = engine::<Doc>(1);
    let mut b = engine::<Doc>(2);
    a.connect(r(2));
    let hello = a.poll_transmit().unwrap().bytes;
    pinned("doc hello", &hello, &vector("doc_hello"));
    b.receive(r(1), &hello).unwrap();
    let reply = b.poll_transmit().unwrap().bytes;
    pinned("doc hello reply", &reply, &vector("doc_hello_reply"));
    a.receive(r(2), &reply).unwrap();
    a.update(|d, hlc| d.increment(hlc.replica(), &["likes"], 3))
        .unwrap();
    let delta = a.poll_transmit().unwrap().bytes;
    pinned("doc delta", &delta, &vector("doc_delta"));
    assert!(b.receive(r(1), &delta).unwrap());
    pinned("doc ack", &b.poll_transmit().unwrap().bytes, &vector("ack"));
    pinned("doc value", &encode(b.state()).unwrap(), &vector("doc"));
}

/// A peer of minor version 0 (whose hello carries no nonce and no context) still syncs with
/// this build: it gets the delta-intervals and full states it always got.
#[test]
fn a_minor_0_peer_interoperates() {
    let mut b = engine::<GCounter>(2);
    b.receive(r(1), &unhex(&vector("hello_minor0"))).unwrap();
    let reply = b.poll_transmit().unwrap().bytes;
    pinned("hello reply to minor 0", &reply, &vector("hello_reply"));
    b.update(|c, hlc| Ok::<_, deltacrdt::Error>(c.increment(hlc.replica(), 2)))
        .unwrap();
    let frame = b.poll_transmit().unwrap().bytes;
    let mut a = engine::<GCounter>(1);
    a.connect(r(2));
    let _ = a.poll_transmit();
    assert!(a.receive(r(2), &frame).unwrap());
    assert_eq!(a.state().value(), 2);
    assert_eq!(b.stats().rounds.started, 0);
}

/// History-free reconciliation: two replicas restored from one snapshot, without shared
/// acknowledgements, where one removed an element the other still holds. The frames: the
/// hellos with their contexts, the coded symbols, the verdict naming the removed dot, and the
/// delta that carries the removal instead of a full state.
#[test]
fn reconciliation_frames() {
    let mut snapshot = OrSet::default();
    for n in 1..=3u64 {
        let _ = snapshot.insert(r(9), n);
    }
    let restore = |n: u128, state: &OrSet<u64>| {
        let hlc = Hlc::builder(r(n)).clock(|| T0).build().unwrap();
        SyncEngine::restore(hlc, state.clone(), 1, seeded(n))
    };
    let mut a = restore(1, &snapshot);
    let mut b = restore(2, &snapshot);
    b.update(|s, _| Ok::<_, deltacrdt::Error>(s.remove(&2)))
        .unwrap();
    a.connect(r(2));
    b.connect(r(1));
    let mut frames = Vec::new();
    for _ in 0..8 {
        let mut moved = false;
        while let Some(t) = a.poll_transmit() {
            frames.push(("a", t.bytes.clone()));
            b.receive(r(1), &t.bytes).unwrap();
            moved = true;
        }
        while let Some(t) = b.poll_transmit() {
            frames.push(("b", t.bytes.clone()));
            a.receive(r(2), &t.bytes).unwrap();
            moved = true;
        }
        if !moved {
            break;
        }
    }
    assert_eq!(a.state(), b.state());
    assert!(!a.state().contains(&2));
    assert_eq!(
        a.stats().full_states.total() + b.stats().full_states.total(),
        0
    );
    let kind = |f: &[u8]| f[3];
    let find = |who: &str, k: u8| {
        frames
            .iter()
            .find(|(w, f)| *w == who && kind(f) == k)
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| panic!("no frame of kind {k} from {who}"))
    };
    pinned("set hello", &find("a", 0x01), &vector("set_hello"));
    pinned("sketch", &find("a", 0x07), &vector("sketch"));
    pinned("verdict", &find("b", 0x08), &vector("verdict"));
    pinned(
        "reconciled delta",
        &find("b", 0x02),
        &vector("reconciled_delta"),
    );
}

/// Relay-aware forwarding (minor 2): in a triangle, `c` tells `b` it holds `a`'s state at
/// `a`'s number 2; `b`, holding back the delta it got from `a`, skips it for `c` instead of
/// relaying it once the hold ends.
#[cfg(feature = "reconcile")]
#[test]
fn relay_frames() {
    let mut e: Vec<SyncEngine<GCounter>> = (1..=3).map(engine).collect();
    // Everyone meets everyone.
    let deliver = |e: &mut Vec<SyncEngine<GCounter>>, frames: &mut Vec<(usize, usize, Vec<u8>)>| {
        let mut moved = true;
        while moved {
            moved = false;
            for from in 0..3 {
                while let Some(t) = e[from].poll_transmit() {
                    let to = (0..3).find(|&i| e[i].id() == t.to).unwrap();
                    frames.push((from, to, t.bytes.clone()));
                    let sender = e[from].id();
                    e[to].receive(sender, &t.bytes).unwrap();
                    moved = true;
                }
            }
        }
    };
    for i in 0..3 {
        for j in 0..3 {
            if i != j {
                let id = e[j].id();
                e[i].connect(id);
            }
        }
    }
    let mut frames = Vec::new();
    deliver(&mut e, &mut frames);
    // A first delta of `a`'s is relayed: neither `b` nor `c` knows yet that the other syncs
    // with `a`. Then each says what it holds of `a`.
    e[0].update(|c, hlc| Ok::<_, deltacrdt::Error>(c.increment(hlc.replica(), 3)))
        .unwrap();
    deliver(&mut e, &mut frames);
    frames.clear();
    let skipped =
        |e: &[SyncEngine<GCounter>]| -> u64 { e.iter().map(|x| x.stats().relays_skipped).sum() };
    let before = skipped(&e);
    e[0].update(|c, hlc| Ok::<_, deltacrdt::Error>(c.increment(hlc.replica(), 4)))
        .unwrap();
    deliver(&mut e, &mut frames);
    // Past the hold, `b` has nothing to relay to `c`: `c` holds it.
    for engine in &mut e {
        engine.tick(1_000);
    }
    deliver(&mut e, &mut frames);
    assert!(e.iter().all(|x| x.state().value() == 7));
    // `b` skipped it for `c`, and `c` for `b`.
    assert_eq!(skipped(&e) - before, 2);
    let holds: Vec<_> = frames.iter().filter(|(_, _, f)| f[3] == 0x0a).collect();
    let (_, _, c_to_b) = holds
        .iter()
        .find(|(from, to, _)| (*from, *to) == (2, 1))
        .expect("c tells b what it holds");
    pinned("holds", c_to_b, &vector("holds"));
    // Only `a` sent the delta: one to each of the others, no relay.
    let deltas = frames.iter().filter(|(_, _, f)| f[3] == 0x02).count();
    assert_eq!(deltas, 2);
}

/// Divergence repair: a delta lost while its acknowledgement was forged leaves a quiet session
/// with different states; the fingerprints differ, a repair round runs, and the lost insert
/// arrives. The frames: the digest and the repair round's summary.
#[test]
fn repair_frames() {
    let mut a = engine::<OrSet<u64>>(1);
    let mut b = engine::<OrSet<u64>>(2);
    a.connect(r(2));
    b.connect(r(1));
    let pump =
        |a: &mut SyncEngine<OrSet<u64>>, b: &mut SyncEngine<OrSet<u64>>, log: &mut Vec<Vec<u8>>| {
            for _ in 0..8 {
                let mut moved = false;
                while let Some(t) = a.poll_transmit() {
                    log.push(t.bytes.clone());
                    b.receive(r(1), &t.bytes).unwrap();
                    moved = true;
                }
                while let Some(t) = b.poll_transmit() {
                    log.push(t.bytes.clone());
                    a.receive(r(2), &t.bytes).unwrap();
                    moved = true;
                }
                if !moved {
                    break;
                }
            }
        };
    let mut log = Vec::new();
    a.update(|s, _| Ok::<_, deltacrdt::Error>(s.insert(r(1), 7)))
        .unwrap();
    pump(&mut a, &mut b, &mut log);
    // The next insert is lost on the way, and an acknowledgement of it is forged.
    a.update(|s, _| Ok::<_, deltacrdt::Error>(s.insert(r(1), 8)))
        .unwrap();
    while a.poll_transmit().is_some() {}
    let forged = {
        let mut f = unhex("44430105");
        f.push(2);
        let crc = crc32fast::hash(&f);
        f.extend_from_slice(&crc.to_le_bytes());
        f
    };
    a.receive(r(2), &forged).unwrap();
    assert_eq!(a.stats().peers[0].lag, 0);
    log.clear();
    let later = a.config().repair_after_ms;
    a.tick(later);
    b.tick(later);
    pump(&mut a, &mut b, &mut log);
    assert!(
        b.state().contains(&8),
        "the repair round brought the lost insert"
    );
    assert_eq!(a.state(), b.state());
    assert!(a.stats().rounds.repairs + b.stats().rounds.repairs >= 1);
    let of = |k: u8| log.iter().find(|f| f[3] == k).cloned().unwrap();
    pinned("digest", &of(0x09), &vector("digest"));
    pinned("summary", &of(0x06), &vector("summary"));
}

/// A peer that cannot announce (its reconciliation is off) refuses the round a hello opens:
/// the verdict *refused*, after which it is sent everything.
#[test]
fn refused_verdict() {
    let mut a = engine::<OrSet<u64>>(1);
    let hlc = Hlc::builder(r(2)).clock(|| T0).build().unwrap();
    let mut b = SyncEngine::<OrSet<u64>>::with_config(
        hlc,
        SyncConfig {
            max_rounds: 0,
            ..seeded(2)
        },
    );
    a.update(|s, _| Ok::<_, deltacrdt::Error>(s.insert(r(1), 7)))
        .unwrap();
    a.connect(r(2));
    b.connect(r(1));
    let mut refused = None;
    for _ in 0..4 {
        while let Some(t) = a.poll_transmit() {
            b.receive(r(1), &t.bytes).unwrap();
        }
        while let Some(t) = b.poll_transmit() {
            if t.bytes[3] == 0x08 {
                refused = Some(t.bytes.clone());
            }
            a.receive(r(2), &t.bytes).unwrap();
        }
    }
    assert_eq!(a.state(), b.state());
    pinned(
        "refused verdict",
        &refused.expect("no verdict"),
        &vector("verdict_refused"),
    );
}

/// Clock skew (minor 3): replica 1's clock runs a day ahead; replica 2 holds back its register
/// write and tells it so, with its own clock and the held write's stamp.
#[cfg(feature = "reconcile")]
#[test]
fn skew_frame() {
    const DAY: u64 = 86_400_000;
    let ahead = SyncEngine::<deltacrdt::Doc>::with_config(
        Hlc::builder(r(1)).clock(|| T0 + DAY).build().unwrap(),
        seeded(1),
    );
    let mut e = [ahead, engine::<deltacrdt::Doc>(2)];
    e[0].connect(r(2));
    e[1].connect(r(1));
    e[0].update(|doc, hlc| {
        let stamp = hlc.now()?;
        doc.set(stamp, &["title"], "hi".into())
            .map_err(deltacrdt::Error::from)
    })
    .unwrap();
    let mut skew = None;
    for _ in 0..4 {
        for from in 0..2 {
            while let Some(t) = e[from].poll_transmit() {
                if t.bytes[3] == 0x0b {
                    skew = Some(t.bytes.clone());
                }
                let sender = e[from].id();
                let _ = e[1 - from].receive(sender, &t.bytes);
            }
        }
    }
    let skew = skew.expect("replica 2 tells replica 1");
    pinned("skew", &skew, &vector("skew"));
    assert_eq!(e[1].stats().skew.held_writes, 1);
    assert!(e[0].hlc().fenced().is_some());
}
