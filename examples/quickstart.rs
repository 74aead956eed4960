//! Two replicas edit a shared document concurrently — a counter, a set and a nested map — and
//! sync through the sans-IO engine over an in-memory network, shipping only deltas.
//!
//! Run with `cargo run --example quickstart`.
#![allow(clippy::print_stdout, reason = "an example prints its results")]

use deltacrdt::{Doc, Error, Hlc, MemoryNetwork, ReplicaId, SyncEngine, encode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (alice, bob) = (ReplicaId::random(), ReplicaId::random());
    let net = MemoryNetwork::default();
    let (mut alice_link, mut bob_link) = (net.endpoint(alice), net.endpoint(bob));
    let mut a = SyncEngine::<Doc>::new(Hlc::builder(alice).build()?);
    let mut b = SyncEngine::<Doc>::new(Hlc::builder(bob).build()?);
    a.connect(bob);
    b.connect(alice);

    // Concurrent edits: neither has seen the other's. Each mutator returns a delta, which the
    // engine buffers for its peers.
    a.update(|doc, _| doc.increment(alice, &["likes"], 3))?;
    a.update(|doc, _| doc.insert(alice, &["tags"], "crdt".into()))?;
    a.update(|doc, hlc| -> Result<_, Error> {
        Ok(doc.set(hlc.now()?, &["task", "title"], "Write the README".into())?)
    })?;
    a.update(|doc, _| doc.set_flag(alice, &["task", "urgent"], true))?;
    b.update(|doc, _| doc.increment(bob, &["likes"], 2))?;
    b.update(|doc, _| doc.insert(bob, &["tags"], "rust".into()))?;
    b.update(|doc, hlc| -> Result<_, Error> {
        Ok(doc.set(hlc.now()?, &["task", "owner"], "bob".into())?)
    })?;
    b.update(|doc, _| doc.insert(bob, &["task", "labels"], "docs".into()))?;

    // Drive both engines until neither has anything left to send.
    for now in 0.. {
        let pa = a.pump(&mut alice_link, now)?;
        let pb = b.pump(&mut bob_link, now)?;
        if pa.sent + pa.received + pb.sent + pb.received == 0 {
            break;
        }
    }

    println!("alice: {}", a.state().to_json());
    println!("bob:   {}", b.state().to_json());
    println!("converged: {}", a.state() == b.state());
    for (name, engine) in [("alice", &a), ("bob", &b)] {
        let stats = engine.stats();
        let sent = stats.sent.total();
        println!(
            "{name} sent {} frames, {} B ({} B of deltas); full states: {}",
            sent.messages,
            sent.bytes,
            stats.sent.delta.bytes,
            stats.full_states.total()
        );
    }
    println!(
        "the whole document encodes to {} B",
        encode(a.state())?.len()
    );
    if a.state() != b.state() {
        return Err("replicas diverged".into());
    }
    Ok(())
}
