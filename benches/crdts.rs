//! `deltacrdt` against the `crdts` crate (7.x), measured in the same run.
//!
//! Run with `cargo bench --bench crdts`; sizes and heap bytes are in `sizes.rs`
//! (`cargo bench --bench sizes`), which installs a counting allocator this file must not pay for.
//!
//! Replica ids: ours are [`ReplicaId`]s (a 16-byte UUID); the `crdts` actors are the very same
//! [`uuid::Uuid`]s (`ReplicaId::as_uuid`), so both libraries compare, hash, store and serialize
//! 16-byte ids (postcard writes a UUID as a 1-byte length plus 16 bytes on both sides).
//!
//! Workloads (all inputs are generated up front by a seeded splitmix64, so every run and both
//! libraries see the same operations; setup is never timed):
//!
//! - `counter/increment`: 1,000 increments by one replica on a fresh counter. Ours:
//!   `GCounter::increment` (the delta is built and dropped). `crdts`: `GCounter::inc` + `apply`.
//! - `counter/merge_63_payloads`: the merge of 64 replicas' counters at one of them: each of
//!   the 63 others incremented its own counter once, and its state travels as one tiny
//!   payload. Timed: encoding the 63 payloads, decoding them and joining each into a fresh
//!   counter of the 64th replica. Ours: `deltacrdt::encode` / `decode` (a checksummed value
//!   frame with its replica table: what a peer or a store writes) and `join`. `crdts`: postcard
//!   `to_allocvec` / `from_bytes` of `crdts::GCounter<Uuid>` (a bare body, no framing, no
//!   checksum) and `merge`.
//! - `set/insert_remove`: on a fresh set, 100,000 adds of random `u64`s by one replica, then
//!   50,000 removes of distinct elements picked at random among those present. Throughput is
//!   reported per set operation (150,000). Ours: `OrSet::insert`/`remove` (deltas dropped).
//!   `crdts`: `Orswot::add(e, read_ctx().derive_add_ctx(actor))` + `apply`, and
//!   `Orswot::rm(e, contains(&e).derive_rm_ctx())` + `apply`. The final set's drop is not timed.
//! - `set/join_diverged`: replica A builds 50,000 elements and B receives them; then each side
//!   adds 50,000 elements of its own and removes 10,000 random elements of the common part (so
//!   each side has touched 100,000 elements and holds 90,000). Timed: `join` (ours) / `merge`
//!   (`crdts`) of B's state into A's, on fresh clones made outside the timed section.
//! - `map/write_registers`: on a fresh map, 10,000 register writes of random `u64`s by one
//!   replica, each under one of 1,000 keys picked at random. Ours: `OrMap<u64, MvRegister<u64>>`
//!   via `update(r, key, |reg, r| reg.write(r, v))` (delta dropped). `crdts`: `Map<u64,
//!   MVReg<u64, Uuid>, Uuid>` via `update(key, read_ctx().derive_add_ctx(actor), |reg, ctx|
//!   reg.write(v, ctx))` + `apply` — the same multi-value register nested in an observed-remove
//!   map on both sides. (`crdts::LWWReg` cannot be a `Map` value: it lacks `ResetRemove`; our
//!   `LwwRegister` is not a causal type, so neither nests in its library's map. The stamp-tagged
//!   LWW register of our `Doc` is `MvRegister<(Stamp, Value)>`, i.e. this same nesting.)
//! - `map/lww_writes`: on a fresh map, 100,000 last-writer-wins writes of random `u64`s by one
//!   replica over 10,000 keys picked at random. Ours: `LwwMap<u64, u64>::insert` stamped by the
//!   replica's `Hlc` on the system clock (delta dropped). `crdts` has no LWW map (its `Map`
//!   takes causal values only), so two references: its `Map<u64, MVReg<u64, Uuid>, Uuid>`, the
//!   replicated map a user would reach for (as in `map/write_registers`), and a std `HashMap`
//!   of `crdts::LWWReg<u64, (u64, Uuid)>` updated in place with a counter for marker — no
//!   delta, no clock, so a floor rather than a peer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    reason = "benchmark harness"
)]

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use crdts::{CmRDT, CvRDT};
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, Throughput};
use deltacrdt::{
    Delta, GCounter, Hlc, Lattice, LwwMap, MvRegister, OrMap, OrSet, SyncConfig, SyncEngine,
};
use uuid::Uuid;

