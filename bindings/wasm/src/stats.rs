//! `SyncStats` as the plain object `Doc.stats()` returns.

use deltacrdt::{Count, FullStates, SyncStats, Traffic};
use serde_json::{Value as Json, json};

fn count(c: Count) -> Json {
    json!({ "messages": c.messages, "bytes": c.bytes })
}

fn traffic(t: &Traffic) -> Json {
    json!({
        "hello": count(t.hello),
        "delta": count(t.delta),
        "state": count(t.state),
        "chunk": count(t.chunk),
        "ack": count(t.ack),
        "invalid": count(t.invalid),
        "total": count(t.total()),
    })
}

fn full(f: &FullStates) -> Json {
    json!({ "newPeer": f.new_peer, "restart": f.restart, "evicted": f.evicted, "total": f.total() })
}

/// The stats as JSON: numbers everywhere, peer ids as UUID strings, camelCase names.
pub(crate) fn to_json(s: &SyncStats) -> Json {
    let peers: Vec<Json> = s
        .peers
        .iter()
        .map(|p| {
            json!({
                "peer": p.peer.to_string(),
                "connected": p.connected,
                "acked": p.acked,
                "lag": p.lag,
                "fullStates": full(&p.full_states),
                "sent": count(p.sent),
                "received": count(p.received),
            })
        })
        .collect();
    json!({
        "sent": traffic(&s.sent),
        "received": traffic(&s.received),
        "bufferedDeltas": s.buffered_deltas,
        "bufferedBytes": s.buffered_bytes,
        "fullStates": full(&s.full_states),
        "retransmissions": s.retransmissions,
        "decodeErrors": s.decode_errors,
        "driftRejections": s.drift_rejections,
        "evictions": s.evictions,
        "peers": peers,
    })
}
