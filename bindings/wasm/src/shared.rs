//! The engine a `Doc` and its refs share, and the subscribers told of changes.

use core::cell::RefCell;

use deltacrdt::{Delta, Doc, Edit, Hlc, Kind, Lattice, ReplicaId, SyncEngine, Value};
use js_sys::Function;
use wasm_bindgen::JsValue;

use crate::convert::Js;
use crate::doc::{changeEvent, syncEvent};
use crate::error::{Code, Failure, Result};

/// The deepest path a ref may address. Map levels and register-value levels share the
/// decoder's nesting bound ([`deltacrdt::MAX_NESTING`]); 32 map levels leave room for register
/// values nested [`crate::convert::MAX_VALUE_DEPTH`] deep.
pub(crate) const MAX_PATH: usize = 32;

/// A local edit of the field at a path: the core's [`Edit`], or a register write still to be
/// stamped by the replica's clock.
#[derive(Debug)]
pub(crate) enum Op {
    /// Write a register (stamped when applied).
    Write(Value),
    /// Any other edit.
    Edit(Edit),
}

fn apply(doc: &mut Doc, hlc: &mut Hlc, path: &[String], op: Op) -> Result<Delta<Doc>> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let edit = match op {
        Op::Write(value) => Edit::Write(hlc.now()?, value),
        Op::Edit(edit) => edit,
    };
    doc.apply_edit(hlc.replica(), &path, edit)
        .map_err(|e| Failure::new(Code::Path, e.to_string()))
}

/// One replica: its engine and its subscribers, each in its own cell so a subscriber can read
/// or edit the document while being told of a change.
#[derive(Debug)]
pub(crate) struct Shared {
    engine: RefCell<SyncEngine<Doc>>,
    subscribers: RefCell<Subscribers>,
    /// Subscribers to the peers' sync state, and the state they were last told, per peer:
    /// `(peer, acked, synced)`.
    sync_subscribers: RefCell<Subscribers>,
    told: RefCell<Vec<(ReplicaId, Option<u64>, bool)>>,
}

/// Where a change came from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Origin {
    /// A local edit.
    Local,
    /// A frame `receive`d from this peer.
    Remote(ReplicaId),
}

/// The sync state of a peer as JS sees it: `{ peer, acked, synced }`.
pub(crate) fn sync_event((peer, acked, synced): (ReplicaId, Option<u64>, bool)) -> JsValue {
    // Sequence numbers stay far below 2^53: exact as JS numbers.
    #[allow(clippy::cast_precision_loss)]
    syncEvent(peer.to_string(), acked.map(|a| a as f64), synced)
}

/// Every peer's `(peer, acked, synced)`: synced when it acknowledged everything we have.
pub(crate) fn sync_state(engine: &SyncEngine<Doc>) -> Vec<(ReplicaId, Option<u64>, bool)> {
    let seq = engine.seq();
    engine
        .peers()
        .map(|peer| {
            let acked = engine.acks().find(|(p, _)| *p == peer).map(|(_, a)| a);
            (peer, acked, acked.unwrap_or(0) >= seq)
        })
        .collect()
}

#[derive(Debug, Default)]
struct Subscribers {
    next: u32,
    list: Vec<(u32, Function)>,
}

impl Shared {
    pub(crate) fn new(engine: SyncEngine<Doc>) -> Self {
        Self {
            engine: RefCell::new(engine),
            subscribers: RefCell::new(Subscribers::default()),
            sync_subscribers: RefCell::new(Subscribers::default()),
            told: RefCell::new(Vec::new()),
        }
    }

