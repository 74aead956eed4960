//! `SyncStats` as the plain object `Doc.stats()` returns.
//!
//! The counters cross into JavaScript as one flat `Float64Array` plus the peer ids, and a few
//! lines of JS (shipped with the package as a wasm-bindgen snippet) give them their shape: one
//! boundary crossing instead of ~40 per peer, and ~4 KB less module than building the objects
//! from Rust.

use deltacrdt::{Count, FullStates, SyncStats, Traffic};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function statsObject(n, peers) {
  let i = 0;
  const next = () => n[i++];
  const count = () => ({ messages: next(), bytes: next() });
  const traffic = () => ({ hello: count(), delta: count(), state: count(), chunk: count(),
    ack: count(), invalid: count(), total: count() });
  const full = () => ({ newPeer: next(), restart: next(), evicted: next(), total: next() });
  const s = { sent: traffic(), received: traffic(), bufferedDeltas: next(),
    bufferedBytes: next(), fullStates: full(), retransmissions: next(), decodeErrors: next(),
    driftRejections: next(), evictions: next(), peers: [] };
  for (const peer of peers) {
    const connected = next() === 1;
    const acked = next();
    s.peers.push({ peer, connected, acked: acked < 0 ? null : acked, lag: next(),
      fullStates: full(), sent: count(), received: count() });
  }
  return s;
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = statsObject)]
    fn stats_object(numbers: &[f64], peers: js_sys::Array) -> JsValue;
}

/// The counters in the order `statsObject` reads them (u64 as f64: exact up to 2^53).
#[derive(Debug, Default)]
struct Flat(Vec<f64>);

impl Flat {
    fn n(&mut self, x: u64) {
        self.0.push(x as f64);
    }

    fn count(&mut self, c: Count) {
        self.n(c.messages);
        self.n(c.bytes);
    }

    fn traffic(&mut self, t: &Traffic) {
        for c in [
            t.hello,
            t.delta,
            t.state,
            t.chunk,
            t.ack,
            t.invalid,
            t.total(),
        ] {
            self.count(c);
        }
    }

    fn full(&mut self, f: &FullStates) {
        for x in [f.new_peer, f.restart, f.evicted, f.total()] {
            self.n(x);
        }
    }
}

/// The stats as a plain object: numbers everywhere (`acked` is `null` before the first
/// acknowledgement), peer ids as UUID strings, camelCase names.
pub(crate) fn to_js(s: &SyncStats) -> JsValue {
    let mut flat = Flat::default();
    flat.traffic(&s.sent);
    flat.traffic(&s.received);
    flat.n(s.buffered_deltas as u64);
    flat.n(s.buffered_bytes as u64);
    flat.full(&s.full_states);
    for x in [
        s.retransmissions,
        s.decode_errors,
        s.drift_rejections,
        s.evictions,
    ] {
        flat.n(x);
    }
    let peers = js_sys::Array::new();
    for p in &s.peers {
        peers.push(&JsValue::from(p.peer.to_string()));
        flat.n(u64::from(p.connected));
        flat.0.push(p.acked.map_or(-1.0, |a| a as f64));
        flat.n(p.lag);
        flat.full(&p.full_states);
        flat.count(p.sent);
        flat.count(p.received);
    }
    stats_object(&flat.0, peers)
}
