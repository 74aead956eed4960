//! Rust structs mapped onto a `Doc` through the sync engine: replicas that each read the struct,
//! change it and write it back — over a lossy, duplicating, reordering network with partitions
//! and crash-restarts — converge, read back into equal structs, and keep every concurrent
//! increment and every added tag (a write edits only what differs, field by field).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests: a failure should panic with the seed"
)]

use std::collections::{BTreeMap, BTreeSet};

use crate::sim::{Faults, Rng, Sim};
use deltacrdt::mapped::{Counter, Flag};
use deltacrdt::{Doc, Lattice, MapError, SyncConfig};

#[derive(Debug, Clone, PartialEq, Default)]
struct Item {
    name: Option<String>,
    bought: Flag,
    qty: Counter,
    tags: BTreeSet<String>,
}
deltacrdt::mapped_struct!(Item {
    name,
    bought,
    qty,
    tags
});

#[derive(Debug, Clone, PartialEq, Default)]
struct List {
    title: String,
    items: BTreeMap<String, Item>,
    edits: Counter,
}
deltacrdt::mapped_struct!(List {
    title,
    items,
    edits as "edit count"
});

const REPLICAS: usize = 3;
/// Items 0..KEPT are never deleted, so their counters and tags have an exact oracle.
const KEPT: usize = 3;
const ITEMS: usize = 6;

fn config() -> SyncConfig {
    SyncConfig {
        retransmit_after_ms: 200,
        repair_after_ms: 500,
        ..SyncConfig::default()
    }
}

/// What every replica must end up reading for the never-deleted items.
#[derive(Default)]
struct Oracle {
    writes: u64,
    qty: [i64; KEPT],
    tags: [BTreeSet<String>; KEPT],
    titles: BTreeSet<String>,
}

/// One read-change-write on replica `at`; returns the delta.
fn step(sim: &mut Sim<Doc>, rng: &mut Rng, at: usize, n: u32, oracle: &mut Oracle) -> Doc {
    let item = rng.index(ITEMS);
    let key = format!("item {item}");
    let op = rng.below(6);
    oracle.writes += 1;
    match (op, item < KEPT) {
        (0, true) => oracle.qty[item] += 1,
        (1, true) => {
            oracle.tags[item].insert(format!("t{n}"));
        }
        (4, _) => {
            oracle.titles.insert(format!("title {n}"));
        }
        _ => {}
    }
    sim.update(at, |doc, hlc| {
        let mut list: List = doc.read(&[])?;
        list.edits.0 += 1;
        let entry = list.items.entry(key.clone()).or_default();
        match op {
            0 => entry.qty.0 += 1,
            1 => {
                entry.tags.insert(format!("t{n}"));
            }
            2 => entry.bought.0 = !entry.bought.0,
            3 => entry.name = Some(format!("name {n}@{at}")),
            4 => list.title = format!("title {n}"),
            _ if item >= KEPT => {
                list.items.remove(&key);
            }
            _ => entry.name = None,
        }
        doc.write(hlc, &[], &list)
    })
}

fn schedule(seed: u64) {
    let mut rng = Rng::new(seed);
    let mut sim = Sim::<Doc>::new(seed, REPLICAS, &config(), 50, Faults::LOSSY);
    sim.full_mesh();
    let mut oracle = Oracle::default();
    // The list exists (with its required title) before anyone reads it.
    let first = List {
        title: "groceries".into(),
        ..List::default()
    };
    oracle.titles.insert(first.title.clone());
    sim.update(0, |doc, hlc| doc.write(hlc, &[], &first));
    sim.run_until_quiescent(5, 20_000)
        .unwrap_or_else(|e| panic!("seed {seed:#x}: {e}"));

    for n in 0..150u32 {
        let at = rng.index(REPLICAS);
        let delta = step(&mut sim, &mut rng, at, n, &mut oracle);
        assert!(
            !delta.is_bottom(),
            "seed {seed:#x}: every write changes something"
        );
        match rng.below(25) {
            0 => {
                let side: BTreeSet<usize> = (0..REPLICAS).filter(|_| rng.chance(0.5)).collect();
                sim.partition(&side);
            }
            1 => sim.heal(),
            2 => sim.crash_restart(rng.index(REPLICAS)),
            _ => {}
        }
        sim.step(rng.range(1, 30));
    }
    sim.heal();
    sim.run_until_quiescent(5, 20_000)
        .unwrap_or_else(|e| panic!("seed {seed:#x}: {e}"));
    let doc = sim.assert_converged();
    let list: List = doc
        .read(&[])
        .unwrap_or_else(|e| panic!("seed {seed:#x}: {e}"));
    assert_eq!(list.edits, Counter(oracle.writes as i64), "seed {seed:#x}");
    assert!(
        oracle.titles.contains(&list.title),
        "seed {seed:#x}: {}",
        list.title
    );
    for i in 0..KEPT {
        let item = list.items.get(&format!("item {i}"));
        let (qty, tags) = item.map_or((0, BTreeSet::new()), |it| (it.qty.0, it.tags.clone()));
        assert_eq!(qty, oracle.qty[i], "seed {seed:#x}: item {i}'s increments");
        assert_eq!(tags, oracle.tags[i], "seed {seed:#x}: item {i}'s tags");
    }
    // Writing back what was read changes nothing.
    let mut again = doc.clone();
    let mut hlc = deltacrdt::Hlc::builder(deltacrdt::ReplicaId::from_u128(99))
        .build()
        .unwrap();
    assert!(again.write(&mut hlc, &[], &list).unwrap().is_bottom());
}

#[test]
fn mapped_structs_converge_and_keep_concurrent_increments_and_tags_under_faults() {
    for seed in 0..12u64 {
        schedule(0x5_7a0c_0000 + seed);
    }
}

#[test]
fn a_list_read_from_a_doc_of_another_shape_names_the_field() {
    let mut doc = Doc::default();
    let mut hlc = deltacrdt::Hlc::builder(deltacrdt::ReplicaId::from_u128(1))
        .build()
        .unwrap();
    let _ = doc.set(hlc.now().unwrap(), &["title"], 7.into()).unwrap();
    let err = doc.read::<List>(&[]).unwrap_err();
    assert_eq!(err.to_string(), "title: expected string, found int");
    let err = Doc::default().read::<List>(&[]).unwrap_err();
    assert!(
        matches!(err, MapError::Missing { ref path } if path == "title"),
        "{err}"
    );
}