    /// Reads the engine.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&SyncEngine<Doc>) -> R) -> Result<R> {
        let engine = self.engine.try_borrow().map_err(|_| Failure::busy())?;
        Ok(f(&engine))
    }

    /// Changes the engine; `f` must leave it unchanged when it fails.
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut SyncEngine<Doc>) -> Result<R>) -> Result<R> {
        let mut engine = self.engine.try_borrow_mut().map_err(|_| Failure::busy())?;
        f(&mut engine)
    }

    /// Applies a local edit at `path`, then tells the subscribers (after the borrow is
    /// released). Every edit goes through this one function, so the engine's generic `update`
    /// is instantiated once (each closure type would add a copy to the module).
    pub(crate) fn edit(&self, path: &[String], op: Op) -> Result<()> {
        self.edit_all(path, vec![op])
    }

    /// Applies every edit of `ops` at `path` as **one** change: one delta (one message per
    /// peer), one change event. The edits are checked by their callers first, and all address
    /// one field, so the first fails if any does, and then nothing changed.
    pub(crate) fn edit_all(&self, path: &[String], ops: Vec<Op>) -> Result<()> {
        self.write(|engine| {
            engine.update(|doc, hlc| {
                let mut delta = Doc::default();
                for op in ops {
                    delta.join(apply(doc, hlc, path, op)?.into_inner());
                }
                Ok(Delta::new(delta))
            })
        })?;
        self.notify(Origin::Local);
        self.notify_sync();
        Ok(())
    }

    /// Adds a change subscriber (`sync: false`) or a sync-state one (`true`); returns its id.
    pub(crate) fn subscribe(&self, callback: Function, sync: bool) -> Result<u32> {
        let list = if sync {
            &self.sync_subscribers
        } else {
            &self.subscribers
        };
        if sync {
            // Told from now on: changes after this call (`syncState` says how things stand).
            let now = self.read(sync_state)?;
            *self.told.try_borrow_mut().map_err(|_| Failure::busy())? = now;
        }
        let mut subs = list.try_borrow_mut().map_err(|_| Failure::busy())?;
        let id = subs.next;
        subs.next = subs.next.wrapping_add(1);
        subs.list.push((id, callback));
        Ok(id)
    }

    /// Removes a subscriber (no-op if already gone or if the list is busy being copied).
    pub(crate) fn unsubscribe(&self, id: u32, sync: bool) {
        let list = if sync {
            &self.sync_subscribers
        } else {
            &self.subscribers
        };
        if let Ok(mut subs) = list.try_borrow_mut() {
            subs.list.retain(|(i, _)| *i != id);
        }
    }

    /// Tells every change subscriber where a change came from.
    pub(crate) fn notify(&self, origin: Origin) {
        let peer = match origin {
            Origin::Local => None,
            Origin::Remote(peer) => Some(peer.to_string()),
        };
        call_all(&self.subscribers, &changeEvent(peer));
    }

    /// Tells the sync-state subscribers of every peer whose acknowledgement or synced state
    /// changed since they were last told (after edits, frames, connects and disconnects).
    pub(crate) fn notify_sync(&self) {
        // Nobody listens: nothing to compute (a new subscriber starts from the state then).
        if self
            .sync_subscribers
            .try_borrow()
            .map_or(true, |s| s.list.is_empty())
        {
            return;
        }
        let Ok(now) = self.read(sync_state) else {
            return;
        };
        let changed: Vec<JsValue> = match self.told.try_borrow_mut() {
            Ok(mut told) => {
                let changed = now
                    .iter()
                    .filter(|state| !told.contains(state))
                    .map(|&state| sync_event(state))
                    .collect();
                *told = now;
                changed
            }
            Err(_) => return,
        };
        for event in changed {
            call_all(&self.sync_subscribers, &event);
        }
    }
}

/// Calls every subscriber in `list` with `event`. The list is copied first and no borrow is
/// held during the calls, so a subscriber may edit the document, subscribe or unsubscribe. A
/// subscriber that throws does not stop the others; its exception is dropped.
fn call_all(list: &RefCell<Subscribers>, event: &JsValue) {
    let callbacks: Vec<Function> = match list.try_borrow() {
        Ok(subs) => subs.list.iter().map(|(_, f)| f.clone()).collect(),
        Err(_) => return,
    };
    for callback in callbacks {
        let _ = callback.call1(&JsValue::UNDEFINED, event);
    }
}

/// A place in a document: the shared replica and the path of map names leading to it (empty
/// for the document's root). `Doc` and `MapRef` hand out refs below their place.
#[derive(Clone, Debug)]
pub(crate) struct Place {
    pub(crate) shared: std::rc::Rc<Shared>,
    pub(crate) path: Vec<String>,
}

impl Place {
    /// The place of `name` below this one.
    ///
    /// # Errors
    /// `PATH` past [`MAX_PATH`] names.
    pub(crate) fn child(&self, name: &str) -> Result<Self> {
        if self.path.len() >= MAX_PATH {
            return Err(Failure::new(
                crate::error::Code::Path,
                format!("paths are limited to {MAX_PATH} names"),
            ));
        }
        let mut path = self.path.clone();
        path.push(name.to_owned());
        Ok(Self {
            shared: self.shared.clone(),
            path,
        })
    }

    /// Applies `op` to the field at this place.
    pub(crate) fn edit(&self, op: Op) -> Result<()> {
        self.shared.edit(&self.path, op)
    }

    /// Applies `ops` to the field at this place as one change (see [`Shared::edit_all`]).
    pub(crate) fn edit_all(&self, ops: Vec<Op>) -> Result<()> {
        self.shared.edit_all(&self.path, ops)
    }

    /// The path as the core's `&[&str]`.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.path.iter().map(String::as_str).collect()
    }

    /// The field of `kind` at this place as a plain JS value, as `toJSON()` renders it, or
    /// `absent` if there is none.
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    pub(crate) fn render(&self, kind: Kind, absent: fn(&mut Js) -> JsValue) -> Result<JsValue> {
        let path = self.names();
        self.shared.read(|engine| {
            Js::build(|js| {
                engine
                    .state()
                    .render_field(&path, kind, js)
                    .unwrap_or_else(|| absent(js))
            })
        })?
    }

    /// Deletes the field `name` (of every kind) below this place.
    pub(crate) fn delete(&self, name: &str) -> Result<()> {
        let target = self.child(name)?;
        self.shared.edit(&target.path, Op::Edit(Edit::Delete))
    }
}