mod support;
use support::{Diverged, SetOps, SplitMix, replica, sorted_ours, sorted_theirs};

// ----- criterion groups -----

fn counter(c: &mut Criterion) {
    const N: u64 = 1_000;
    let r = replica(1);
    let mut g = c.benchmark_group("counter/increment");
    g.throughput(Throughput::Elements(N));
    g.bench_function("deltacrdt", |b| {
        b.iter(|| {
            let mut counter = GCounter::default();
            for _ in 0..N {
                let _ = black_box(counter.increment(r, 1));
            }
            counter
        });
    });
    g.bench_function("crdts", |b| {
        let actor = r.as_uuid();
        b.iter(|| {
            let mut counter = crdts::GCounter::<Uuid>::new();
            for _ in 0..N {
                let op = counter.inc(actor);
                counter.apply(black_box(op));
            }
            counter
        });
    });
    g.finish();
}

fn counter_merge_payloads(c: &mut Criterion) {
    const PEERS: u64 = 63;
    let ours: Vec<GCounter> = (1..=PEERS)
        .map(|i| GCounter::default().increment(replica(i), i).into_inner())
        .collect();
    let theirs: Vec<crdts::GCounter<Uuid>> = (1..=PEERS)
        .map(|i| {
            let mut c = crdts::GCounter::new();
            c.apply(c.inc_many(replica(i).as_uuid(), i));
            c
        })
        .collect();
    let mut g = c.benchmark_group("counter/merge_63_payloads");
    g.throughput(Throughput::Elements(PEERS));
    g.bench_function("deltacrdt", |b| {
        b.iter(|| {
            let mut merged = GCounter::default();
            for payload in &ours {
                let bytes = deltacrdt::encode(black_box(payload)).unwrap();
                merged.join(deltacrdt::decode::<GCounter>(black_box(&bytes)).unwrap());
            }
            merged
        });
    });
    g.bench_function("crdts", |b| {
        b.iter(|| {
            let mut merged = crdts::GCounter::<Uuid>::new();
            for payload in &theirs {
                let bytes = postcard::to_allocvec(black_box(payload)).unwrap();
                merged.merge(
                    postcard::from_bytes::<crdts::GCounter<Uuid>>(black_box(&bytes)).unwrap(),
                );
            }
            merged
        });
    });
    g.finish();
    // Both merged every replica's increment.
    let sum: u64 = (1..=PEERS).sum();
    let mut check = GCounter::default();
    ours.iter().for_each(|p| check.join(p.clone()));
    assert_eq!(check.value(), sum);
}

fn set_insert_remove(c: &mut Criterion) {
    let ops = SetOps::new();
    let r = replica(1);
    assert_eq!(sorted_ours(&ops.ours(r)), sorted_theirs(&ops.theirs(r)));
    let mut g = c.benchmark_group("set/insert_remove");
    g.throughput(Throughput::Elements(150_000));
    g.bench_function("deltacrdt", |b| b.iter_with_large_drop(|| ops.ours(r)));
    g.bench_function("crdts", |b| b.iter_with_large_drop(|| ops.theirs(r)));
    g.finish();
}

