//! The writes of a document stamped beyond a bound: what a sync engine holds back from a
//! peer whose clock runs ahead (see `sync/skew.rs`).

use crate::causal::dot_store::CausalParts;
use crate::causal::reconcile::Beyond;
use crate::causal::{CausalContext, Dot};
use crate::clock::Timestamp;
use crate::crdt::OrMap;

use super::Doc;
use super::field::{Field, FieldKey};

impl Doc {
    /// Every register write of `self` stamped beyond `bound`, and the dots `state` holds at
    /// those registers that `self`'s context covers (what those writes supersede there).
    pub(crate) fn beyond(&self, bound: Timestamp, state: &Self) -> Beyond {
        let mut found = Beyond::default();
        let contexts = (self.context(), state.context());
        walk(self.root(), Some(state.root()), contexts, bound, &mut found);
        found
    }
}

type Map = OrMap<FieldKey, Field>;

fn walk(
    map: &Map,
    theirs: Option<&Map>,
    contexts: (&CausalContext, &CausalContext),
    bound: Timestamp,
    found: &mut Beyond,
) {
    let (ctx, their_ctx) = contexts;
    for (key, field) in map.iter() {
        let other = theirs.and_then(|m| m.get(key));
        match field {
            Field::Register(register) => {
                let writes = register.store().iter();
                let mut held = Vec::new();
                for (dot, (stamp, _)) in writes {
                    let time = stamp.time;
                    if time > bound {
                        held.push(ctx.to_dot(*dot));
                        found.earliest = Some(found.earliest.map_or(time, |t| t.min(time)));
                    } else {
                        found.within = Some(found.within.map_or(time, |t| t.max(time)));
                    }
                }
                if held.is_empty() {
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
                found.held.extend(held);
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
