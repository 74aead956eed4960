//! Durable replicas: recovery, durability modes, resumption of delta sync, compaction, and
//! typed errors for damaged, foreign and failing stores (memory store; the redb file is
//! covered in `tests/durable/store_corruption.rs` and `tests/crash.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::panic,
    reason = "tests"
)]

use deltacrdt::durable::{
    Durability, DurableConfig, DurableReplica, MemoryStore, Records, STORE_FORMAT_VERSION,
    StoreError,
};
use deltacrdt::{Doc, Error, Hlc, ReplicaId, Scalar, SyncEngine};

const NOW: u64 = 1_700_000_000_000;

fn config(durability: Durability) -> DurableConfig {
    DurableConfig {
        durability,
        replica: Some(ReplicaId::from_u128(1)),
        ..DurableConfig::default()
    }
}

fn open(store: &MemoryStore, durability: Durability) -> DurableReplica<Doc, MemoryStore> {
    DurableReplica::open_with(store.clone(), config(durability), |b| b.clock(|| NOW))
        .expect("opens")
}

fn tag(r: &mut DurableReplica<Doc, MemoryStore>, name: &str) -> deltacrdt::durable::Commit {
    r.update(|doc, hlc| doc.insert(hlc.replica(), &["tags"], name.into()))
        .expect("update")
}

fn has(doc: &Doc, name: &str) -> bool {
    doc.set_at(&["tags"])
        .is_some_and(|s| s.contains(&Scalar::from(name)))
}

fn peer(n: u128) -> SyncEngine<Doc> {
    SyncEngine::new(
        Hlc::builder(ReplicaId::from_u128(n))
            .clock(|| NOW)
            .build()
            .expect("clock"),
    )
}

/// Carries frames both ways until quiet.
fn pump(a: &mut DurableReplica<Doc, MemoryStore>, b: &mut SyncEngine<Doc>) {
    for _ in 0..100 {
        let mut quiet = true;
        while let Some(t) = a.poll_transmit().expect("flush") {
            b.receive(a.id(), &t.bytes).expect("b receives");
            quiet = false;
        }
        while let Some(t) = b.poll_transmit() {
            a.receive(b.id(), &t.bytes).expect("a receives");
            quiet = false;
        }
        if quiet {
            return;
        }
    }
    panic!("no quiescence");
}

#[test]
fn a_reopened_replica_has_the_same_id_sequence_clock_and_state() {
    let store = MemoryStore::new();
    let mut r = open(&store, Durability::PerOperation);
    for i in 0..20 {
        let c = r
            .update(|doc, hlc| {
                Ok::<_, Error>(doc.set(hlc.now()?, &[&format!("r{i}")], "v".into())?)
            })
            .expect("set");
        assert!(c.durable);
        assert_eq!(c.seq, i + 1);
    }
    let (id, seq, last, state) = (r.id(), r.seq(), r.engine().hlc().last(), r.state().clone());
    drop(r);
    let mut r = open(&store, Durability::PerOperation);
    assert_eq!((r.id(), r.seq(), r.state()), (id, seq, &state));
    assert_eq!(r.engine().hlc().last(), last);
    // The clock resumes after the last timestamp even though the physical clock is frozen.
    let _ = r
        .update(|doc, hlc| Ok::<_, Error>(doc.set(hlc.now()?, &["title"], "x".into())?))
        .expect("set");
    assert!(r.engine().hlc().last() > last);
    assert!(r.durable_hlc() > last);
}

#[test]
fn group_commit_is_pending_until_a_flush_and_lost_without_one() {
    let store = MemoryStore::new();
    let mut r = open(&store, Durability::Group);
    let commits = store.commits();
    let a = tag(&mut r, "a");
    let b = tag(&mut r, "b");
    assert!(!a.durable && !b.durable);
    assert_eq!(store.commits(), commits); // nothing written yet
    assert_eq!(r.flush().expect("flush"), b.seq);
    assert_eq!(store.commits(), commits + 1); // both in one transaction
    let _ = tag(&mut r, "lost");
    drop(r);
    let r = open(&store, Durability::Group);
    assert!(has(r.state(), "a") && has(r.state(), "b") && !has(r.state(), "lost"));
    assert_eq!(r.seq(), b.seq);
}

