//! Metrics through the `metrics` facade (feature `metrics`): the engine's counters as
//! counters and gauges an operator can put on a dashboard, and the one latency only the engine
//! sees. Whatever recorder the app installs (a Prometheus exporter, StatsD…) receives them;
//! without one they cost a load and a branch.
//!
//! Names are `deltacrdt_` + the field's path in the serialized stats (`SyncStats` under
//! `sync_`, `NetStats` under `net_`), so a new field becomes a metric without code here:
//! `deltacrdt_sync_sent_delta_bytes_total`, `deltacrdt_sync_full_states_restart_total`,
//! `deltacrdt_net_refused_not_allowed_total`. Per-peer fields carry a `peer` label
//! (`deltacrdt_sync_peer_lag{peer="…"}`). Counters end in `_total`; the fields that can go down
//! (listed in [`GAUGES`]) are gauges.

use serde::Serialize;
use serde_json::Value;

use super::SyncStats;

/// Fields that are levels, not counts: published as gauges.
const GAUGES: &[&str] = &[
    "buffered_deltas",
    "buffered_bytes",
    "reassembly_bytes",
    "connected",
    "acked",
    "lag",
    "lag_ms",
    "open_sessions",
    "handshaking",
];

/// Seconds from the newest stamp in a received value to its application here (the edit's
/// HLC stamp against this replica's physical clock): replication latency, for values that
/// carry stamps (registers, `LwwMap`, a `Doc`'s registers).
pub(crate) const REPLICATION_LATENCY: &str = "deltacrdt_sync_replication_latency_seconds";

impl SyncStats {
    /// Publishes these counters through the `metrics` facade, as absolute values (call it as
    /// often as a dashboard refreshes; `SyncNode` does, once a second). See the module's
    /// naming rule: `deltacrdt_sync_` + the field's path.
    pub fn publish_metrics(&self) {
        publish("deltacrdt_sync", self);
    }
}

/// Publishes every number in `stats` (serialized) under `prefix`: objects nest with `_`,
/// `peers` arrays become a `peer` label.
pub(crate) fn publish(prefix: &str, stats: &impl Serialize) {
    if let Ok(value) = serde_json::to_value(stats) {
        walk(prefix, &value, None);
    }
}

fn walk(name: &str, value: &Value, peer: Option<&str>) {
    match value {
        Value::Object(fields) => {
            for (field, v) in fields {
                walk(&format!("{name}_{field}"), v, peer);
            }
        }
        Value::Array(items) if name.ends_with("_peers") => {
            let base = name.trim_end_matches('s');
            for item in items {
                let id = item.get("peer").and_then(Value::as_str);
                if let Value::Object(fields) = item {
                    for (field, v) in fields.iter().filter(|(f, _)| *f != "peer") {
                        walk(&format!("{base}_{field}"), v, id);
                    }
                }
            }
        }
        Value::Bool(b) => emit(name, u64::from(*b), peer),
        // A level that is unknown or nothing now (`lag_ms` of a peer that holds everything,
        // `acked` before any acknowledgement) reads 0, not its last value.
        Value::Null if is_gauge(name) => emit(name, 0, peer),
        Value::Number(n) => {
            if let Some(n) = n.as_u64() {
                emit(name, n, peer);
            }
        }
        _ => {}
    }
}

fn is_gauge(name: &str) -> bool {
    GAUGES
        .iter()
        .any(|g| name.strip_suffix(g).is_some_and(|rest| rest.ends_with('_')))
}

fn emit(name: &str, n: u64, peer: Option<&str>) {
    let gauge = is_gauge(name);
    let labels: Vec<metrics::Label> = peer
        .map(|p| metrics::Label::new("peer", p.to_owned()))
        .into_iter()
        .collect();
    if gauge {
        #[allow(clippy::cast_precision_loss, reason = "a gauge is an f64")]
        metrics::gauge!(name.to_owned(), labels).set(n as f64);
    } else {
        metrics::counter!(format!("{name}_total"), labels).absolute(n);
    }
}
