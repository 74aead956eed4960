//! Two replicas edit a shared document concurrently — a counter, a set and a nested map — swap
//! only their deltas, and converge.
//!
//! Run with `cargo run --example quickstart`.
#![allow(clippy::print_stdout, reason = "an example prints its results")]

use deltacrdt::{Delta, Doc, Hlc, Lattice, ReplicaId};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (alice, bob) = (ReplicaId::random(), ReplicaId::random());
    let mut alice_clock = Hlc::builder(alice).build()?;
    let mut bob_clock = Hlc::builder(bob).build()?;
    let (mut a, mut b) = (Doc::default(), Doc::default());

    // Alice's edits, each returning a delta; she groups them into one delta-group to ship.
    let mut from_alice = Delta::new(Doc::default());
    from_alice.join(a.increment(alice, &["likes"], 3)?);
    from_alice.join(a.insert(alice, &["tags"], "crdt".into())?);
    from_alice.join(a.set(
        alice_clock.now()?,
        &["task", "title"],
        "Write the README".into(),
    )?);
    from_alice.join(a.set_flag(alice, &["task", "urgent"], true)?);

    // Bob edits the same fields at the same time, without having seen Alice.
    let mut from_bob = Delta::new(Doc::default());
    from_bob.join(b.increment(bob, &["likes"], 2)?);
    from_bob.join(b.insert(bob, &["tags"], "rust".into())?);
    from_bob.join(b.set(bob_clock.now()?, &["task", "owner"], "bob".into())?);
    from_bob.join(b.insert(bob, &["task", "labels"], "docs".into())?);

    let sizes = (encoded_len(&from_alice), encoded_len(&from_bob));
    let full = encoded_len(&a);

    // Exchange the delta-groups (in any order, any number of times: joins are idempotent).
    a.apply(from_bob.clone());
    b.apply(from_alice);
    a.apply(from_bob);

    println!("alice: {}", a.to_json());
    println!("bob:   {}", b.to_json());
    println!("converged: {}", a == b);
    println!(
        "delta-groups shipped: alice {} B, bob {} B; alice's full state was {} B",
        sizes.0, sizes.1, full
    );
    if a != b {
        return Err("replicas diverged".into());
    }
    Ok(())
}

/// Serialized size with postcard (the versioned wire format arrives with the sync layer).
fn encoded_len<T: serde::Serialize>(value: &T) -> usize {
    postcard::to_allocvec(value).map_or(0, |v| v.len())
}
