//! Deltas are small (DESIGN §2): the delta of one single-element operation is O(1) in the size of
//! the state. Each test builds a small state (10 elements, keys or replicas) and a large one
//! (100,000; 1,000 for the causal counter, whose build is quadratic in replicas), performs the
//! same operation on both, serializes the two deltas with postcard and compares their lengths.
//!
//! - By a **fresh writer** (a replica that never wrote to the state), the delta names nothing
//!   that depends on the state's size: the two encodings must have the same length.
//! - By the replica that built the state (or touching an existing element), the delta carries dot
//!   counters near the state's size: postcard varints, 1 byte below 128 and 3 bytes at 100,000.
//!   A single-operation delta holds at most three of them (the new dot, in the store and in the
//!   context, and the one dot it overwrites), so the lengths may differ by `VARINT_SLACK` bytes.
//!
//! Every delta must also fit in `MAX_DELTA` bytes.
//!
//! **Relaying** (redundant-state removal, `Lattice::novelty`): a replica that receives a
//! delta-group relays only the part it lacked. The tests at the end check that this part really
//! is smaller — it drops the replicas whose events the receiver already had — and that it still
//! carries a remove of something the receiver holds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use deltacrdt::{
    Causal, CausalCounter, Delta, Doc, GCounter, GSet, Lattice, LwwMap, LwwRegister, MvRegister,
    OrMap, OrSet, PnCounter, ReplicaId, RwSet, Stamp, Timestamp,
};
use serde::Serialize;

/// The largest acceptable encoding of a single-operation delta.
const MAX_DELTA: usize = 64;
/// How much longer a delta may get when its dot counters need more varint bytes (three counters
/// growing from 1 to 3 bytes each).
const VARINT_SLACK: usize = 6;

const SMALL: u64 = 10;
const LARGE: u64 = 100_000;

/// The replica that builds the states.
fn builder() -> ReplicaId {
    ReplicaId::from_u128(1)
}

/// A replica that never wrote to the states.
fn fresh() -> ReplicaId {
    ReplicaId::from_u128(2)
}

fn encoded_len<T: Serialize>(delta: &Delta<T>) -> usize {
    postcard::to_allocvec(delta).unwrap().len()
}

/// Runs `op` on the state built for `SMALL` and for `large` and checks the deltas' sizes.
fn check<T: Serialize>(
    what: &str,
    build: impl Fn(u64) -> T,
    large: u64,
    exact: bool,
    op: impl Fn(&mut T) -> Delta<T>,
) {
    let sizes = [SMALL, large].map(|n| {
        let mut state = build(n);
        encoded_len(&op(&mut state))
    });
    let [small, big] = sizes;
    assert!(
        big <= MAX_DELTA,
        "{what}: a delta of {big} bytes on a state of size {large}"
    );
    if exact {
        assert_eq!(
            small, big,
            "{what}: delta size depends on the state size ({SMALL}: {small} B, {large}: {big} B)"
        );
    } else {
        assert!(
            big <= small + VARINT_SLACK,
            "{what}: delta grows with the state ({SMALL}: {small} B, {large}: {big} B)"
        );
    }
}

fn or_set(n: u64) -> OrSet<u64> {
    let mut s = OrSet::default();
    for e in 0..n {
        let _ = s.insert(builder(), e);
    }
    s
}

#[test]
fn or_set_insert_and_remove_deltas_are_constant_size() {
    check("OrSet insert, fresh writer", or_set, LARGE, true, |s| {
        s.insert(fresh(), u64::MAX)
    });
    check("OrSet insert, same writer", or_set, LARGE, false, |s| {
        s.insert(builder(), u64::MAX)
    });
    check("OrSet re-insert", or_set, LARGE, false, |s| {
        s.insert(fresh(), 5)
    });
    check("OrSet remove", or_set, LARGE, false, |s| s.remove(&5));
}

