//! The lattice laws (DESIGN §2, §9.2) for every replicated type: one generic function per law in
//! `support`, each called here once per type on values built by replaying random histories on
//! three replicas (replica states, deltas, delta-groups, shipped states and bottom).
//! Redundant-state removal (`Lattice::novelty`) is checked against values as they are, decoded
//! (hints dropped, as a peer receives them), and single-operation deltas new to or already in
//! the state.
//!
//! Every test runs 256 cases; each case replays two histories of up to 40 steps (`HISTORY`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::collections::BTreeSet;

use crate::support::*;
use deltacrdt::{
    Causal, CausalCounter, Doc, DwFlag, EwFlag, GCounter, GSet, LwwMap, LwwRegister, MvRegister,
    OrMap, OrSet, PnCounter, RwSet,
};
use proptest::prelude::*;

/// Checks every law on `[a, b, c]` (drawn from one history) and on the mutation `x → m(x)`.
macro_rules! check_laws {
    ($a:ident, $b:ident, $c:ident, $x:ident, $mx:ident, $delta:ident) => {
        commutative(&$a, &$b)?;
        associative(&$a, &$b, &$c)?;
        idempotent(&$a)?;
        bottom_is_identity(&$a)?;
        inflation(&$a, &$b)?;
        delta_groups_agree(&$a, &$b, &$c)?;
        delta_law(&$x, &$mx, &$delta)?;
        bottom_is_identity(&*$delta)?;
        serde_roundtrip(&$a)?;
        serde_roundtrip(&$delta)?;
        novelty_is_the_new_part(&$a, &$b, &$c)?;
        novelty_is_the_new_part(&$a, &decoded(&$b)?, &$c)?;
        novelty_is_the_new_part(&$a, &group(&$c, &$b), &$b)?;
        novelty_is_the_new_part(&$x, &*$delta, &$mx)?;
        novelty_is_the_new_part(&$mx, &*$delta, &$x)?;
    };
}

/// One proptest per type: `$name` checks every law on `$ty`, then runs the extra checks
/// `$extra(a, b)` (an element-wise inflation check for observed-remove types).
macro_rules! laws {
    ($($name:ident: $ty:ty $(=> $extra:expr)?;)*) => {
        proptest! {
            #![proptest_config(config(256))]
            $(
                #[test]
                fn $name([a, b, c] in values::<$ty, 3>(), (x, mx, delta) in mutation::<$ty>()) {
                    check_laws!(a, b, c, x, mx, delta);
                    $( causal_inflation(&a, &b, $extra)?; )?
                }
            )*
        }
    };
}

/// The delta-group `a ⊔ b`, with its hints.
fn group<T: deltacrdt::Lattice>(a: &T, b: &T) -> T {
    let mut g = a.clone();
    g.join_delta_group(b.clone());
    g
}

fn elements<'a, E: Ord + Copy + 'a>(it: impl Iterator<Item = &'a E>) -> BTreeSet<E> {
    it.copied().collect()
}

laws! {
    g_counter_laws: GCounter;
    pn_counter_laws: PnCounter;
    g_set_laws: GSet<u8>;
    lww_register_laws: LwwRegister<u8>;
    lww_map_laws: LwwMap<u8, u8>;
    or_set_laws: OrSet<u8> => |s: &OrSet<u8>| elements(s.iter());
    rw_set_laws: RwSet<u8>;
    mv_register_laws: MvRegister<u8> => |r: &MvRegister<u8>| elements(r.values());
    ew_flag_laws: EwFlag => |f: &EwFlag| BTreeSet::from_iter(f.value().then_some(()));
    dw_flag_laws: DwFlag;
    causal_counter_laws: CausalCounter;
    or_map_of_or_sets_laws: OrMap<u8, OrSet<u8>> => |m: &OrMap<u8, OrSet<u8>>| elements(m.keys());
    or_map_of_rw_sets_laws: OrMap<u8, RwSet<u8>> => |m: &OrMap<u8, RwSet<u8>>| elements(m.keys());
    or_map_of_mv_registers_laws: OrMap<u8, MvRegister<u8>> => |m: &OrMap<u8, MvRegister<u8>>| elements(m.keys());
    or_map_of_causal_counters_laws: OrMap<u8, CausalCounter> => |m: &OrMap<u8, CausalCounter>| elements(m.keys());
    or_map_of_ew_flags_laws: OrMap<u8, EwFlag> => |m: &OrMap<u8, EwFlag>| elements(m.keys());
    or_map_of_dw_flags_laws: OrMap<u8, DwFlag> => |m: &OrMap<u8, DwFlag>| elements(m.keys());
    nested_or_map_laws: OrMap<u8, OrMap<u8, MvRegister<u8>>> =>
        |m: &OrMap<u8, OrMap<u8, MvRegister<u8>>>| elements(m.keys());
    doc_laws: Doc;
}

// ----- regressions found by the laws above -----

/// A join that removes all but one of an element's concurrent dots must leave the set in
/// canonical form, or two equal sets compare unequal (found as an associativity failure).
#[test]
fn or_set_join_keeps_single_dot_elements_canonical() {
    use deltacrdt::{Lattice, ReplicaId};
    let (r1, r2) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    let mut s1 = OrSet::default();
    let _ = s1.insert(r1, 2u8);
    let mut s2 = OrSet::default();
    let _ = s2.insert(r2, 2u8);
    let mut x = s1.clone().joined(s2.clone()); // 2 has two concurrent dots
    let rm = s1.remove(&2); // r1 removes the dot it observed
    x.apply(rm);
    let y = s2.joined(s1); // the same events, joined the other way
    assert_eq!(x.iter().collect::<Vec<_>>(), [&2]);
    assert_eq!(y.iter().collect::<Vec<_>>(), [&2]);
    assert_eq!(Causal::context(&x), Causal::context(&y));
    assert_eq!(x, y);
}

/// Deleting a document field that is not a flag must reach other replicas: `x ⊔ δ == m(x)`.
#[test]
fn doc_delete_of_a_non_flag_field_propagates() {
    use deltacrdt::{Lattice, ReplicaId};
    let a = ReplicaId::from_u128(1);
    let mut x = Doc::default();
    let _ = x.increment(a, &["likes"], 2).unwrap();
    let _ = x.insert(a, &["m", "tags"], "t".into()).unwrap();
    let mut y = x.clone();
    let d1 = y.delete(a, &["likes"]).unwrap();
    let d2 = y.delete(a, &["m"]).unwrap();
    assert!(y.root().is_empty());
    x.apply(d1);
    x.apply(d2);
    assert_eq!(x.counter(&["likes"]), 0, "the deleted counter survived");
    assert!(
        x.set_at(&["m", "tags"]).is_none(),
        "the deleted map survived"
    );
    assert_eq!(x, y);
}