#[test]
fn no_frame_leaves_before_what_it_covers_is_durable() {
    let store = MemoryStore::new();
    let mut r = open(&store, Durability::Group);
    let mut p = peer(2);
    r.connect(p.id());
    p.connect(r.id());
    pump(&mut r, &mut p);
    let _ = tag(&mut r, "local");
    p.update(|doc, hlc| doc.insert(hlc.replica(), &["tags"], "remote".into()))
        .expect("peer update");
    while let Some(t) = p.poll_transmit() {
        r.receive(p.id(), &t.bytes).expect("receive");
    }
    assert!(!r.is_durable());
    // A failing flush: nothing is sent.
    store.fail_next_commit(StoreError::DiskFull {
        detail: "test".into(),
    });
    assert!(matches!(
        r.poll_transmit(),
        Err(StoreError::DiskFull { .. })
    ));
    // The next poll flushes and sends.
    pump(&mut r, &mut p);
    assert!(r.is_durable());
    assert_eq!(p.state(), r.state());
    let acked = p.stats().peers[0].acked.expect("acked");
    drop(r);
    let r = open(&store, Durability::Group);
    assert!(has(r.state(), "remote") && has(r.state(), "local"));
    assert!(r.seq() >= acked);
}

#[test]
fn a_failed_commit_keeps_everything_committed_before_and_is_retried() {
    let store = MemoryStore::new();
    let mut r = open(&store, Durability::PerOperation);
    let _ = tag(&mut r, "kept");
    store.fail_next_commit(StoreError::DiskFull {
        detail: "no space".into(),
    });
    let err = r
        .update(|doc, hlc| doc.insert(hlc.replica(), &["tags"], "retried".into()))
        .unwrap_err();
    assert!(matches!(err, Error::Store(StoreError::DiskFull { .. })));
    assert!(!r.is_durable());
    assert_eq!(r.flush().expect("retry"), r.seq());
    drop(r);
    let r = open(&store, Durability::PerOperation);
    assert!(has(r.state(), "kept") && has(r.state(), "retried"));
}

#[test]
fn a_restarted_replica_resumes_delta_sync_from_persisted_acks() {
    let store = MemoryStore::new();
    let mut r = open(&store, Durability::PerOperation);
    let mut p = peer(2);
    r.connect(p.id());
    p.connect(r.id());
    for i in 0..10 {
        let _ = tag(&mut r, &format!("t{i}"));
        pump(&mut r, &mut p);
    }
    r.flush().expect("flush acks");
    drop(r);
    let mut r = open(&store, Durability::PerOperation);
    let _ = tag(&mut r, "after restart");
    // The peer reconnects (its own session survives): the hello handshake runs again.
    r.connect(p.id());
    pump(&mut r, &mut p);
    assert_eq!(p.state(), r.state());
    assert_eq!(
        r.stats().full_states.total(),
        0,
        "{:?}",
        r.stats().full_states
    );

    // A peer without a persisted ack gets whatever the log still covers, or the full state
    // (counted as caused by the restart).
    drop(r);
    let mut r = open(&store, Durability::PerOperation);
    let mut q = peer(3);
    r.connect(q.id());
    q.connect(r.id());
    pump(&mut r, &mut q);
    assert!(r.stats().full_states.total() <= 1);
    assert_eq!(r.stats().full_states.new_peer, 0);
    assert_eq!(q.state(), r.state());
}

/// Acknowledgements that arrive with nothing else to commit are written
/// `ack_persist_ms` after they changed, by the `poll_transmit` after the tick that
/// `poll_timeout` asks for: a restart then resumes from them without any `flush`.
#[test]
fn acknowledgements_are_written_on_a_schedule_without_a_flush() {
    let store = MemoryStore::new();
    let mut r = open(&store, Durability::PerOperation);
    let mut p = peer(2);
    r.connect(p.id());
    p.connect(r.id());
    r.tick(10);
    for i in 0..3 {
        let _ = tag(&mut r, &format!("t{i}"));
        pump(&mut r, &mut p);
    }
    let acked = r.engine().acks().find(|(id, _)| *id == p.id());
    assert_eq!(acked, Some((p.id(), r.seq())));
    // The ack came after the last commit: it is due 1 s (of tick time) after it changed.
    let due = r.poll_timeout().expect("a deadline");
    assert!(due <= 10 + 1_000, "due at {due}");
    // What a crash now would leave: a copy of the records, opened.
    let after_crash = |store: &MemoryStore| {
        let copy = MemoryStore::new();
        copy.set_records(store.records());
        let r = open(&copy, Durability::PerOperation);
        r.engine()
            .acks()
            .find(|(id, _)| *id == ReplicaId::from_u128(2))
    };
    // Lost so far (the restart would reconcile or send the full state).
    assert_ne!(after_crash(&store), acked);
    r.tick(due);
    assert!(r.poll_transmit().expect("writes the acks").is_none());
    assert_eq!(after_crash(&store), acked);
    // Nothing changed since: no deadline for it, and no further write.
    assert!(r.poll_timeout().is_none_or(|t| t > due + 1_000));
}

