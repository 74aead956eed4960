//! The `metrics` feature: two engines syncing a document publish their stats as counters and
//! gauges named after the stats' fields (per peer with a `peer` label), and a received
//! register write records its replication latency.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::BTreeMap;

use deltacrdt::{Doc, Hlc, ReplicaId, SyncEngine};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

fn engine(n: u128, clock_ms: u64) -> SyncEngine<Doc> {
    let hlc = Hlc::builder(ReplicaId::from_u128(n))
        .clock(move || clock_ms)
        .build()
        .unwrap();
    SyncEngine::new(hlc)
}

#[test]
fn stats_become_counters_gauges_and_a_latency_histogram() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let t0 = 1_700_000_000_000;
    // b's clock reads 250 ms later than a's: the write reaches it "250 ms" after it was made.
    let (mut a, mut b) = (engine(1, t0), engine(2, t0 + 250));
    metrics::with_local_recorder(&recorder, || {
        a.connect(b.id());
        b.connect(a.id());
        a.update(|doc, hlc| {
            doc.set(hlc.now()?, &["title"], "hi".into())
                .map_err(deltacrdt::Error::from)
        })
        .unwrap();
        for _ in 0..3 {
            while let Some(t) = a.poll_transmit() {
                b.receive(a.id(), &t.bytes).unwrap();
            }
            while let Some(t) = b.poll_transmit() {
                a.receive(b.id(), &t.bytes).unwrap();
            }
        }
        a.stats().publish_metrics();
        b.stats().publish_metrics();
    });

    let mut seen: BTreeMap<String, Vec<(Vec<String>, DebugValue)>> = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let labels = key
            .key()
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        seen.entry(key.key().name().to_owned())
            .or_default()
            .push((labels, value));
    }
    let counter = |name: &str| match seen.get(name).map(Vec::as_slice) {
        Some([(_, DebugValue::Counter(n))]) => *n,
        other => panic!("{name}: {other:?}"),
    };
    // Absolute counters: the last publish (b's) wins for a name both publish.
    assert!(counter("deltacrdt_sync_received_delta_bytes_total") > 0);
    assert_eq!(counter("deltacrdt_sync_full_states_restart_total"), 0);
    // Per peer: a's lag towards b, as a gauge labelled with b's id.
    let lag = &seen["deltacrdt_sync_peer_lag"];
    assert!(
        lag.iter().any(|(labels, value)| labels
            == &["peer=00000000-0000-0000-0000-000000000002".to_owned()]
            && *value == DebugValue::Gauge(0.0.into())),
        "{lag:?}"
    );
    assert!(seen.contains_key("deltacrdt_sync_peer_connected"));
    assert!(seen.contains_key("deltacrdt_sync_buffered_deltas"));
    // The register write, applied at b, 250 ms after its stamp.
    match seen["deltacrdt_sync_replication_latency_seconds"].as_slice() {
        [(_, DebugValue::Histogram(samples))] => {
            assert_eq!(samples.len(), 1);
            assert!((samples[0].into_inner() - 0.25).abs() < 1e-9, "{samples:?}");
        }
        other => panic!("{other:?}"),
    }
}