fn rw_set(n: u64) -> RwSet<u64> {
    let mut s = RwSet::default();
    for e in 0..n {
        let _ = s.insert(builder(), e);
    }
    s
}

#[test]
fn rw_set_insert_and_remove_deltas_are_constant_size() {
    check("RwSet insert, fresh writer", rw_set, LARGE, true, |s| {
        s.insert(fresh(), u64::MAX)
    });
    check("RwSet remove", rw_set, LARGE, false, |s| {
        s.remove(fresh(), 5)
    });
}

#[test]
fn g_set_insert_delta_is_constant_size() {
    let build = |n| {
        let mut s = GSet::default();
        for e in 0..n {
            let _ = s.insert(e);
        }
        s
    };
    check("GSet insert", build, LARGE, true, |s| s.insert(u64::MAX));
}

/// A counter every one of `n` replicas incremented once (replica ids ascending, so the build
/// stays linear).
fn g_counter(n: u64) -> GCounter {
    let mut c = GCounter::default();
    for r in 0..n {
        let _ = c.increment(ReplicaId::from_u128(1000 + u128::from(r)), 1);
    }
    c
}

#[test]
fn counter_increment_deltas_are_constant_size() {
    check(
        "GCounter increment, fresh replica",
        g_counter,
        LARGE,
        true,
        |c| c.increment(fresh(), 1),
    );
    check(
        "GCounter increment, known replica",
        g_counter,
        LARGE,
        true,
        |c| c.increment(ReplicaId::from_u128(1005), 1),
    );
    let pn = |n| {
        let mut c = PnCounter::default();
        for r in 0..n {
            let _ = c.increment(ReplicaId::from_u128(1000 + u128::from(r)), 1);
            let _ = c.decrement(ReplicaId::from_u128(1000 + u128::from(r)), 1);
        }
        c
    };
    check("PnCounter increment", pn, LARGE, true, |c| {
        c.increment(fresh(), 1)
    });
    check("PnCounter decrement", pn, LARGE, true, |c| {
        c.decrement(ReplicaId::from_u128(1005), 1)
    });
}

#[test]
fn causal_counter_increment_delta_is_constant_size() {
    let build = |n| {
        let mut c = CausalCounter::default();
        for r in 0..n {
            let _ = c.increment(ReplicaId::from_u128(1000 + u128::from(r)), 1);
        }
        c
    };
    check(
        "CausalCounter increment, fresh replica",
        build,
        1_000,
        true,
        |c| c.increment(fresh(), 1),
    );
    check(
        "CausalCounter increment, known replica",
        build,
        1_000,
        true,
        |c| c.increment(ReplicaId::from_u128(1005), 1),
    );
}

#[test]
fn register_write_deltas_are_constant_size() {
    let stamp = |t: u64, r| Stamp {
        time: Timestamp::from_u64(t),
        replica: r,
    };
    let lww = |n| {
        let mut reg = LwwRegister::default();
        for t in 1..=n {
            let _ = reg.write(t, stamp(t, builder()));
        }
        reg
    };
    check("LwwRegister write", lww, LARGE, true, |reg| {
        reg.write(7, stamp(LARGE + 1, fresh()))
    });
    // A map of `n` keys: a write or a remove ships one key and its stamp.
    let map = |n| {
        let mut m = LwwMap::default();
        for k in 1..=n {
            let _ = m.insert(k, k, stamp(k, builder()));
        }
        m
    };
    check("LwwMap insert", map, LARGE, true, |m| {
        m.insert(0, 7, stamp(LARGE + 1, fresh()))
    });
    check("LwwMap remove", map, LARGE, true, |m| {
        m.remove(&1, stamp(LARGE + 1, fresh()))
    });
    // A register overwritten `n` times by one replica: the state stays one value, but the write
    // must not ship the history.
    let mv = |n| {
        let mut reg = MvRegister::default();
        for v in 0..n {
            let _ = reg.write(builder(), v);
        }
        reg
    };
    check("MvRegister write, fresh writer", mv, LARGE, false, |reg| {
        reg.write(fresh(), 7)
    });
    check("MvRegister write, same writer", mv, LARGE, false, |reg| {
        reg.write(builder(), 7)
    });
}

