//! `Doc`: one replica of a document, with its sync engine.

use std::rc::Rc;
use std::time::Duration;

use deltacrdt::{Doc, Hlc, ReplicaId, SyncConfig, SyncEngine, decode, encode};
use wasm_bindgen::prelude::*;

use crate::convert::{Js, host_now, millis, random_replica, replica_id};
use crate::error::{Code, Failure, Result};
use crate::save::Saved;
use crate::shared::{Origin, Place, Shared, sync_event, sync_state};
use crate::{CounterRef, FlagRef, MapRef, RegisterRef, SetRef};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Any JSON value: what a register holds. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Options of `new Doc(options)`, `Doc.load(bytes, options)` and `Doc.resume(bytes, options)`. */
export interface DocOptions {
  /** This replica's id, a UUID string (default: random, from `crypto.getRandomValues`). Ignored by `resume`. */
  replicaId?: string;
  /** How far (ms) a remote timestamp may be ahead of the local clock before its frame is refused with `CLOCK_DRIFT` (default 60000). */
  maxDriftMs?: number;
  /** Testing: a frozen physical clock (Unix ms) instead of `Date.now()`, for deterministic bytes. */
  nowMs?: number;
}

/** A frame to carry to a peer. */
export interface Transmit { to: string; bytes: Uint8Array }

/** What `subscribe` callbacks get: where the change came from (`peer`: the replica id `receive` got the frame from). */
export type ChangeEvent = { origin: "local" } | { origin: "remote"; peer: string };

/** A peer's sync state: the highest of our sequence numbers it acknowledged (`null`: none yet), and whether that covers everything this replica has (every local edit and every change it applied). */
export interface SyncEvent { peer: string; acked: number | null; synced: boolean }

/** Messages and bytes. */
export interface Count { messages: number; bytes: number }
/** Traffic in one direction, by frame kind. */
export interface Traffic { hello: Count; delta: Count; state: Count; chunk: Count; ack: Count; invalid: Count; total: Count }
/** Full-state transfers by reason. */
export interface FullStates { newPeer: number; restart: number; evicted: number; total: number }
/** What the engine knows of one peer. */
export interface PeerStats { peer: string; connected: boolean; acked: number | null; lag: number; fullStates: FullStates; sent: Count; received: Count }
/** The sync engine's counters. */
export interface SyncStats {
  sent: Traffic; received: Traffic; bufferedDeltas: number; bufferedBytes: number;
  fullStates: FullStates; retransmissions: number; decodeErrors: number; driftRejections: number;
  evictions: number; peers: PeerStats[];
}
"#;

// `{ to, bytes }` and the events of `subscribe` and `subscribeSync` built in JS (one snippet):
// smaller than building the objects through `Reflect` from Rust, keeping the module within its
// size budget.
#[wasm_bindgen(
    inline_js = "export function transmit(to, bytes) { return { to, bytes }; } \
    export function changeEvent(peer) { \
    return peer === undefined ? { origin: 'local' } : { origin: 'remote', peer }; } \
    export function syncEvent(peer, acked, synced) { return { peer, acked: acked ?? null, synced }; }"
)]
extern "C" {
    fn transmit(to: &str, bytes: &JsValue) -> JsValue;
    pub(crate) fn changeEvent(peer: Option<String>) -> JsValue;
    pub(crate) fn syncEvent(peer: String, acked: Option<f64>, synced: bool) -> JsValue;
}

/// One replica of a replicated JSON-like document, with its sans-IO sync engine: the caller
/// carries the bytes of [`poll`](Self::poll) to peers and hands theirs to
/// [`receive`](Self::receive).
#[wasm_bindgen(js_name = Doc)]
#[derive(Debug)]
pub struct WasmDoc {
    shared: Rc<Shared>,
}

/// Options read from a JS options object.
#[derive(Debug, Default)]
struct Options {
    replica: Option<ReplicaId>,
    max_drift_ms: Option<u64>,
    now_ms: Option<u64>,
}