fn set_join_diverged(c: &mut Criterion) {
    let d = Diverged::new();
    let mut g = c.benchmark_group("set/join_diverged");
    g.bench_function("deltacrdt", |b| {
        b.iter_batched(
            || d.ours.clone(),
            |(mut a, b)| {
                a.join(b);
                a
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("crdts", |b| {
        b.iter_batched(
            || d.theirs.clone(),
            |(mut a, b)| {
                a.merge(b);
                a
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

/// The `crdts` side of both map workloads: its observed-remove map of multi-value registers,
/// written through `update` + `apply`.
type CrdtsMap = crdts::Map<u64, crdts::MVReg<u64, Uuid>, Uuid>;

fn crdts_map_writes(writes: &[(u64, u64)], actor: Uuid) -> CrdtsMap {
    let mut m = CrdtsMap::new();
    for &(k, v) in writes {
        let op = m.update(k, m.read_ctx().derive_add_ctx(actor), |reg, ctx| {
            reg.write(v, ctx)
        });
        m.apply(op);
    }
    m
}

fn map_write_registers(c: &mut Criterion) {
    type Ours = OrMap<u64, MvRegister<u64>>;
    let mut rng = SplitMix(0x5EED_0004);
    let writes: Vec<(u64, u64)> = (0..10_000)
        .map(|_| (rng.below(1_000) as u64, rng.next()))
        .collect();
    let r = replica(1);
    let actor = r.as_uuid();
    let ours = || {
        let mut m = Ours::default();
        for &(k, v) in &writes {
            let _ = black_box(m.update(r, k, |reg, r| reg.write(r, v)));
        }
        m
    };
    let theirs = || crdts_map_writes(&writes, actor);

    // Both hold the last write of every key.
    let (o, t) = (ours(), theirs());
    let last: std::collections::HashMap<u64, u64> = writes.iter().copied().collect();
    assert_eq!(o.len(), last.len());
    assert_eq!(t.len().val, last.len());
    for (k, v) in &last {
        assert_eq!(o.get(k).unwrap().values().collect::<Vec<_>>(), [v]);
        assert_eq!(t.get(k).val.unwrap().read().val, [*v]);
    }

    let mut g = c.benchmark_group("map/write_registers");
    g.throughput(Throughput::Elements(writes.len() as u64));
    g.bench_function("deltacrdt", |b| b.iter_with_large_drop(ours));
    g.bench_function("crdts", |b| b.iter_with_large_drop(theirs));
    g.finish();
}

fn map_lww_writes(c: &mut Criterion) {
    type TheirsByHand = std::collections::HashMap<u64, crdts::LWWReg<u64, (u64, Uuid)>>;
    let mut rng = SplitMix(0x5EED_0005);
    let writes: Vec<(u64, u64)> = (0..100_000)
        .map(|_| (rng.below(10_000) as u64, rng.next()))
        .collect();
    let r = replica(1);
    let actor = r.as_uuid();
    // Stamps from the replica's hybrid logical clock on the system clock, as an app writes.
    let ours = || {
        let mut hlc = Hlc::builder(r).build().unwrap();
        let mut m = LwwMap::default();
        for &(k, v) in &writes {
            let _ = black_box(m.insert(k, v, hlc.now().unwrap()));
        }
        m
    };
    let theirs = || crdts_map_writes(&writes, actor);
    // A plain map of `crdts` LWW registers with a counter for marker: no delta, no clock read.
    let by_hand = || {
        let mut m = TheirsByHand::new();
        for (i, &(k, v)) in writes.iter().enumerate() {
            let marker = (i as u64, actor);
            m.entry(k)
                .and_modify(|reg| reg.update(v, marker))
                .or_insert(crdts::LWWReg { val: v, marker });
        }
        m
    };

    // All three hold the last write of every key.
    let (o, t, h) = (ours(), theirs(), by_hand());
    let last: std::collections::HashMap<u64, u64> = writes.iter().copied().collect();
    assert_eq!(
        (o.len(), t.len().val, h.len()),
        (last.len(), last.len(), last.len())
    );
    for (k, v) in &last {
        assert_eq!(o.get(k), Some(v));
        assert_eq!(t.get(k).val.unwrap().read().val, [*v]);
        assert_eq!(h[k].val, *v);
    }

    let mut g = c.benchmark_group("map/lww_writes");
    g.throughput(Throughput::Elements(writes.len() as u64));
    g.bench_function("deltacrdt", |b| b.iter_with_large_drop(ours));
    g.bench_function("crdts", |b| b.iter_with_large_drop(theirs));
    g.bench_function("crdts-lwwreg-in-hashmap", |b| {
        b.iter_with_large_drop(by_hand)
    });
    g.finish();
}

/// Times `state` (cloned outside the timed section) applying every delta of `deltas` in turn.
fn bench_deltas<T: Lattice>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    state: &T,
    deltas: &[Delta<T>],
) {
    g.bench_function(name, |bench| {
        bench.iter_batched(
            || (state.clone(), deltas.to_vec()),
            |(mut state, deltas)| {
                for d in deltas {
                    state.apply(d);
                }
                state
            },
            BatchSize::LargeInput,
        );
    });
}

/// Times `state` (cloned outside the timed section) applying every `crdts` op in turn.
fn bench_ops<T: CmRDT + Clone>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    state: &T,
    ops: &[T::Op],
) where
    T::Op: Clone,
{
    g.bench_function(name, |bench| {
        bench.iter_batched(
            || (state.clone(), ops.to_vec()),
            |(mut state, ops)| {
                for op in ops {
                    state.apply(op);
                }
                state
            },
            BatchSize::LargeInput,
        );
    });
}

/// Replica B holds A's 100,000-element set; A then inserts 100 new elements and removes 100
/// present ones, and B applies A's 200 deltas (ours) or ops (`crdts`) one by one — and, ours
/// only, the same 200 deltas joined into one delta-group, and the 100 removes as a receiver gets
/// them from bytes (`removes-decoded`: decoded beforehand; `removes-decode-apply`: decoding
/// timed too).
fn set_apply_remote(c: &mut Criterion) {
    let a = replica(1);
    let mut rng = SplitMix(0x5EED_0005);
    let base = rng.distinct(100_000);
    let fresh = rng.distinct(100);
    let gone = support::pick(&mut rng, &base, 100);

    let mut ours_a = OrSet::default();
    for &e in &base {
        let _ = ours_a.insert(a, e);
    }
    let ours_b = ours_a.clone();
    let adds: Vec<_> = fresh.iter().map(|&e| ours_a.insert(a, e)).collect();
    let removes: Vec<_> = gone.iter().map(|e| ours_a.remove(e)).collect();

    let mut theirs_a = support::Orswot::new();
    support::orswot_add_all(&mut theirs_a, a.as_uuid(), &base);
    let theirs_b = theirs_a.clone();
    let mut theirs_adds = Vec::new();
    for &e in &fresh {
        let op = theirs_a.add(e, theirs_a.read_ctx().derive_add_ctx(a.as_uuid()));
        theirs_a.apply(op.clone());
        theirs_adds.push(op);
    }
    let mut theirs_removes = Vec::new();
    for &e in &gone {
        let op = theirs_a.rm(e, theirs_a.contains(&e).derive_rm_ctx());
        theirs_a.apply(op.clone());
        theirs_removes.push(op);
    }

    // The same 200 deltas shipped as one delta-group.
    let mut group = Delta::new(OrSet::default());
    for d in adds.iter().chain(&removes) {
        group.join(d.clone());
    }

    // The removes as a receiver decodes them from bytes (decoded outside the timed section).
    let decoded: Vec<Delta<OrSet<u64>>> = removes
        .iter()
        .map(|d| {
            let bytes = postcard::to_stdvec(&**d).unwrap();
            Delta::new(postcard::from_bytes(&bytes).unwrap())
        })
        .collect();

    // The same removes as bytes, decoded inside the timed section: decode + apply per update.
    let bytes: Vec<Vec<u8>> = removes
        .iter()
        .map(|d| postcard::to_stdvec(&**d).unwrap())
        .collect();

    let mut g = c.benchmark_group("set/apply_remote");
    g.throughput(Throughput::Elements(100));
    g.bench_function("removes-decode-apply/deltacrdt", |bench| {
        bench.iter_batched(
            || ours_b.clone(),
            |mut state| {
                for b in &bytes {
                    state.apply(Delta::new(postcard::from_bytes::<OrSet<u64>>(b).unwrap()));
                }
                state
            },
            BatchSize::LargeInput,
        );
    });
    bench_deltas(&mut g, "inserts/deltacrdt", &ours_b, &adds);
    bench_deltas(&mut g, "removes/deltacrdt", &ours_b, &removes);
    bench_deltas(&mut g, "removes-decoded/deltacrdt", &ours_b, &decoded);
    bench_deltas(&mut g, "group/deltacrdt", &ours_b, &[group]);
    bench_ops(&mut g, "inserts/crdts", &theirs_b, &theirs_adds);
    bench_ops(&mut g, "removes/crdts", &theirs_b, &theirs_removes);
    g.finish();
}

/// A set written by 10,000 replicas (one element each) applies 100 inserts from the replica
/// that joined last: the cost of a large replica table per remote delta.
fn set_apply_many_replicas(c: &mut Criterion) {
    const REPLICAS: u64 = 10_000;
    let mut ours = OrSet::default();
    let mut theirs = support::Orswot::new();
    for i in 0..REPLICAS {
        let r = replica(1_000 + i);
        let _ = ours.insert(r, i);
        let op = theirs.add(i, theirs.read_ctx().derive_add_ctx(r.as_uuid()));
        theirs.apply(op);
    }
    let last = replica(1_000 + REPLICAS - 1);
    let mut ours_src = ours.clone();
    let deltas: Vec<_> = (0..100)
        .map(|i| ours_src.insert(last, REPLICAS + i))
        .collect();
    let mut theirs_src = theirs.clone();
    let mut ops = Vec::new();
    for i in 0..100 {
        let op = theirs_src.add(
            REPLICAS + i,
            theirs_src.read_ctx().derive_add_ctx(last.as_uuid()),
        );
        theirs_src.apply(op.clone());
        ops.push(op);
    }

    let mut g = c.benchmark_group("set/apply_10k_replicas");
    g.throughput(Throughput::Elements(100));
    bench_deltas(&mut g, "deltacrdt", &ours, &deltas);
    bench_ops(&mut g, "crdts", &theirs, &ops);
    g.finish();
}

/// The same workload as `set/apply_remote`, received as frames through a sync engine: 100
/// one-insert frames, 100 one-remove frames, and all 200 ops in one frame. Each frame costs
/// the checksum, the bounded decode, validation, the drift check, `novelty`, the join and the
/// buffering of the new part — compare with the in-memory `apply` of the same deltas.
fn sync_receive(c: &mut Criterion) {
    let (ia, ib) = (replica(1), replica(2));
    let mut rng = SplitMix(0x5EED_0005);
    let base = rng.distinct(100_000);
    let fresh = rng.distinct(100);
    let gone = support::pick(&mut rng, &base, 100);
    let mut set = OrSet::default();
    for &e in &base {
        let _ = set.insert(ia, e);
    }
    let engine = |id| {
        let hlc = Hlc::builder(id)
            .clock(|| 1_700_000_000_000u64)
            .build()
            .unwrap();
        SyncEngine::restore(hlc, set.clone(), 1, SyncConfig::default())
    };
    let (mut a, mut b) = (engine(ia), engine(ib));
    a.connect(ib);
    settle(&mut a, &mut b);
    // One frame per op: B acknowledges each before A makes the next.
    let mut one_each = |ops: Vec<(bool, u64)>| {
        let mut frames = Vec::new();
        for (insert, e) in ops {
            a.update(|s, _| {
                Ok::<_, Infallible>(if insert {
                    s.insert(ia, e)
                } else {
                    s.remove(&e)
                })
            })
            .unwrap();
            let frame = a.poll_transmit().unwrap().bytes;
            b.receive(ia, &frame).unwrap();
            settle(&mut a, &mut b);
            frames.push(frame);
        }
        frames
    };
    let inserts = one_each(fresh.iter().map(|&e| (true, e)).collect());
    let removes = one_each(gone.iter().map(|&e| (false, e)).collect());
    // All 200 ops in one frame: a fresh sender makes them before polling.
    let (mut a, mut b) = (engine(ia), engine(ib));
    a.connect(ib);
    settle(&mut a, &mut b);
    for (&add, &gone) in fresh.iter().zip(&gone) {
        a.update(|s, _| Ok::<_, Infallible>(s.insert(ia, add)))
            .unwrap();
        a.update(|s, _| Ok::<_, Infallible>(s.remove(&gone)))
            .unwrap();
    }
    let group = vec![a.poll_transmit().unwrap().bytes];

    let mut g = c.benchmark_group("sync/receive");
    g.throughput(Throughput::Elements(100));
    for (name, frames) in [
        ("inserts", &inserts),
        ("removes", &removes),
        ("group-of-200", &group),
    ] {
        g.bench_function(name, |bench| {
            bench.iter_batched(
                || engine(ib),
                |mut b| {
                    for f in frames {
                        b.receive(ia, f).unwrap();
                    }
                    b
                },
                BatchSize::LargeInput,
            );
        });
    }
    g.finish();
}

/// The sending side: a replica of 100,000 elements with three peers that hold everything
/// makes local inserts and polls the frames out. `one-delta`: one insert, shipped to the
/// three peers (the delta is encoded, counted for the buffer cap and framed per peer);
/// `100-deltas`: 100 inserts, then one delta-interval per peer (the join of 100 entries).
fn sync_poll(c: &mut Criterion) {
    let ia = replica(1);
    let peers = [replica(2), replica(3), replica(4)];
    let mut rng = SplitMix(0x5EED_0006);
    let base = rng.distinct(100_000);
    let fresh = rng.distinct(100);
    let mut set = OrSet::default();
    for &e in &base {
        let _ = set.insert(ia, e);
    }
    let clock = || 1_700_000_000_000u64;
    // Each peer's opening hello, captured once.
    let hellos: Vec<_> = peers
        .iter()
        .map(|&p| {
            let mut e =
                SyncEngine::<OrSet<u64>>::new(Hlc::builder(p).clock(clock).build().unwrap());
            e.connect(ia);
            e.poll_transmit().unwrap().bytes
        })
        .collect();
    let sender = || {
        let hlc = Hlc::builder(ia).clock(clock).build().unwrap();
        let resume = deltacrdt::Resume {
            state: set.clone(),
            seq: 1,
            deltas: Vec::new(),
            acks: peers.iter().map(|&p| (p, 1)).collect(),
        };
        let mut a = SyncEngine::resume(hlc, resume, SyncConfig::default());
        for (&p, hello) in peers.iter().zip(&hellos) {
            a.connect(p);
            a.receive(p, hello).unwrap();
        }
        while a.poll_transmit().is_some() {} // the hello replies
        a
    };
    let mut g = c.benchmark_group("sync/poll");
    for (name, n) in [("one-delta", 1), ("100-deltas", 100)] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(name, |bench| {
            bench.iter_batched(
                sender,
                |mut a| {
                    for &e in fresh.iter().take(n) {
                        a.update(|s, _| Ok::<_, Infallible>(s.insert(ia, e)))
                            .unwrap();
                    }
                    let mut sent = 0;
                    while let Some(t) = a.poll_transmit() {
                        sent += t.bytes.len();
                    }
                    assert!(sent > 0);
                    (a, sent)
                },
                BatchSize::LargeInput,
            );
        });
    }
    g.finish();
}

/// Carries frames between two engines until neither has anything to send.
fn settle<T>(a: &mut SyncEngine<T>, b: &mut SyncEngine<T>)
where
    T: deltacrdt::Reconcile + serde::Serialize + serde::de::DeserializeOwned,
{
    let (ia, ib) = (a.id(), b.id());
    loop {
        let mut quiet = true;
        while let Some(t) = a.poll_transmit() {
            b.receive(ia, &t.bytes).unwrap();
            quiet = false;
        }
        while let Some(t) = b.poll_transmit() {
            a.receive(ib, &t.bytes).unwrap();
            quiet = false;
        }
        if quiet {
            return;
        }
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    counter(&mut c);
    counter_merge_payloads(&mut c);
    set_insert_remove(&mut c);
    set_join_diverged(&mut c);
    set_apply_remote(&mut c);
    set_apply_many_replicas(&mut c);
    map_write_registers(&mut c);
    map_lww_writes(&mut c);
    sync_receive(&mut c);
    sync_poll(&mut c);
    c.final_summary();
}
