//! Size and memory of `deltacrdt` against the `crdts` crate (7.x), measured in the same run.
//!
//! Run with `cargo bench --bench sizes`. It prints:
//! - serialized full state (postcard, through each crate's serde impls) per live element, after
//!   the `set/insert_remove` workload of `crdts.rs` (100,000 random adds then 50,000 removes);
//! - live heap bytes per element of that state, and of a 1,000,000-element set built by one
//!   replica (ours, `Orswot`, and a plain `HashSet<u64>` for reference), counted by a tracking
//!   global allocator (the `cap` crate: our targets forbid `unsafe_code`, which a hand-written
//!   `GlobalAlloc` would need). It lives in its own bench target so the timed benchmarks in
//!   `crdts.rs` do not pay for the counting.
#![allow(
    clippy::print_stdout,
    reason = "the bench prints its size and memory report"
)]
#![allow(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    reason = "benchmark harness"
)]

use std::alloc::System;
use std::collections::HashSet;

use cap::Cap;
use deltacrdt::OrSet;

mod support;
use support::{Orswot, SetOps, SplitMix, orswot_add_all, replica, sorted_ours, sorted_theirs};

/// Counts live heap bytes (`ALLOC.allocated()`), with no limit.
#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

/// Live heap bytes taken by what `build` returns (kept alive until measured).
fn heap_of<T>(build: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOC.allocated();
    let value = build();
    let after = ALLOC.allocated();
    (value, after.saturating_sub(before))
}

fn report() {
    println!("== size and memory report ==");

    let ops = SetOps::new();
    let r = replica(1);
    let ours = ops.ours(r);
    let theirs = ops.theirs(r);
    assert_eq!(sorted_ours(&ours), sorted_theirs(&theirs));
    let live = ours.len();
    let ours_bytes = postcard::to_stdvec(&ours).unwrap().len();
    let theirs_bytes = postcard::to_stdvec(&theirs).unwrap().len();
    println!(
        "serialized full state (postcard), 100k adds + 50k removes, {live} live elements:\n  \
         deltacrdt OrSet<u64>: {ours_bytes} bytes = {:.2} B/element\n  \
         crdts Orswot<u64, Uuid>: {theirs_bytes} bytes = {:.2} B/element  (ratio crdts/ours {:.2}x)",
        ours_bytes as f64 / live as f64,
        theirs_bytes as f64 / live as f64,
        theirs_bytes as f64 / ours_bytes as f64,
    );
    let (ours_heap, theirs_heap) = (heap_of(|| ops.ours(r)).1, heap_of(|| ops.theirs(r)).1);
    println!(
        "live heap, same workload ({live} live elements):\n  \
         deltacrdt OrSet<u64>: {:.2} B/element\n  crdts Orswot<u64, Uuid>: {:.2} B/element",
        ours_heap as f64 / live as f64,
        theirs_heap as f64 / live as f64,
    );
    drop((ours, theirs));

    const N: usize = 1_000_000;
    let elements = SplitMix(0x5EED_0003).distinct(N);
    let (set, plain) = heap_of(|| elements.iter().copied().collect::<HashSet<u64>>());
    assert_eq!(set.len(), N);
    drop(set);
    let (set, ours) = heap_of(|| {
        let mut s = OrSet::default();
        for &e in &elements {
            let _ = s.insert(r, e);
        }
        s
    });
    assert_eq!(set.len(), N);
    drop(set);
    let (set, theirs) = heap_of(|| {
        let mut s = Orswot::new();
        orswot_add_all(&mut s, r.as_uuid(), &elements);
        s
    });
    assert_eq!(set.read().val.len(), N);
    drop(set);
    println!(
        "live heap, {N} elements added by one replica:\n  \
         deltacrdt OrSet<u64>: {:.2} B/element\n  \
         crdts Orswot<u64, Uuid>: {:.2} B/element  (ratio crdts/ours {:.2}x)\n  \
         std HashSet<u64> (reference): {:.2} B/element",
        ours as f64 / N as f64,
        theirs as f64 / N as f64,
        theirs as f64 / ours as f64,
        plain as f64 / N as f64,
    );
    println!();
}

fn main() {
    report();
}
