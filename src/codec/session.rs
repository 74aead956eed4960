//! Per-frame state that serde cannot pass down: the replica table, the decode budget, the
//! greatest timestamp seen, and the first typed fault.
//!
//! serde gives a `Serialize`/`Deserialize` impl no way to receive context from its caller, so a
//! frame's encoder and decoder install a session in a thread-local for the duration of one
//! value. Inside it, every [`ReplicaId`] is written as a varint index into the frame's replica
//! table (1 byte instead of 16 for the first 128 replicas), every element decoded is charged to
//! the [`DecodeLimits`](super::DecodeLimits) budget, and every [`Timestamp`] decoded is recorded
//! so the sync engine can check the greatest one for drift before applying anything. Outside a
//! session (plain serde, e.g. JSON) none of this happens.

use core::cell::RefCell;

use foldhash::HashMap;

use crate::causal::InvalidContext;
use crate::{ReplicaId, Timestamp};

/// A limit or validation failure met inside a decode, kept typed (serde errors are strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    TooManyElements { max: usize },
    TooDeep { max: u32 },
    UnknownReplica { index: u64, table: usize },
    Invalid(InvalidContext),
}

enum Session {
    Encode {
        table: Vec<ReplicaId>,
        index: HashMap<ReplicaId, u32>,
    },
    Decode {
        table: Vec<ReplicaId>,
        elements_left: usize,
        max_elements: usize,
        max_depth: u32,
        max_timestamp: Option<Timestamp>,
        fault: Option<Fault>,
    },
}

thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// Restores the previous session (normally none) when an encode or decode ends, even by panic.
struct Restore(Option<Session>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        SESSION.with(|s| *s.borrow_mut() = previous);
    }
}

fn install(session: Session) -> Restore {
    Restore(SESSION.with(|s| s.borrow_mut().replace(session)))
}

fn take() -> Option<Session> {
    SESSION.with(|s| s.borrow_mut().take())
}

/// Runs `f` (a serializer) with replica interning on; returns its result and the table.
pub(crate) fn encoding<R>(f: impl FnOnce() -> R) -> (R, Vec<ReplicaId>) {
    let restore = install(Session::Encode {
        table: Vec::new(),
        index: HashMap::default(),
    });
    let out = f();
    let table = match take() {
        Some(Session::Encode { table, .. }) => table,
        _ => Vec::new(),
    };
    drop(restore);
    (out, table)
}

/// What a decode session learned besides the value.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) max_timestamp: Option<Timestamp>,
    pub(crate) fault: Option<Fault>,
}

/// Runs `f` (a deserializer) against `table` with the given budget.
pub(crate) fn decoding<R>(
    table: Vec<ReplicaId>,
    max_elements: usize,
    max_depth: u32,
    f: impl FnOnce() -> R,
) -> (R, Outcome) {
    let restore = install(Session::Decode {
        table,
        elements_left: max_elements,
        max_elements,
        max_depth,
        max_timestamp: None,
        fault: None,
    });
    let out = f();
    let outcome = match take() {
        Some(Session::Decode {
            max_timestamp,
            fault,
            ..
        }) => Outcome {
            max_timestamp,
            fault,
        },
        _ => Outcome::default(),
    };
    drop(restore);
    (out, outcome)
}

fn with<R>(f: impl FnOnce(Option<&mut Session>) -> R) -> R {
    SESSION.with(|s| f(s.borrow_mut().as_mut()))
}

/// Records `fault` (the first one wins) and returns it as a serde error.
pub(crate) fn fail<E: serde::de::Error>(fault: Fault) -> E {
    let message = super::DecodeError::from(fault.clone()).to_string();
    with(|s| {
        if let Some(Session::Decode { fault: slot, .. }) = s {
            slot.get_or_insert(fault);
        }
    });
    E::custom(message)
}

/// A validation failure as a serde error, kept typed when inside a decode session.
pub(crate) fn invalid<E: serde::de::Error>(err: InvalidContext) -> E {
    fail(Fault::Invalid(err))
}

/// The index to write for `id`, if an encode session is interning replicas.
pub(crate) fn intern(id: ReplicaId) -> Option<u32> {
    with(|s| match s {
        Some(Session::Encode { table, index }) => Some(*index.entry(id).or_insert_with(|| {
            table.push(id);
            u32::try_from(table.len() - 1).unwrap_or(u32::MAX)
        })),
        _ => None,
    })
}

/// Whether a decode session is active (replicas are then read as table indices).
pub(crate) fn decoding_active() -> bool {
    with(|s| matches!(s, Some(Session::Decode { .. })))
}

/// The replica at `index` of the frame's table.
pub(crate) fn lookup<E: serde::de::Error>(index: u64) -> Result<ReplicaId, E> {
    let found = with(|s| match s {
        Some(Session::Decode { table, .. }) => usize::try_from(index)
            .ok()
            .and_then(|i| table.get(i).copied())
            .ok_or(table.len()),
        _ => Err(0),
    });
    found.map_err(|table| fail(Fault::UnknownReplica { index, table }))
}

/// Charges one decoded element to the budget.
pub(crate) fn count_element<E: serde::de::Error>() -> Result<(), E> {
    let over = with(|s| match s {
        Some(Session::Decode {
            elements_left,
            max_elements,
            ..
        }) => match elements_left.checked_sub(1) {
            Some(left) => {
                *elements_left = left;
                None
            }
            None => Some(*max_elements),
        },
        _ => None,
    });
    match over {
        Some(max) => Err(fail(Fault::TooManyElements { max })),
        None => Ok(()),
    }
}

/// The nesting limit of the active decode session, if any.
pub(crate) fn max_depth() -> Option<u32> {
    with(|s| match s {
        Some(Session::Decode { max_depth, .. }) => Some(*max_depth),
        _ => None,
    })
}

/// Records a decoded timestamp (the session keeps the greatest).
pub(crate) fn saw_timestamp(ts: Timestamp) {
    with(|s| {
        if let Some(Session::Decode { max_timestamp, .. }) = s {
            *max_timestamp = Some(max_timestamp.map_or(ts, |m| m.max(ts)));
        }
    });
}