fn map_of_registers(n: u64) -> OrMap<u64, MvRegister<u64>> {
    let mut m = OrMap::default();
    for k in 0..n {
        let _ = m.update(builder(), k, |v: &mut MvRegister<u64>, r| v.write(r, k));
    }
    m
}

fn map_of_maps(n: u64) -> OrMap<u64, OrMap<u64, OrSet<u64>>> {
    let mut m = OrMap::default();
    for k in 0..n {
        let _ = m.update(
            builder(),
            k % 10,
            |inner: &mut OrMap<u64, OrSet<u64>>, r| {
                inner.update(r, k, |s: &mut OrSet<u64>, r| s.insert(r, k))
            },
        );
    }
    m
}

#[test]
fn nested_map_write_deltas_are_constant_size() {
    check(
        "OrMap new key, fresh writer",
        map_of_registers,
        LARGE,
        true,
        |m| {
            m.update(fresh(), u64::MAX, |v: &mut MvRegister<u64>, r| {
                v.write(r, 1)
            })
        },
    );
    check("OrMap existing key", map_of_registers, LARGE, false, |m| {
        m.update(fresh(), 5, |v: &mut MvRegister<u64>, r| v.write(r, 1))
    });
    check("OrMap remove key", map_of_registers, LARGE, false, |m| {
        m.remove(&5)
    });
    check(
        "OrMap<_, OrMap<_, OrSet>> nested insert",
        map_of_maps,
        LARGE,
        true,
        |m| {
            m.update(fresh(), 3, |inner: &mut OrMap<u64, OrSet<u64>>, r| {
                inner.update(r, u64::MAX, |s: &mut OrSet<u64>, r| s.insert(r, 1))
            })
        },
    );
}

#[test]
fn doc_edit_deltas_are_constant_size() {
    let build = |n: u64| {
        let mut d = Doc::default();
        for i in 0..n {
            let name = i.to_string();
            let _ = d.increment(builder(), &["m", &name], 1).unwrap();
        }
        d
    };
    check("Doc increment, new field", build, LARGE, true, |d| {
        d.increment(fresh(), &["m", "x"], 1).unwrap()
    });
    check("Doc increment, existing field", build, LARGE, true, |d| {
        d.increment(fresh(), &["m", "5"], 1).unwrap()
    });
    check("Doc insert", build, LARGE, true, |d| {
        d.insert(fresh(), &["m", "tags"], "t".into()).unwrap()
    });
    check("Doc delete", build, LARGE, false, |d| {
        d.delete(fresh(), &["m", "5"]).unwrap()
    });
}

// ----- relaying: the novelty of a delta-group -----

fn encoded<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap()
}

/// `x` relays a group of `builder`'s adds it already has plus one new add by `fresh`: the novelty
/// is exactly `fresh`'s add (and encodes like it), naming no other replica.
#[test]
fn novelty_of_a_relayed_group_is_only_the_new_replicas_part() {
    let mut y = OrSet::default();
    let mut group = Delta::new(OrSet::default());
    for e in 0..SMALL {
        group.join(y.insert(builder(), e));
    }
    let mut x = y.clone();
    let from_fresh = y.insert(fresh(), u64::MAX);
    group.join(from_fresh.clone());
    let group = group.into_inner();

    let new = x.novelty(&group).expect("fresh's add is new to x");
    assert_eq!(new, *from_fresh);
    assert_eq!(new.iter().collect::<Vec<_>>(), [&u64::MAX]);
    assert_eq!(
        new.context().version_vector().collect::<Vec<_>>(),
        [(fresh(), 1)],
        "the novelty names a replica x has nothing new from"
    );
    assert_eq!(new.clone().joined(group.clone()), group, "novelty ⋢ group");
    let (new_len, group_len) = (encoded(&new).len(), encoded(&group).len());
    assert_eq!(new_len, encoded(&*from_fresh).len());
    assert!(
        new_len < group_len,
        "the novelty ({new_len} B) is not smaller than the group ({group_len} B)"
    );
    // Decoded (without hints), as a peer receives it: the same novelty.
    let decoded: OrSet<u64> = postcard::from_bytes(&encoded(&group)).unwrap();
    assert_eq!(x.novelty(&decoded).as_ref(), Some(&new));

    let expected = x.clone().joined(group.clone());
    x.join(new);
    assert_eq!(x, expected);
    assert_eq!(x.novelty(&group), None, "a duplicate has no novelty");
}