#[test]
fn compaction_bounds_the_log_and_keeps_the_state() {
    let store = MemoryStore::new();
    let cfg = DurableConfig {
        compact_min_bytes: 2_000,
        ..config(Durability::PerOperation)
    };
    let mut r =
        DurableReplica::<Doc, _>::open_with(store.clone(), cfg.clone(), |b| b.clock(|| NOW))
            .expect("open");
    for i in 0..300 {
        let _ = tag(&mut r, &format!("t{i}"));
    }
    let records = store.records();
    assert!(records.log.len() < 100, "{} log records", records.log.len());
    let state = r.state().clone();
    drop(r);
    let r = DurableReplica::<Doc, _>::open_with(store, cfg, |b| b.clock(|| NOW)).expect("reopen");
    assert_eq!(r.state(), &state);
    assert_eq!(r.seq(), 300);
}

fn damaged(store: &MemoryStore, f: impl FnOnce(&mut Records)) -> Error {
    let mut records = store.records();
    f(&mut records);
    let copy = MemoryStore::new();
    copy.set_records(records);
    DurableReplica::<Doc, _>::open(copy, config(Durability::PerOperation))
        .map(|_| ())
        .unwrap_err()
}

#[test]
fn damaged_or_foreign_stores_are_typed_errors() {
    let store = MemoryStore::new();
    let mut r = open(&store, Durability::PerOperation);
    for i in 0..5 {
        let _ = tag(&mut r, &format!("t{i}"));
    }
    drop(r);
    let store_err = |e: Error| match e {
        Error::Store(s) => s,
        other => panic!("not a store error: {other}"),
    };
    // A lost log record (e.g. hidden by a damaged index) is detected by the head.
    let e = store_err(damaged(&store, |r| {
        r.log.remove(2);
    }));
    assert!(
        matches!(
            e,
            StoreError::MissingRecord {
                what: "log",
                seq: 2
            }
        ),
        "{e}"
    );
    let e = store_err(damaged(&store, |r| {
        r.log.pop();
    }));
    assert!(
        matches!(
            e,
            StoreError::MissingRecord {
                what: "log",
                seq: 4
            }
        ),
        "{e}"
    );
    // A flipped bit anywhere in a record fails its checksum.
    let e = store_err(damaged(&store, |r| {
        if let Some((_, bytes)) = r.log.get_mut(1) {
            bytes[10] ^= 0x04;
        }
    }));
    assert!(matches!(e, StoreError::Checksum { .. }), "{e}");
    // Truncated.
    let e = store_err(damaged(&store, |r| {
        if let Some(head) = &mut r.head {
            head.truncate(3);
        }
    }));
    assert!(matches!(e, StoreError::Truncated { .. }), "{e}");
    // Missing head / snapshot.
    let e = store_err(damaged(&store, |r| r.snapshot = None));
    assert!(
        matches!(
            e,
            StoreError::MissingRecord {
                what: "snapshot",
                ..
            }
        ),
        "{e}"
    );
    // A snapshot from another head (an old one resurfacing).
    let e = store_err(damaged(&store, |r| {
        r.snapshot = MemoryStore::new().records().snapshot.or(Some(Vec::new()));
    }));
    assert!(!matches!(e, StoreError::UnsupportedVersion { .. }), "{e}");
    // A newer store format version (re-framed with a valid checksum).
    let e = store_err(damaged(&store, |r| {
        if let Some(head) = &mut r.head {
            head[4] = STORE_FORMAT_VERSION + 1;
            let n = head.len() - 4;
            let crc = crc32(&head[..n]);
            head[n..].copy_from_slice(&crc.to_le_bytes());
        }
    }));
    assert_eq!(
        e,
        StoreError::UnsupportedVersion {
            found: STORE_FORMAT_VERSION + 1,
            supported: STORE_FORMAT_VERSION
        }
    );
    // A newer frame version.
    let e = store_err(damaged(&store, |r| {
        if let Some(meta) = &mut r.meta {
            meta[2] = 9;
        }
    }));
    assert!(
        matches!(e, StoreError::UnsupportedVersion { found: 9, .. }),
        "{e}"
    );
    // Another replica than asked for.
    let e = DurableReplica::<Doc, _>::open(
        store,
        DurableConfig {
            replica: Some(ReplicaId::from_u128(9)),
            ..DurableConfig::default()
        },
    )
    .map(|_| ())
    .unwrap_err();
    assert!(
        matches!(e, Error::Store(StoreError::ReplicaMismatch { .. })),
        "{e}"
    );
}

/// CRC-32 (IEEE), bitwise: the frames' checksum, computed independently of the crate.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
