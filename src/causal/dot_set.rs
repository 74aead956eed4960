//! `DotSet` and `DotFun`: the small dot stores behind flags, registers and counters.

use super::CausalContext;
use super::context::Seen;
use super::dot::{ActorMap, LocalDot};
use super::dot_store::{DeltaContext, DotStore, JoinMode, Seal};
use core::ops::ControlFlow;

/// The causal join of two dot sets: a dot survives if both hold it, or if the side lacking it
/// has never seen it (`(s ∩ s') ∪ (s \ c') ∪ (s' \ c)`). Inputs and output are sorted by dot.
pub(crate) fn join_dots<V>(
    mine: Vec<(LocalDot, V)>,
    ours: &Seen<'_>,
    theirs_entries: Vec<(LocalDot, V)>,
    theirs: &Seen<'_>,
) -> Vec<(LocalDot, V)> {
    let mut out = Vec::with_capacity(mine.len().max(theirs_entries.len()));
    let mut a = mine.into_iter().peekable();
    let mut b = theirs_entries.into_iter().peekable();
    loop {
        match (a.peek(), b.peek()) {
            (Some((x, _)), Some((y, _))) if x == y => {
                out.extend(a.next());
                b.next();
            }
            (Some((x, _)), Some((y, _))) if x > y => {
                if let Some((d, v)) = b.next().filter(|(d, _)| !ours.contains(*d)) {
                    out.push((d, v));
                }
            }
            (Some(_), _) => {
                if let Some((d, v)) = a.next().filter(|(d, _)| !theirs.removes(*d)) {
                    out.push((d, v));
                }
            }
            (None, Some(_)) => {
                if let Some((d, v)) = b.next().filter(|(d, _)| !ours.contains(*d)) {
                    out.push((d, v));
                }
            }
            (None, None) => break,
        }
    }
    out
}

/// Dots tagged with a value, sorted by dot: the store of registers, remove-wins sets and flags.
///
/// Values of one dot never differ (a dot is written once), so a join keeps either.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(transparent, bound(deserialize = "V: serde::Deserialize<'de>"))
)]
pub struct DotFun<V> {
    #[cfg_attr(feature = "serde", serde(deserialize_with = "crate::bounded::vec"))]
    pub(crate) entries: Vec<(LocalDot, V)>,
}

impl<V> Default for DotFun<V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<V> DotFun<V> {
    /// A store with the single entry `dot ↦ value`.
    pub(crate) fn single(dot: LocalDot, value: V) -> Self {
        Self {
            entries: vec![(dot, value)],
        }
    }

    /// Replaces every observed entry with `value` under a fresh dot of `replica`; returns the
    /// delta's parts: the new entry and a context covering it and the replaced dots.
    pub(crate) fn replace(
        &mut self,
        ctx: &mut CausalContext,
        replica: crate::id::ReplicaId,
        value: V,
    ) -> (Self, CausalContext)
    where
        V: Clone,
    {
        let mut delta = DeltaContext::default();
        for (d, _) in self.entries.drain(..) {
            delta.cover(ctx, d);
        }
        let dot = ctx.issue(replica);
        let shipped = delta.cover(ctx, dot);
        self.entries.push((dot, value.clone()));
        (Self::single(shipped, value), delta.finish())
    }

    /// Removes every observed entry; returns the delta's parts (no entry, the removed dots).
    pub(crate) fn clear(&mut self, ctx: &CausalContext) -> (Self, CausalContext) {
        let mut delta = DeltaContext::default();
        for (d, _) in self.entries.drain(..) {
            delta.cover(ctx, d);
        }
        (Self::default(), delta.finish())
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &(LocalDot, V)> {
        self.entries.iter()
    }
}

impl<V: Clone + PartialEq + core::fmt::Debug> DotStore for DotFun<V> {}

impl<V: Clone + PartialEq + core::fmt::Debug> crate::causal::dot_store::StoreOps for DotFun<V> {
    crate::causal::dot_store::wire_is_self!();

    fn is_bottom(&self) -> bool {
        self.entries.is_empty()
    }

    fn holds(&self, dot: LocalDot) -> bool {
        self.entries.binary_search_by_key(&dot, |(d, _)| *d).is_ok()
    }

    fn dot_count(&self) -> usize {
        self.entries.len()
    }

    fn restrict(&self, events: &CausalContext, _: Seal) -> Self {
        // Small by nature (a register's or flag's concurrent dots): one pass.
        Self {
            entries: self
                .entries
                .iter()
                .filter(|(d, _)| events.contains_local(*d))
                .cloned()
                .collect(),
        }
    }

    #[cfg(feature = "reconcile")]
    fn for_each_dot_digest(&self, f: &mut dyn FnMut(LocalDot, u64)) {
        for (d, v) in &self.entries {
            f(*d, crate::platform::hash::stable_debug_hash(v));
        }
    }

    fn try_for_each_dot(&self, f: &mut dyn FnMut(LocalDot) -> ControlFlow<()>) -> ControlFlow<()> {
        self.entries.iter().try_for_each(|(d, _)| f(*d))
    }

    fn remap(&mut self, map: &ActorMap, _: Seal) {
        for (d, _) in &mut self.entries {
            *d = d.remapped(map);
        }
        crate::platform::sort::sort_by_key(&mut self.entries, |(d, _)| *d);
    }

    fn retain_dots(&mut self, keep: &mut dyn FnMut(LocalDot) -> bool, _: Seal) {
        self.entries.retain(|(d, _)| keep(*d));
    }

    fn join_store(&mut self, ours: &Seen<'_>, other: Self, theirs: &Seen<'_>, _: JoinMode) {
        let mine = core::mem::take(&mut self.entries);
        self.entries = join_dots(mine, ours, other.entries, theirs);
    }

    fn validate(&self, ctx: &CausalContext) -> Result<(), super::InvalidContext> {
        if !self
            .entries
            .windows(2)
            .all(|w| matches!(w, [(a, _), (b, _)] if a < b))
        {
            return Err(super::InvalidContext::NotCanonical(
                "dots not strictly increasing",
            ));
        }
        self.entries.iter().try_for_each(|(d, _)| ctx.check_dot(*d))
    }
}

/// A plain set of dots: the store of the enable-wins flag.
pub(crate) type DotSet = DotFun<()>;
