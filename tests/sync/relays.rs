//! Relay-aware forwarding (format minor 2) over the seeded simulated network: in a full mesh
//! each update crosses each link about once; a link that goes down is covered by relays after
//! one hold, long before any retransmission timeout; a ring relays at once; and a peer lying
//! about what it holds only starves itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests: a failure should panic with the seed"
)]

use crate::sim::{Faults, Sim, id};
use deltacrdt::{Error, OrSet, ReplicaId, SyncConfig};

type Set = OrSet<u64>;

fn config(relay_aware: bool) -> SyncConfig {
    SyncConfig {
        retransmit_after_ms: 500,
        repair_after_ms: 1_000,
        relay_aware,
        ..SyncConfig::default()
    }
}

fn insert(sim: &mut Sim<Set>, at: usize, element: u64) {
    sim.update(at, |s, hlc| {
        Ok::<_, Error>(s.insert(hlc.replica(), element))
    });
}

/// Delta frames sent by every replica together.
fn delta_frames(sim: &Sim<Set>) -> u64 {
    sim.nodes
        .iter()
        .map(|n| n.engine.stats().sent.delta.messages)
        .sum()
}

/// Steps of `dt` ms until every replica holds `element`; the virtual time that took.
fn time_to_reach(sim: &mut Sim<Set>, element: u64, dt: u64, max_ms: u64) -> u64 {
    let start = sim.now;
    while !sim
        .nodes
        .iter()
        .all(|n| n.engine.state().contains(&element))
    {
        assert!(
            sim.now - start <= max_ms,
            "seed {:#x}: {element} did not reach everyone in {max_ms} ms",
            sim.seed
        );
        sim.step(dt);
    }
    sim.now - start
}

/// A full mesh of 5, updates one at a time: with relay-aware forwarding each update is sent
/// about once to each other replica (4 delta frames); without, every receiver relays it to
/// its 3 other neighbours too (16).
#[test]
fn a_full_mesh_sends_each_update_about_once_to_each_peer() {
    let mut per_update = Vec::new();
    for relay_aware in [false, true] {
        let mut sim = Sim::<Set>::new(0x5e1a_0001, 5, &config(relay_aware), 0, Faults::NONE);
        sim.full_mesh();
        sim.run_until_quiescent(1, 1_000).unwrap();
        // Everyone says what it holds of everyone once (and relays asks for marks).
        for i in 0..5 {
            insert(&mut sim, i, 1_000 + i as u64);
            sim.run_until_quiescent(1, 1_000).unwrap();
        }
        let before = delta_frames(&sim);
        let updates = 40;
        for k in 0..updates {
            insert(&mut sim, (k % 5) as usize, k);
            sim.run_until_quiescent(1, 1_000).unwrap();
        }
        let states: Vec<&Set> = sim.nodes.iter().map(|n| n.engine.state()).collect();
        assert!(states.windows(2).all(|w| w[0] == w[1]));
        // Quiet: no timer left in the past (a driver sleeping until it would spin).
        let now = sim.now;
        assert!(
            sim.nodes
                .iter()
                .all(|n| n.engine.poll_timeout().is_none_or(|t| t > now))
        );
        per_update.push((delta_frames(&sim) - before) as f64 / updates as f64);
    }
    let (flood, relay) = (per_update[0], per_update[1]);
    assert!(
        flood >= 15.0,
        "without relay-aware forwarding: {flood} frames"
    );
    assert!(relay <= 4.5, "with relay-aware forwarding: {relay} frames");
    let skipped: u64 = {
        let mut sim = Sim::<Set>::new(0x5e1a_0002, 3, &config(true), 0, Faults::NONE);
        sim.full_mesh();
        for k in 0..10 {
            insert(&mut sim, 0, k);
            sim.run_until_quiescent(1, 1_000).unwrap();
        }
        sim.nodes
            .iter()
            .map(|n| n.engine.stats().relays_skipped)
            .sum()
    };
    assert!(skipped >= 9, "relays skipped: {skipped}");
}

