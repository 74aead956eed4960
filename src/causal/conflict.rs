//! One dot, two contents: finding and taking apart the dots two values hold in different places.
//!
//! A dot names one write. Two values can hold the same dot with different content only if the
//! dot was issued twice: a replica id reused by a copy that kept editing (a restored backup, a
//! copied directory, two tabs resuming one save) or a forged value. The join cannot see it: each
//! side's context covers the other's copy of the dot, which it does not hold there, so the join
//! drops the dot from both — a committed write lost without a word. The sync engine therefore
//! looks for such dots before it joins ([`conflicts`]) and takes them apart with the operations
//! here: the part of a value at some dots ([`at_dots`]), a value that has never seen them
//! ([`forget_dots`]), and a part written again under a fresh replica id ([`reissued`]).
//!
//! # Cost
//! [`conflicts`] probes our dot index once per dot the incoming value holds (a delta holding
//! only new dots costs that and nothing else); only when some dot is held by both does it
//! compare the two parts at those dots. The npm module (`small_code`) keeps no index and builds
//! a set of our dots instead: one pass over our store per call.

use super::CausalContext;
use super::dot::{ActorMap, Dot, LocalDot};
use super::dot_store::{self, Causal, INDEXED, SEAL, StoreOps};
use crate::id::ReplicaId;
use crate::platform::hash::HashSet;

/// The dots that `x` and `d` both hold with different content there (element, key path or
/// value), in no particular order; empty when every dot both hold means the same write.
pub(crate) fn conflicts<T: Causal>(x: &T, d: &T) -> Vec<Dot> {
    let (cx, cd) = (x.context(), d.context());
    let ours: Option<HashSet<LocalDot>> = (!INDEXED).then(|| {
        let mut set = HashSet::default();
        x.store().for_each_dot(&mut |l| {
            set.insert(l);
        });
        set
    });
    let mut shared = Vec::new();
    d.store().for_each_dot(&mut |theirs| {
        let dot = cd.to_dot(theirs);
        let Some(actor) = cx.actor(dot.replica) else {
            return;
        };
        let local = LocalDot::new(actor, dot.counter);
        let held = match &ours {
            Some(set) => set.contains(&local),
            None => x.store().holds(local),
        };
        if held {
            shared.push(dot);
        }
    });
    if shared.is_empty() || dot_store::eq(&at_dots(x, &shared), &at_dots(d, &shared)) {
        return Vec::new();
    }
    // Some shared dot differs: find which (rare, so one comparison per shared dot).
    shared.retain(|&dot| !dot_store::eq(&at_dots(x, &[dot]), &at_dots(d, &[dot])));
    shared
}

/// `dots` laid out in `ctx`'s table (dots of replicas it does not know are left out).
fn events_in(ctx: &CausalContext, dots: &[Dot]) -> CausalContext {
    let local = dots
        .iter()
        .filter_map(|dot| Some(LocalDot::new(ctx.actor(dot.replica)?, dot.counter)))
        .collect();
    context_of(ctx, local)
}

/// A context in `table`'s layout that has seen exactly `dots`. They go in sorted: inserted in
/// any other order (a store's hash order), each could shift the whole cloud, O(n²) in all.
fn context_of(table: &CausalContext, mut dots: Vec<LocalDot>) -> CausalContext {
    crate::platform::sort::sort_unstable(&mut dots);
    let mut ctx = table.blank();
    for d in dots {
        ctx.insert_local(d);
    }
    ctx
}

/// The dots `store` holds.
fn dots_of<S: StoreOps>(store: &S) -> Vec<LocalDot> {
    let mut dots = Vec::new();
    store.for_each_dot(&mut |l| dots.push(l));
    dots
}

/// The part of `value` at `dots`: the entries holding those of them it holds, with exactly
/// those dots, under a context of exactly those dots (in a table of their replicas only).
pub(crate) fn at_dots<T: Causal>(value: &T, dots: &[Dot]) -> T {
    let events = events_in(value.context(), dots);
    let mut store = value.store().restrict(&events, SEAL);
    let held = context_of(value.context(), dots_of(&store));
    let (held, map) = held.project(|a| held.events_of(a) > 0);
    store.remap(&map, SEAL);
    T::from_parts(store, held, SEAL)
}

/// Forgets `dots`: drops them from the store and from the context, so a later join takes
/// whatever another value holds at them.
pub(crate) fn forget_dots<T: Causal>(value: &mut T, dots: &[Dot]) {
    let events = events_in(value.context(), dots);
    value
        .store_mut(SEAL)
        .retain_dots(&mut |l| !events.contains_local(l), SEAL);
    let rest = value.context().difference(&events);
    *value.context_mut(SEAL) = rest;
}

/// `part` written again by `replica` (a fresh id nobody else issues under): every dot keeps its
/// counter and moves to `replica`. The dots of `part` must have distinct counters (one dot, or
/// dots of one replica), or two of them would become one.
pub(crate) fn reissued<T: Causal>(part: T, replica: ReplicaId) -> T {
    let (mut store, ctx) = part.into_parts();
    let mut fresh = CausalContext::default();
    let actor = fresh.intern(replica);
    store.remap(&ActorMap(vec![actor; ctx.table_len()]), SEAL);
    let fresh = context_of(&fresh, dots_of(&store));
    T::from_parts(store, fresh, SEAL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::OrSet;
    use crate::lattice::Lattice;

    fn r(n: u128) -> ReplicaId {
        ReplicaId::from_u128(n)
    }

    #[test]
    fn a_dot_held_for_two_elements_is_found_and_taken_apart() {
        let mut original = OrSet::<u64>::default();
        let _ = original.insert(r(1), 1);
        let _ = original.insert(r(2), 7);
        let mut copy = OrSet::<u64>::default();
        let _ = copy.insert(r(1), 2);
        let _ = copy.insert(r(2), 7);
        let found = conflicts(&original, &copy);
        assert_eq!(found, [Dot::new(r(1), 1)]);
        assert!(conflicts(&original, &original.clone()).is_empty());

        // Our part re-issued under a fresh id, theirs adopted: both writes survive.
        let ours = at_dots(&original, &found);
        assert_eq!(ours.iter().collect::<Vec<_>>(), [&1]);
        let again = reissued(ours, r(9));
        assert!(again.context().contains(Dot::new(r(9), 1)));
        forget_dots(&mut original, &found);
        assert!(!original.context().contains(Dot::new(r(1), 1)));
        original.join(again);
        original.join(copy);
        let mut held: Vec<u64> = original.iter().copied().collect();
        crate::platform::sort::sort_unstable(&mut held);
        assert_eq!(held, [1, 2, 7]);
    }

    #[test]
    fn dots_of_unknown_replicas_and_new_dots_are_no_conflict() {
        let mut a = OrSet::<u64>::default();
        let _ = a.insert(r(1), 1);
        let mut b = a.clone();
        let _ = b.insert(r(1), 2);
        let _ = b.insert(r(3), 3);
        assert!(conflicts(&a, &b).is_empty());
        assert!(conflicts(&b, &a).is_empty());
    }
}
