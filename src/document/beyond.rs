//! The writes of a document stamped beyond a bound: what a sync engine holds back from a
//! peer whose clock runs ahead (see `sync/skew.rs`).

use crate::causal::dot_store::CausalParts;
use crate::causal::reconcile::{Split, hold_dots};
use crate::causal::{CausalContext, Dot};
use crate::clock::Timestamp;
use crate::crdt::OrMap;

use super::Doc;
use super::field::{Field, FieldKey};

impl Doc {
    /// Takes every register write stamped beyond `bound` out of `self` (received, to be joined
    /// into `state`), with the dots `state` holds at those registers that `self`'s context
    /// covers (what those writes supersede there): see [`Reconcile::hold_beyond`].
    ///
    /// [`Reconcile::hold_beyond`]: crate::causal::Reconcile::hold_beyond
    pub(crate) fn hold_beyond(&mut self, bound: Timestamp, state: &Self) -> Split<Self> {
        let mut found = Found {
            split: Split::new(),
            held: Vec::new(),
            superseded: Vec::new(),
        };
        let contexts = (self.context(), state.context());
        walk(self.root(), Some(state.root()), contexts, bound, &mut found);
        let Found {
            split,
            held,
            superseded,
        } = found;
        hold_dots(self, split, &held, &superseded)
    }
}

type Map = OrMap<FieldKey, Field>;

struct Found {
    split: Split<Doc>,
    held: Vec<Dot>,
    superseded: Vec<Dot>,
}

fn walk(
    map: &Map,
    theirs: Option<&Map>,
    contexts: (&CausalContext, &CausalContext),
    bound: Timestamp,
    found: &mut Found,
) {
    let (ctx, their_ctx) = contexts;
    for (key, field) in map.iter() {
        let other = theirs.and_then(|m| m.get(key));
        match field {
            Field::Register(register) => {
                let before = found.held.len();
                for (dot, (stamp, _)) in register.store().iter() {
                    if found.split.note(*stamp, bound) {
                        found.held.push(ctx.to_dot(*dot));
                    }
                }
                if found.held.len() == before {
                    continue;
                }
                if let Some(Field::Register(mine)) = other {
                    let live =
                        |dot: Dot| register.store().iter().any(|(d, _)| ctx.to_dot(*d) == dot);
                    for (dot, _) in mine.store().iter() {
                        let dot = their_ctx.to_dot(*dot);
                        if ctx.contains(dot) && !live(dot) {
                            found.superseded.push(dot);
                        }
                    }
                }
            }
            Field::Map(inner) => {
                let other = match other {
                    Some(Field::Map(m)) => Some(m),
                    _ => None,
                };
                walk(inner, other, contexts, bound, found);
            }
            Field::Counter(_) | Field::Set(_) | Field::Flag(_) => {}
        }
    }
}
