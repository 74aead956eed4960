//! `SyncStats` as the plain object `Doc.stats()` returns.

use deltacrdt::{Count, FullStates, JsonBuilder, SyncStats, Traffic};
use wasm_bindgen::JsValue;

use crate::convert::Js;

fn count(js: &mut Js, c: Count) -> JsValue {
    let fields = [
        ("messages", js.count(c.messages)),
        ("bytes", js.count(c.bytes)),
    ];
    js.fields(fields)
}

fn traffic(js: &mut Js, t: &Traffic) -> JsValue {
    let fields = [
        ("hello", count(js, t.hello)),
        ("delta", count(js, t.delta)),
        ("state", count(js, t.state)),
        ("chunk", count(js, t.chunk)),
        ("ack", count(js, t.ack)),
        ("invalid", count(js, t.invalid)),
        ("total", count(js, t.total())),
    ];
    js.fields(fields)
}

fn full(js: &mut Js, f: &FullStates) -> JsValue {
    let fields = [
        ("newPeer", js.count(f.new_peer)),
        ("restart", js.count(f.restart)),
        ("evicted", js.count(f.evicted)),
        ("total", js.count(f.total())),
    ];
    js.fields(fields)
}

/// The stats as a plain object: numbers everywhere, peer ids as UUID strings, camelCase names.
pub(crate) fn to_js(js: &mut Js, s: &SyncStats) -> JsValue {
    let peers = s
        .peers
        .iter()
        .map(|p| {
            let acked = match p.acked {
                Some(seq) => js.count(seq),
                None => js.null(),
            };
            let fields = [
                ("peer", JsValue::from(p.peer.to_string())),
                ("connected", JsValue::from_bool(p.connected)),
                ("acked", acked),
                ("lag", js.count(p.lag)),
                ("fullStates", full(js, &p.full_states)),
                ("sent", count(js, p.sent)),
                ("received", count(js, p.received)),
            ];
            js.fields(fields)
        })
        .collect();
    let fields = [
        ("sent", traffic(js, &s.sent)),
        ("received", traffic(js, &s.received)),
        ("bufferedDeltas", js.count(s.buffered_deltas as u64)),
        ("bufferedBytes", js.count(s.buffered_bytes as u64)),
        ("fullStates", full(js, &s.full_states)),
        ("retransmissions", js.count(s.retransmissions)),
        ("decodeErrors", js.count(s.decode_errors)),
        ("driftRejections", js.count(s.drift_rejections)),
        ("evictions", js.count(s.evictions)),
        ("peers", js.array(peers)),
    ];
    js.fields(fields)
}
