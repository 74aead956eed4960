//! Golden byte vectors of the store format (`src/durable/FORMAT.md`): a change to any of these
//! bytes is a new store format version.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::panic,
    reason = "tests"
)]

use deltacrdt::durable::{DurableConfig, DurableReplica, MemoryStore, Records, StoreError};
use deltacrdt::{Error, GCounter, ReplicaId};

const NOW: u64 = 1_700_000_000_000;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Store format 2: the meta record names the type (`GCounter`).
const META: &str = "4443011002010102030405060708090a0b0c0d0e0f100847436f756e74657217611431";
const HEAD: &str = "44430110020202818080c0d6fcf3c501000a76b10f000200e5ba7b7a";
const SNAPSHOT: &str = "4443011002030000000a76b10f";
const LOG0: &str = "4443011002040000010102030405060708090a0b0c0d0e0f10010003c63288b4";
const LOG1: &str = "4443011002040100010102030405060708090a0b0c0d0e0f100100071f92cda4";

/// The same store in format 1 (no type name in the meta record): still opened.
const V1_META: &str = "4443011001010102030405060708090a0b0c0d0e0f107f781f4a";
const V1_HEAD: &str = "44430110010202818080c0d6fcf3c50100da0c1148000200df254ca2";
const V1_SNAPSHOT: &str = "444301100103000000da0c1148";
const V1_LOG0: &str = "4443011001040000010102030405060708090a0b0c0d0e0f10010003ee9b96ec";
const V1_LOG1: &str = "4443011001040100010102030405060708090a0b0c0d0e0f10010007373bd3fc";

fn config() -> DurableConfig {
    DurableConfig {
        replica: Some(ReplicaId::from_u128(
            0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10,
        )),
        ..DurableConfig::default()
    }
}

/// Replica `0102…0f10` created, then two local increments (by 3 and by 4), each after a clock reading at
/// `NOW` ms (so the last timestamp is `NOW` ms, logical 1).
fn golden_store() -> MemoryStore {
    let store = MemoryStore::new();
    let mut r =
        DurableReplica::<GCounter, _>::open_with(store.clone(), config(), |b| b.clock(|| NOW))
            .expect("open");
    for by in [3, 4] {
        let c = r
            .update(|c, hlc| {
                hlc.now()?; // so the head records a clock reading
                Ok::<_, Error>(c.increment(hlc.replica(), by))
            })
            .expect("update");
        assert!(c.durable);
    }
    drop(r);
    store
}

#[test]
fn the_store_records_are_pinned() {
    let records = golden_store().records();
    let got = [
        hex(records.meta.as_deref().unwrap_or_default()),
        hex(records.head.as_deref().unwrap_or_default()),
        hex(records.snapshot.as_deref().unwrap_or_default()),
        hex(&records.log[0].1),
        hex(&records.log[1].1),
    ];
    assert_eq!(got, [META, HEAD, SNAPSHOT, LOG0, LOG1].map(String::from));
}

fn pinned(records: [&str; 5]) -> MemoryStore {
    let [meta, head, snapshot, log0, log1] = records;
    let store = MemoryStore::new();
    store.set_records(Records {
        meta: Some(unhex(meta)),
        head: Some(unhex(head)),
        snapshot: Some(unhex(snapshot)),
        log: vec![(0, unhex(log0)), (1, unhex(log1))],
    });
    store
}

#[test]
fn pinned_records_open_into_the_same_replica() {
    let r = DurableReplica::<GCounter, _>::open_with(
        pinned([META, HEAD, SNAPSHOT, LOG0, LOG1]),
        config(),
        |b| b.clock(|| NOW),
    )
    .expect("opens");
    assert_eq!((r.seq(), r.state().value()), (2, 7));
}

#[test]
fn a_format_1_store_opens_and_its_next_commit_names_the_type() {
    let store = pinned([V1_META, V1_HEAD, V1_SNAPSHOT, V1_LOG0, V1_LOG1]);
    let mut r =
        DurableReplica::<GCounter, _>::open_with(store.clone(), config(), |b| b.clock(|| NOW))
            .expect("a format 1 store opens");
    assert_eq!((r.seq(), r.state().value()), (2, 7));
    // Nothing changed yet: the store is still format 1 (an older build still opens it).
    assert_eq!(
        store.records().meta.as_deref().map(hex).as_deref(),
        Some(V1_META)
    );
    let _ = r
        .update(|c, hlc| Ok::<_, Error>(c.increment(hlc.replica(), 1)))
        .expect("update");
    drop(r);
    assert_eq!(
        store.records().meta.as_deref().map(hex).as_deref(),
        Some(META)
    );
    // Opened as another type now, it says which.
    let err = DurableReplica::<deltacrdt::Doc, _>::open(store, config()).err();
    assert!(
        matches!(err, Some(Error::Store(StoreError::WrongType { expected: "Doc", ref found })) if found == "GCounter"),
        "{err:?}"
    );
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("the store holds a GCounter, not a Doc")
    );
}
