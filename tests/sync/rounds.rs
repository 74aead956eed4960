//! Reconciliation rounds between two engines driven frame by frame, in orders the seeded
//! simulator found: a stale announcement that reaches a restarted peer late, and a repair no
//! round can make.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests: a failure should panic"
)]

use deltacrdt::{Delta, Hlc, Lattice, OrSet, ReplicaId, SyncConfig, SyncEngine};

const T0: u64 = 1_700_000_000_000;

fn r(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

type Engine = SyncEngine<OrSet<u64>>;

/// An engine for replica `n` restored from `state`, whose session nonces come from `seed`
/// (a restarted replica draws new ones).
fn restored(n: u128, state: &OrSet<u64>, seed: u8, config: &SyncConfig) -> Engine {
    let hlc = Hlc::builder(r(n)).clock(|| T0).build().unwrap();
    let config = SyncConfig {
        nonce_seed: Some([seed; 16]),
        ..config.clone()
    };
    SyncEngine::restore(hlc, state.clone(), 1, config)
}

/// The frames `e` has to send.
fn drain(e: &mut Engine) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| e.poll_transmit().map(|t| t.bytes)).collect()
}

/// Carries frames both ways until both engines are silent, ticking both at `now`.
fn pump(a: &mut Engine, b: &mut Engine, now: u64) {
    a.tick(now);
    b.tick(now);
    for _ in 0..64 {
        let (to_b, to_a) = (drain(a), drain(b));
        if to_b.is_empty() && to_a.is_empty() {
            return;
        }
        for f in to_b {
            b.receive(a.id(), &f).unwrap();
        }
        for f in to_a {
            a.receive(b.id(), &f).unwrap();
        }
    }
    panic!("the engines never fell silent");
}

/// Drives `a` and `b` at the retransmission interval from `now` until they agree, then for
/// 20 intervals more (whatever is still under way finishes).
fn settle(a: &mut Engine, b: &mut Engine, mut now: u64) {
    let step = a.config().retransmit_after_ms;
    let mut left = 20;
    for _ in 0..200 {
        pump(a, b, now);
        if a.state() == b.state() {
            left -= 1;
            if left == 0 {
                return;
            }
        }
        now += step;
    }
    panic!("the engines never agreed");
}

/// Replica 1 inserted `1..=n` (dots 1..=n); the deltas, in order.
fn inserts(n: u64) -> Vec<OrSet<u64>> {
    let mut s = OrSet::default();
    (1..=n).map(|i| s.insert(r(1), i).into_inner()).collect()
}

fn joined(parts: &[OrSet<u64>]) -> OrSet<u64> {
    let mut s = OrSet::default();
    for p in parts {
        s.join(p.clone());
    }
    s
}