/// A remove of an element `x` holds, by a replica whose events `x` has all seen, brings `x` no
/// new event — yet it must be relayed: `x`'s context already covers the removed dot, so only the
/// store comparison (`x` holds a dot the group covers and lacks) finds it.
#[test]
fn novelty_keeps_a_remove_of_what_the_receiver_holds() {
    let mut y = OrSet::default();
    let mut group = Delta::new(OrSet::default());
    for e in 0..SMALL {
        group.join(y.insert(builder(), e));
    }
    let x = y.clone();
    group.join(y.remove(&3));
    let group = group.into_inner();
    assert!(
        x.context()
            .version_vector()
            .eq(group.context().version_vector())
    );

    for incoming in [
        group.clone(),
        postcard::from_bytes(&encoded(&group)).unwrap(),
    ] {
        let new = x.novelty(&incoming).expect("the remove is new to x");
        let relayed = x.clone().joined(new);
        assert!(!relayed.contains(&3), "the relayed novelty lost the remove");
        assert_eq!(relayed, x.clone().joined(incoming.clone()));
        assert_eq!(relayed.novelty(&incoming), None);
    }
}

/// The plain lattices keep what is ahead: counter entries above ours, elements we lack, a
/// register write with a greater stamp.
#[test]
fn novelty_of_plain_lattices_keeps_what_is_ahead() {
    let r = ReplicaId::from_u128;
    let counter = |entries: &[(u128, u64)]| {
        let mut c = GCounter::default();
        for &(n, by) in entries {
            let _ = c.increment(r(n), by);
        }
        c
    };
    let x = counter(&[(1, 5), (2, 2)]);
    let d = counter(&[(1, 3), (2, 4), (3, 1)]);
    assert_eq!(x.novelty(&d), Some(counter(&[(2, 4), (3, 1)])));
    assert_eq!(x.novelty(&counter(&[(1, 5)])), None);

    let set = |es: &[u8]| {
        let mut s = GSet::default();
        for e in es {
            let _ = s.insert(*e);
        }
        s
    };
    assert_eq!(set(&[1, 2]).novelty(&set(&[2, 3, 4])), Some(set(&[3, 4])));
    assert_eq!(set(&[1, 2]).novelty(&set(&[2])), None);

    let stamp = |ms: u64| Stamp {
        time: Timestamp::from_u64(ms << 16),
        replica: r(1),
    };
    let mut old = LwwRegister::default();
    let _ = old.write("old", stamp(1));
    let mut new = LwwRegister::default();
    let _ = new.write("new", stamp(2));
    assert_eq!(old.novelty(&new), Some(new.clone()));
    assert_eq!(new.novelty(&old), None);

    let map = |entries: &[(u8, u64)]| {
        let mut m = LwwMap::default();
        for &(k, ms) in entries {
            let _ = m.insert(k, ms, stamp(ms));
        }
        m
    };
    let x = map(&[(1, 5), (2, 2)]);
    assert_eq!(
        x.novelty(&map(&[(1, 3), (2, 4), (3, 1)])),
        Some(map(&[(2, 4), (3, 1)]))
    );
    assert_eq!(x.novelty(&map(&[(1, 5)])), None);
}