/// A triangle whose 0–2 link goes down without a word: 0's next update reaches 2 through 1
/// once 1's hold ends (20 ms), long before 0's retransmission timeout (500 ms) or a repair.
#[test]
fn a_link_that_goes_down_is_covered_by_the_relay_after_one_hold() {
    let mut sim = Sim::<Set>::new(0x5e1a_0003, 3, &config(true), 0, Faults::NONE);
    sim.full_mesh();
    for k in 0..5 {
        insert(&mut sim, 0, k);
        sim.run_until_quiescent(1, 1_000).unwrap();
    }
    assert!(sim.nodes[1].engine.stats().relays_skipped > 0);
    sim.cut(0, 2);
    insert(&mut sim, 0, 99);
    let hold = SyncConfig::default().relay_hold_ms;
    let took = time_to_reach(&mut sim, 99, 1, 400);
    assert!(took <= hold + 5, "took {took} ms (hold {hold} ms)");
    // And with the link still down, 2's own updates reach 0 through 1 the same way.
    insert(&mut sim, 2, 100);
    let took = time_to_reach(&mut sim, 100, 1, 400);
    assert!(took <= hold + 5, "took {took} ms");
}

/// A ring never waits: nobody syncs with both of a relay's neighbours, so no delta is held
/// back, and an update goes round as fast as without relay-aware forwarding.
#[test]
fn a_ring_relays_at_once() {
    let mut times = Vec::new();
    for relay_aware in [false, true] {
        let mut sim = Sim::<Set>::new(0x5e1a_0004, 6, &config(relay_aware), 0, Faults::NONE);
        for i in 0..6 {
            sim.connect(i, (i + 1) % 6);
        }
        sim.run_until_quiescent(1, 1_000).unwrap();
        let mut total = 0;
        for k in 0..12 {
            insert(&mut sim, (k % 6) as usize, k);
            total += time_to_reach(&mut sim, k, 1, 400);
            sim.run_until_quiescent(1, 1_000).unwrap();
        }
        times.push(total);
    }
    assert_eq!(
        times[0], times[1],
        "ring: without / with relay-aware forwarding"
    );
}

/// A holds frame: `marks` as `(replica, seq)`, no requests.
fn holds_frame(marks: &[(ReplicaId, u64)]) -> Vec<u8> {
    let mut f = vec![0x44, 0x43, 0x01, 0x0a, marks.len() as u8];
    for (id, seq) in marks {
        f.extend_from_slice(id.as_bytes());
        let mut v = *seq;
        while v >= 0x80 {
            f.push((v as u8) | 0x80);
            v >>= 7;
        }
        f.push(v as u8);
    }
    f.push(0);
    let crc = crc32fast::hash(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}

/// Replica 2 claims to hold everything of replica 0's: relay 1 stops sending it 0's deltas,
/// but honest replica 3, behind the same relay, still gets every one of them; and the liar,
/// once quiet, is repaired by a fingerprint mismatch and converges anyway.
#[test]
fn a_peer_lying_about_what_it_holds_starves_only_itself() {
    let mut sim = Sim::<Set>::new(0x5e1a_0005, 4, &config(true), 0, Faults::NONE);
    // 0 — 1 — {2, 3}; 2 also links to 0, but that link is cut: it hears from 0 through 1 only.
    sim.connect(0, 1);
    sim.connect(1, 2);
    sim.connect(1, 3);
    sim.connect(0, 2);
    sim.run_until_quiescent(1, 1_000).unwrap();
    insert(&mut sim, 0, 1);
    sim.run_until_quiescent(1, 1_000).unwrap();
    sim.cut(0, 2);
    // The lie: "I hold replica 0's state up to its sequence number 2^40".
    let lie = holds_frame(&[(id(0), 1 << 40)]);
    sim.nodes[1].engine.receive(id(2), &lie).unwrap();
    for k in 10..20 {
        insert(&mut sim, 0, k);
        sim.step(1);
    }
    for _ in 0..200 {
        sim.step(1);
    }
    let honest = sim.nodes[3].engine.state();
    assert!(
        (10..20).all(|k| honest.contains(&k)),
        "honest 3 misses updates"
    );
    let liar = sim.nodes[2].engine.state();
    assert!(
        (10..20).all(|k| !liar.contains(&k)),
        "the lie was not believed"
    );
    assert!(sim.nodes[1].engine.stats().relays_skipped >= 1);
    // Repair (fingerprints of quiet sessions, after 1 s) heals the liar.
    for _ in 0..400 {
        sim.step(10);
        if (10..20).all(|k| sim.nodes[2].engine.state().contains(&k)) {
            return;
        }
    }
    panic!("the liar was never repaired");
}