/// Replica 1 restarts while b's reply to its earlier life's hello is still in flight, and
/// b learns more of replica 1's dots before the new hello comes: the stale reply reaches the
/// new life first, which sketches against it, then the fresh one. The symbols computed from
/// the stale announcement must not be mixed with the fresh ones (which made the decoder run
/// to its symbol cap and fall back to a full state): the sketch frames' pair check drops
/// them, and the round decodes from the fresh symbols.
#[test]
fn a_late_reply_to_a_peer_s_earlier_life_does_not_spoil_its_round() {
    let parts = inserts(110);
    let ours = joined(&parts);
    let config = SyncConfig::default();
    let mut old = restored(1, &ours, 1, &config);
    let mut b = restored(2, &joined(&parts[..100]), 2, &config);
    old.connect(r(2));
    b.connect(r(1));
    for f in drain(&mut old) {
        b.receive(r(1), &f).unwrap();
    }
    // b's reply to the earlier life, announcing dots 1..=100: delayed.
    let stale = drain(&mut b);
    assert!(!stale.is_empty());
    drop(old);
    // b learns dots 101..=105 (from a third replica, say).
    let learned = joined(&parts[100..105]);
    b.update(|s, _| {
        s.join(learned.clone());
        Ok::<_, deltacrdt::Error>(Delta::new(learned))
    })
    .unwrap();
    // Replica 1 comes back from the same state, with new nonces, and greets b.
    let mut a = restored(1, &ours, 3, &config);
    a.connect(r(2));
    for f in drain(&mut a) {
        b.receive(r(1), &f).unwrap();
    }
    let fresh = drain(&mut b);
    // The stale reply arrives first: a sketches against b's dots 1..=100.
    for f in &stale {
        a.receive(r(2), f).unwrap();
    }
    let early = drain(&mut a);
    assert!(
        early.iter().any(|f| f[3] == 0x07),
        "no symbols from the stale pair"
    );
    for f in early {
        b.receive(r(1), &f).unwrap();
    }
    // Then the fresh one, and whatever follows.
    for f in &fresh {
        a.receive(r(2), f).unwrap();
    }
    settle(&mut a, &mut b, 0);
    assert_eq!(a.state(), b.state());
    assert_eq!(a.state(), &ours);
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!(
        sa.full_states.total() + sb.full_states.total(),
        0,
        "{sa:?} {sb:?}"
    );
    assert_eq!(
        sa.rounds.failed + sb.rounds.failed,
        0,
        "{:?} {:?}",
        sa.rounds,
        sb.rounds
    );
    assert_eq!(sa.rounds.decoded + sb.rounds.decoded, 2, "{sa:?} {sb:?}");
    // Two batches of the first size at most, not the symbol cap.
    assert!(sa.rounds.symbols < 200, "{}", sa.rounds.symbols);
}

/// An acknowledgement frame of sequence number `seq`, forged.
fn forged_ack(seq: u64) -> Vec<u8> {
    let mut f = vec![0x44, 0x43, 0x01, 0x05];
    let mut v = seq;
    while v >= 0x80 {
        f.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    f.push(v as u8);
    let crc = crc32fast::hash(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}

/// Both sides lose an insert whose acknowledgement is forged, and the side that cannot run a
/// round (reconciliation off there, or on both sides) is always the one that hears the other's
/// fingerprint first: it sends everything, and its own fingerprint ahead of it, so the other
/// side notices too and sends everything back. (It used to forget the peer's
/// acknowledgements only: the other side's insert never came.)
#[test]
fn a_repair_without_a_round_goes_both_ways() {
    let off = SyncConfig {
        max_rounds: 0,
        ..SyncConfig::default()
    };
    for a_config in [SyncConfig::default(), off.clone()] {
        let mut a = restored(1, &OrSet::default(), 1, &a_config);
        let mut b = restored(2, &OrSet::default(), 2, &off);
        a.connect(r(2));
        b.connect(r(1));
        a.update(|s, _| Ok::<_, deltacrdt::Error>(s.insert(r(1), 7)))
            .unwrap();
        pump(&mut a, &mut b, 0);
        assert_eq!(a.state(), b.state());
        // Each side's next insert is lost, and its acknowledgement forged.
        a.update(|s, _| Ok::<_, deltacrdt::Error>(s.insert(r(1), 8)))
            .unwrap();
        b.update(|s, _| Ok::<_, deltacrdt::Error>(s.insert(r(2), 9)))
            .unwrap();
        drain(&mut a);
        drain(&mut b);
        a.receive(r(2), &forged_ack(a.seq())).unwrap();
        b.receive(r(1), &forged_ack(b.seq())).unwrap();
        // Only a's repair timer fires: its fingerprint always reaches b first.
        let every = a.config().repair_after_ms;
        for k in 1..=4 {
            a.tick(k * every);
            for _ in 0..16 {
                let (to_b, to_a) = (drain(&mut a), drain(&mut b));
                for f in to_b {
                    b.receive(r(1), &f).unwrap();
                }
                for f in to_a {
                    a.receive(r(2), &f).unwrap();
                }
            }
        }
        assert!(a.state().contains(&9), "b's insert never reached a");
        assert!(b.state().contains(&8), "a's insert never reached b");
        assert_eq!(a.state(), b.state());
        assert!(a.stats().rounds.repairs + b.stats().rounds.repairs >= 2);
    }
}
