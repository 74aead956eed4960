//! Admission control on loopback: a flood of connections that never finish the handshake,
//! while an honest peer restarts and rejoins and the flooded node dials out; and our own dials
//! that fail, counted by reason and warned about once per dialer.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deltacrdt::{NetConfig, Network};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};
use tracing_subscriber::layer::SubscriberExt;

type TestResult = Result<(), Box<dyn std::error::Error>>;

use crate::peers::{group, id, key};

/// Peer `n`'s network configuration: peers 1 to 64 allowed.
fn config(n: u128) -> NetConfig {
    NetConfig {
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..NetConfig::new(key(n), group())
    }
}

/// Counts `WARN` events.
struct Warnings(Arc<AtomicU64>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::WARN {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Polls `f` every 5 ms until it holds or `limit` passes; returns whether it held.
async fn within(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !f() {
        if Instant::now() > deadline {
            return false;
        }
        sleep(Duration::from_millis(5)).await;
    }
    true
}

/// 2,000 connections that each send a valid, replayed message 1 (so B does its half of the key
/// exchange for each) and then stall flood node B. Meanwhile peer A, which had a session with
/// B, restarts and dials B again, and B dials peer C: both sessions open within 2 s, B never holds more than `max_handshakes` handshakes, and the flood is pushed out
/// (counted). Then 300 connections of garbage are refused, each counted, with a handful of
/// warnings, not one each. (Before, one cap of 256 shared by
/// every connection kept honest peers and B's own dials out for the whole flood, and every
/// refusal logged a warning.) The runtime is single-threaded so the warning counter, a
/// thread-local subscriber, sees every task.
#[tokio::test(flavor = "current_thread")]
async fn a_handshake_flood_locks_out_neither_a_restarting_peer_nor_our_own_dials() -> TestResult {
    let warnings = Arc::new(AtomicU64::new(0));
    let subscriber = tracing_subscriber::registry().with(Warnings(Arc::clone(&warnings)));
    let _guard = tracing::subscriber::set_default(subscriber);

    let b = Network::new(id(2), config(2))?;
    let addr_b = b.listen_tcp("127.0.0.1:0").await?;
    let c = Network::new(id(3), config(3))?;
    let addr_c = c.listen_tcp("127.0.0.1:0").await?;
    let a = Network::new(id(1), config(1))?;
    a.dial_tcp(addr_b.to_string());
    assert!(within(Duration::from_secs(10), || b.peers().contains(&id(1))).await);
    a.shutdown().await;
    drop(a);
    assert!(within(Duration::from_secs(10), || !b.peers().contains(&id(1))).await);

    // Each flood connection sends a valid message 1 (one recorded message, replayed), so B
    // does its half of the key exchange for every one of them, then stalls.
    let (flood_key, allow) = (key(99), deltacrdt::AllowList::new());
    let (_, first) = deltacrdt::Handshake::new(&flood_key, &allow, id(99)).initiate()?;
    let mut framed = (first.len() as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(&first);
    let flood = tokio::spawn(async move {
        let mut held = Vec::new();
        for _ in 0..2_000 {
            let connecting = timeout(Duration::from_secs(1), TcpStream::connect(addr_b));
            if let Ok(Ok(mut s)) = connecting.await
                && s.write_all(&framed).await.is_ok()
            {
                held.push(s);
            }
        }
        held
    });
    let max = config(1).max_handshakes;
    assert!(
        within(Duration::from_secs(30), || b.stats().refused.pushed_out
            >= 500)
        .await,
        "the flood never filled the handshake table: {:?}",
        b.stats()
    );
    // A restarts under its id and rejoins; B dials C. Both within 2 s, flood or not.
    let start = Instant::now();
    let a = Network::new(id(1), config(1))?;
    a.dial_tcp(addr_b.to_string());
    b.dial_tcp(addr_c.to_string());
    let joined = within(Duration::from_secs(2), || {
        let peers = b.peers();
        peers.contains(&id(1)) && peers.contains(&id(3))
    })
    .await;
    let took = start.elapsed();
    let during = b.stats();
    assert!(joined, "not rejoined within 2 s: {during:?}");
    let held = flood.await?;
    let stats = b.stats();
    assert!(held.len() >= 1_000, "the flood opened only {}", held.len());
    assert!(stats.handshaking <= max, "{stats:?}");
    assert!(stats.refused.pushed_out >= 1_000, "{stats:?}");
    // 300 connections of garbage: each refused and counted, a warning or two logged.
    for _ in 0..300 {
        let mut s = TcpStream::connect(addr_b).await?;
        s.write_all(b"\0\0\0\x10GET / HTTP/1.1\r\n").await?;
    }
    assert!(
        within(Duration::from_secs(30), || b.stats().refused.bad_magic
            >= 300)
        .await,
        "{:?}",
        b.stats()
    );
    let warned = warnings.load(Ordering::Relaxed);
    assert!(warned <= 5, "{warned} warnings for {:?}", b.stats().refused);
    println!(
        "rejoined in {took:?} during a flood of {} connections; pushed out {}, {warned} warnings",
        held.len(),
        stats.refused.pushed_out
    );
    drop(held);
    a.shutdown().await;
    b.shutdown().await;
    c.shutdown().await;
    Ok(())
}

/// A malformed address, a `wss://` URL (this build has no TLS) and a port nothing listens on:
/// each dialer retries with backoff for ever, every failure is counted by reason, and the
/// log gets one warning per dialer with a bad address, none for the peer that is down. (A
/// bad address used to fail silently: a debug line per retry, nothing counted.)
#[tokio::test(flavor = "current_thread")]
async fn failed_dials_are_counted_by_reason_and_warned_once_per_dialer() -> TestResult {
    let warnings = Arc::new(AtomicU64::new(0));
    let subscriber = tracing_subscriber::registry().with(Warnings(Arc::clone(&warnings)));
    let _guard = tracing::subscriber::set_default(subscriber);
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?
    };
    // Something listens here (the OS completes the TCP handshake), so the wss dialer gets as
    // far as the TLS it does not have.
    let open = std::net::TcpListener::bind("127.0.0.1:0")?;
    let net = Network::new(id(1), config(1))?;
    net.dial_tcp("not an address");
    net.dial_ws(format!("wss://{}/", open.local_addr()?));
    net.dial_tcp(down.to_string());
    let counted = within(Duration::from_secs(10), || {
        let f = net.stats().dial_failures;
        f.address >= 6 && f.refused >= 3
    })
    .await;
    let stats = net.stats();
    assert!(counted, "{:?}", stats.dial_failures);
    // Every dial that ended is counted; each of the three dialers may have one under way
    // (on a busy machine the snapshot can fall between a redial and its failure).
    let failed = stats.dial_failures.total();
    assert!(
        failed <= stats.dials && stats.dials - failed <= 3,
        "{stats:?}"
    );
    assert_eq!(
        warnings.load(Ordering::Relaxed),
        2,
        "{:?}",
        stats.dial_failures
    );
    net.shutdown().await;
    Ok(())
}