fn options(v: &JsValue) -> Result<Options> {
    if v.is_undefined() || v.is_null() {
        return Ok(Options::default());
    }
    if !v.is_object() {
        return Err(Failure::new(Code::BadOption, "options must be an object"));
    }
    let get = |name: &str| {
        js_sys::Reflect::get(v, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    };
    let number = |name: &str| -> Result<Option<u64>> {
        let x = get(name);
        if x.is_undefined() {
            return Ok(None);
        }
        match x.as_f64() {
            Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= 2f64.powi(47) => {
                Ok(Some(n as u64))
            }
            _ => Err(Failure::new(
                Code::BadOption,
                format!("option {name} must be a non-negative integer number of milliseconds"),
            )),
        }
    };
    let id = get("replicaId");
    let replica = if id.is_undefined() {
        None
    } else {
        let s = id
            .as_string()
            .ok_or_else(|| Failure::new(Code::BadOption, "option replicaId must be a string"))?;
        Some(replica_id(&s)?)
    };
    Ok(Options {
        replica,
        max_drift_ms: number("maxDriftMs")?,
        now_ms: number("nowMs")?,
    })
}

fn clock(replica: ReplicaId, o: &Options) -> Result<deltacrdt::HlcBuilder> {
    let builder = Hlc::builder(replica);
    let builder = match o.now_ms {
        Some(now) => builder.clock(move || now),
        None => builder.clock(host_now),
    };
    Ok(match o.max_drift_ms {
        Some(ms) => builder.max_drift(Duration::from_millis(ms)),
        None => builder,
    })
}

/// The largest frame a sealed frame of auth protocol 2 holds (65,535 − the 16-byte tag): every
/// frame `poll` gives fits one `SecureChannel.seal`; larger payloads go in chunks.
const MAX_SEALED_FRAME: usize = 65_519;

/// The engine's configuration: the default, with frames that fit a sealed frame.
fn config() -> SyncConfig {
    SyncConfig {
        max_frame_bytes: MAX_SEALED_FRAME,
        ..SyncConfig::default()
    }
}

impl WasmDoc {
    fn from_engine(engine: SyncEngine<Doc>) -> Self {
        Self {
            shared: Rc::new(Shared::new(engine)),
        }
    }

    /// A replica `replica` at sequence number `seq` over a save's state and last timestamp.
    fn restore(saved: Saved, replica: ReplicaId, seq: u64, o: &Options) -> Result<Self> {
        let hlc = clock(replica, o)?
            .last(saved.last)
            .build()
            .map_err(Failure::from)?;
        let engine = SyncEngine::restore(hlc, saved.state, seq, config());
        Ok(Self::from_engine(engine))
    }

    fn root(&self, name: &str) -> Result<Place> {
        Place {
            shared: self.shared.clone(),
            path: Vec::new(),
        }
        .child(name)
    }
}

#[wasm_bindgen(js_class = Doc)]
#[allow(
    non_snake_case,
    reason = "parameter names show in the .d.ts, where JS spells them in camelCase"
)]
impl WasmDoc {
    /// A new, empty replica.
    ///
    /// # Errors
    /// `BAD_OPTION` / `BAD_PEER_ID` for bad options, `NO_RANDOM` if no id is given and the host
    /// has no `crypto.getRandomValues`, `CLOCK` for a max drift beyond the clock's range.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "DocOptions")] options: JsValue,
    ) -> core::result::Result<WasmDoc, JsError> {
        let o = self::options(&options)?;
        let replica = match o.replica {
            Some(r) => r,
            None => random_replica()?,
        };
        let hlc = clock(replica, &o)?.build().map_err(Failure::from)?;
        Ok(Self::from_engine(SyncEngine::with_config(hlc, config())))
    }

    /// This replica's id, a UUID string.
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    #[wasm_bindgen(getter, js_name = replicaId)]
    pub fn replica_id(&self) -> core::result::Result<String, JsError> {
        Ok(self.shared.read(|e| e.id().to_string())?)
    }

    /// The counter `name`.
    ///
    /// # Errors
    /// Never in practice (kept fallible like every entry point).
    pub fn counter(&self, name: &str) -> core::result::Result<CounterRef, JsError> {
        Ok(CounterRef::new(self.root(name)?))
    }

    /// The set `name`.
    ///
    /// # Errors
    /// Never in practice.
    pub fn set(&self, name: &str) -> core::result::Result<SetRef, JsError> {
        Ok(SetRef::new(self.root(name)?))
    }

    /// The register `name`.
    ///
    /// # Errors
    /// Never in practice.
    pub fn register(&self, name: &str) -> core::result::Result<RegisterRef, JsError> {
        Ok(RegisterRef::new(self.root(name)?))
    }

    /// The flag `name`.
    ///
    /// # Errors
    /// Never in practice.
    pub fn flag(&self, name: &str) -> core::result::Result<FlagRef, JsError> {
        Ok(FlagRef::new(self.root(name)?))
    }

    /// The nested map `name`.
    ///
    /// # Errors
    /// Never in practice.
    pub fn map(&self, name: &str) -> core::result::Result<MapRef, JsError> {
        Ok(MapRef::new(self.root(name)?))
    }

    /// Removes the top-level field `name` (every kind of field under that name).
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    pub fn delete(&self, name: &str) -> core::result::Result<(), JsError> {
        let root = Place {
            shared: self.shared.clone(),
            path: Vec::new(),
        };
        Ok(root.delete(name)?)
    }

    /// A plain snapshot: counters as numbers, registers as their winning value, sets as sorted
    /// arrays (`false`, `true`, numbers by value, then strings), flags as booleans, maps as
    /// objects. A name used with two kinds renders as `name#kind` for each.
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "Record<string, JsonValue>")]
    pub fn to_json(&self) -> core::result::Result<JsValue, JsError> {
        Ok(self
            .shared
            .read(|e| Js::build(|js| e.state().render(js)))??)
    }

    /// Starts syncing with `peerId` (its `replicaId`): a hello goes out on the next `poll()`.
    ///
    /// # Errors
    /// `BAD_PEER_ID` for a string that is not a UUID, `TOO_MANY_PEERS` past the engine's limit.
    #[wasm_bindgen(js_name = connect)]
    pub fn connect(&self, peerId: &str) -> core::result::Result<(), JsError> {
        let peer = replica_id(peerId)?;
        self.shared.write(|e| {
            let known = e.peers().any(|p| p == peer);
            if !known && e.peers().count() >= e.config().max_peers {
                return Err(Failure::new(
                    Code::TooManyPeers,
                    format!("{} peers tracked already", e.config().max_peers),
                ));
            }
            e.connect(peer);
            Ok(())
        })?;
        self.shared.notify_sync();
        Ok(())
    }

    /// Stops syncing with `peerId` and forgets its session.
    ///
    /// # Errors
    /// `BAD_PEER_ID` for a string that is not a UUID.
    pub fn disconnect(&self, peerId: &str) -> core::result::Result<(), JsError> {
        let peer = replica_id(peerId)?;
        self.shared.write(|e| {
            e.disconnect(peer);
            Ok(())
        })?;
        self.shared.notify_sync();
        Ok(())
    }

    /// Handles one frame from `peerId`; subscribers are told if the document changed.
    ///
    /// # Errors
    /// An `Error` with a `code` (`DECODE`, `INCOMPATIBLE`, `CLOCK_DRIFT`, `BAD_PEER_ID`,
    /// `PEER_MISMATCH`, `SELF_ID`, `TOO_MANY_PEERS`, `PROTOCOL`); the document is unchanged.
    pub fn receive(&self, peerId: &str, bytes: &[u8]) -> core::result::Result<(), JsError> {
        let peer = replica_id(peerId)?;
        let changed = self
            .shared
            .write(|e| e.receive(peer, bytes).map_err(Failure::from))?;
        if changed {
            self.shared.notify(Origin::Remote(peer));
        }
        self.shared.notify_sync();
        Ok(())
    }

    /// The next frame to send, if any: `{ to, bytes }`.
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    #[wasm_bindgen(unchecked_return_type = "Transmit | undefined")]
    pub fn poll(&self) -> core::result::Result<JsValue, JsError> {
        let Some(t) = self.shared.write(|e| Ok(e.poll_transmit()))? else {
            return Ok(JsValue::UNDEFINED);
        };
        let bytes = js_sys::Uint8Array::from(t.bytes.as_slice());
        Ok(transmit(&t.to.to_string(), &bytes.into()))
    }

    /// Gives the engine the time (default `Date.now()`): unacknowledged messages older than
    /// the retransmission interval (1 s) are sent again by the next `poll()`.
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    pub fn tick(&self, nowMs: Option<f64>) -> core::result::Result<(), JsError> {
        let now = nowMs.map_or_else(host_now, millis);
        Ok(self.shared.write(|e| {
            e.tick(now);
            Ok(())
        })?)
    }

    /// When `tick()` is next due, in the milliseconds `tick` is given (`Date.now()` by
    /// default), or `undefined` when no timer runs (then only input — a frame, an edit, a
    /// new peer — needs attention). Ask it after every `receive`, edit, `connect`, `tick` and
    /// drained `poll()`, and schedule the next `tick` then (`setTimeout`), instead of ticking
    /// on an interval. Ticking at that time resends what was due; earlier is never needed.
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    #[wasm_bindgen(js_name = pollTimeout, unchecked_return_type = "number | undefined")]
    pub fn poll_timeout(&self) -> core::result::Result<JsValue, JsError> {
        // Milliseconds since 1970 are far below 2^53: exact as a JS number.
        #[allow(clippy::cast_precision_loss)]
        let due = self.shared.read(|e| e.poll_timeout().map(|t| t as f64))?;
        Ok(due.map_or(JsValue::UNDEFINED, JsValue::from_f64))
    }

    /// The sync engine's counters as a plain object (numbers; peer ids as strings).
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    #[wasm_bindgen(unchecked_return_type = "SyncStats")]
    pub fn stats(&self) -> core::result::Result<JsValue, JsError> {
        Ok(self.shared.read(|e| crate::stats::to_js(&e.stats()))?)
    }

    /// The replica's durable parts (id, sequence number, last timestamp, document) as a
    /// versioned, checksummed byte string for [`load`](Self::load) (a new replica) or
    /// [`resume`](Self::resume) (this one, under an exclusive lock).
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    pub fn save(&self) -> core::result::Result<Vec<u8>, JsError> {
        let saved = self.shared.read(Saved::of)?;
        Ok(saved.to_bytes()?)
    }

    /// Opens [`save`](Self::save) bytes as a **new replica**: the saved document under a fresh
    /// random replica id (or `options.replicaId`), with a clock that resumes after the save's
    /// last timestamp. Any number of tabs may load one save at once: each is a replica of its
    /// own, and they converge when synced. The bytes are not changed. To continue the saved
    /// replica itself, under its id, see [`resume`](Self::resume).
    ///
    /// # Errors
    /// `BAD_SAVE` for bytes that are not a valid save; `BAD_OPTION` for bad options;
    /// `NO_RANDOM` if no id is given and the host has no `crypto.getRandomValues`.
    pub fn load(
        bytes: &[u8],
        #[wasm_bindgen(unchecked_optional_param_type = "DocOptions")] options: JsValue,
    ) -> core::result::Result<WasmDoc, JsError> {
        let o = self::options(&options)?;
        let saved = Saved::from_bytes(bytes)?;
        let replica = match o.replica {
            Some(r) => r,
            None => random_replica()?,
        };
        Ok(Self::restore(saved, replica, 0, &o)?)
    }

    /// Continues the replica of [`save`](Self::save) bytes: same id, same sequence number, a
    /// clock that resumes after its last timestamp (`options.replicaId` is ignored). Peers get
    /// the full state first.
    ///
    /// Safe only while the caller holds an exclusive lock on that save, e.g. with the Web Locks
    /// API: `navigator.locks.request(name, () => …)` around the whole life of the replica. Two
    /// live replicas under one id (two tabs resuming one save) silently diverge; without the lock
    /// use [`load`](Self::load).
    ///
    /// # Errors
    /// `BAD_SAVE` for bytes that are not a valid save; `BAD_OPTION` for bad options.
    pub fn resume(
        bytes: &[u8],
        #[wasm_bindgen(unchecked_optional_param_type = "DocOptions")] options: JsValue,
    ) -> core::result::Result<WasmDoc, JsError> {
        let o = self::options(&options)?;
        let saved = Saved::from_bytes(bytes)?;
        let (replica, seq) = (saved.replica, saved.seq);
        Ok(Self::restore(saved, replica, seq, &o)?)
    }

    /// Continues replica `replicaId` at sequence number `seq` with the document of
    /// [`save`](Self::save) bytes written by **another** replica of the same document: for a
    /// store that keeps the document in a replica of its own (a journal that only receives) and
    /// the writer's id and sequence number beside it. The clock resumes after the save's last
    /// timestamp (a journal observed every stamp the writer issued, so never behind it). The
    /// same lock rule as [`resume`](Self::resume): only the holder of the writer's exclusive
    /// lock may call it.
    ///
    /// # Errors
    /// `BAD_SAVE` for bytes that are not a valid save; `BAD_PEER_ID` for a malformed id;
    /// `BAD_OPTION` for a `seq` that is not a non-negative safe integer, or bad options.
    #[wasm_bindgen(js_name = resumeAs)]
    pub fn resume_as(
        bytes: &[u8],
        #[wasm_bindgen(js_name = replicaId)] replica_id_text: &str,
        seq: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "DocOptions")] options: JsValue,
    ) -> core::result::Result<WasmDoc, JsError> {
        let o = self::options(&options)?;
        let replica = replica_id(replica_id_text)?;
        if !(seq.is_finite() && seq >= 0.0 && seq.fract() == 0.0 && seq <= 2f64.powi(53)) {
            return Err(
                Failure::new(Code::BadOption, "seq must be a non-negative safe integer").into(),
            );
        }
        let saved = Saved::from_bytes(bytes)?;
        // Checked above: an integer in 0..=2^53, exact as u64.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let seq = seq as u64;
        Ok(Self::restore(saved, replica, seq, &o)?)
    }

    /// Calls `callback` after every local change and every remote change applied by
    /// `receive`, with a `ChangeEvent`: `{ origin: "local" }` or `{ origin: "remote", peer }`.
    /// Returns a function that unsubscribes. The callback may read and edit the document; an
    /// exception it throws is dropped.
    ///
    /// # Errors
    /// `BUSY` if called from inside a callback while the list is being copied (not expected).
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: ChangeEvent) => void")]
        callback: js_sys::Function,
    ) -> core::result::Result<js_sys::Function, JsError> {
        self.listen(callback, false)
    }

    /// Calls `callback` with a `SyncEvent` (`{ peer, acked, synced }`) whenever a peer's
    /// acknowledgement, or whether it holds everything this replica has, changes: after an
    /// edit (the peer falls behind), a `receive` (its acknowledgement arrived), a `connect`
    /// or `disconnect`, from the time of this call on (`syncState()` says how things stand
    /// now). A "saved everywhere" indicator needs nothing else. Returns a function that
    /// unsubscribes; the same rules as `subscribe`.
    ///
    /// # Errors
    /// `BUSY` if called from inside a callback while the list is being copied (not expected).
    #[wasm_bindgen(js_name = subscribeSync, unchecked_return_type = "() => void")]
    pub fn subscribe_sync(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: SyncEvent) => void")]
        callback: js_sys::Function,
    ) -> core::result::Result<js_sys::Function, JsError> {
        self.listen(callback, true)
    }

    /// Every peer's sync state now, as `subscribeSync` reports it.
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    #[wasm_bindgen(js_name = syncState, unchecked_return_type = "SyncEvent[]")]
    pub fn sync_state(&self) -> core::result::Result<js_sys::Array, JsError> {
        let states = self.shared.read(sync_state)?;
        Ok(states.into_iter().map(sync_event).collect())
    }

    fn listen(
        &self,
        callback: js_sys::Function,
        sync: bool,
    ) -> core::result::Result<js_sys::Function, JsError> {
        let id = self.shared.subscribe(callback, sync)?;
        let weak = Rc::downgrade(&self.shared);
        let unsubscribe = Closure::<dyn FnMut()>::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.unsubscribe(id, sync);
            }
        });
        Ok(unsubscribe.into_js_value().unchecked_into())
    }

    /// The document state alone as a value frame of the wire format (`src/codec/FORMAT.md`):
    /// the bytes the native `deltacrdt::encode(&doc)` gives. For interop checks.
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    #[wasm_bindgen(js_name = stateBytes)]
    pub fn state_bytes(&self) -> core::result::Result<Vec<u8>, JsError> {
        let bytes = self.shared.read(|e| encode(e.state()))?;
        Ok(bytes.map_err(|e| Failure::new(Code::BadValue, e.to_string()))?)
    }

    /// Decodes a document value frame (as [`stateBytes`](Self::state_bytes) or the native
    /// `deltacrdt::encode(&doc)` write it) into its plain snapshot. For interop checks.
    ///
    /// # Errors
    /// `DECODE` / `INCOMPATIBLE` for bytes that are not a valid document frame.
    #[wasm_bindgen(js_name = decodeState, unchecked_return_type = "Record<string, JsonValue>")]
    pub fn decode_state(bytes: &[u8]) -> core::result::Result<JsValue, JsError> {
        let doc: Doc = decode(bytes).map_err(Failure::from)?;
        Ok(Js::build(|js| doc.render(js))?)
    }
}
