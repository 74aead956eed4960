//! Clock skew without silent quarantine (issue 15 item 7, `src/sync/skew.rs`): a peer whose
//! clock runs a day or 90 s ahead loses nothing, its counters and sets are never refused, it is
//! told and fences its own register writes, and it rejoins by itself once its clock is fixed;
//! a held-back write released later is an inspectable conflict, never a silent overwrite.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    reason = "tests: a bad index or a refused write should fail loudly"
)]

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use deltacrdt::{ClockError, Doc, Hlc, ReplicaId, SyncConfig, SyncEngine, Value};

const EPOCH: u64 = 1_700_000_000_000;
const DAY: i64 = 86_400_000;

type Res<T = ()> = Result<T, Box<dyn Error>>;

/// Replicas on one virtual time (ms from 0, also the engines' tick time), each reading its
/// physical clock at that time plus its own skew.
struct Net {
    now: Arc<AtomicU64>,
    nodes: Vec<(SyncEngine<Doc>, Arc<AtomicI64>)>,
}

impl Net {
    fn new(n: usize) -> Res<Self> {
        Self::with(n, |_| SyncConfig::default())
    }

    fn with(n: usize, config: impl Fn(usize) -> SyncConfig) -> Res<Self> {
        let now = Arc::new(AtomicU64::new(0));
        let mut nodes = Vec::new();
        for i in 0..n {
            let skew = Arc::new(AtomicI64::new(0));
            let (t, s) = (Arc::clone(&now), Arc::clone(&skew));
            let clock = move || {
                (EPOCH + t.load(Ordering::SeqCst)).saturating_add_signed(s.load(Ordering::SeqCst))
            };
            let id = ReplicaId::from_u128(i as u128 + 1);
            let hlc = Hlc::builder(id)
                .clock(clock)
                .max_drift(Duration::from_secs(60))
                .build()?;
            let config = SyncConfig {
                nonce_seed: Some([i as u8 + 1; 16]),
                ..config(i)
            };
            nodes.push((SyncEngine::with_config(hlc, config), skew));
        }
        for a in 0..n {
            for b in 0..n {
                if a != b {
                    let peer = nodes[b].0.id();
                    nodes[a].0.connect(peer);
                }
            }
        }
        let mut net = Self { now, nodes };
        net.pump()?;
        Ok(net)
    }

    fn skew(&self, i: usize, ms: i64) {
        self.nodes[i].1.store(ms, Ordering::SeqCst);
    }

    fn get(&self, i: usize) -> &SyncEngine<Doc> {
        &self.nodes[i].0
    }

    fn node(&mut self, i: usize) -> &mut SyncEngine<Doc> {
        &mut self.nodes[i].0
    }

    /// Advances virtual time by `ms` and ticks everyone, then delivers until quiet.
    fn wait(&mut self, ms: u64) -> Res {
        let now = self.now.fetch_add(ms, Ordering::SeqCst) + ms;
        for (e, _) in &mut self.nodes {
            e.tick(now);
        }
        self.pump()
    }

    /// Delivers every frame (lossless, in order) until no one has anything to say. Frames a
    /// receiver refuses are counted, not fatal (the tests look at the stats).
    fn pump(&mut self) -> Res {
        for _ in 0..200 {
            let mut quiet = true;
            for i in 0..self.nodes.len() {
                while let Some(t) = self.nodes[i].0.poll_transmit() {
                    quiet = false;
                    let from = self.nodes[i].0.id();
                    if let Some(to) = self.nodes.iter_mut().find(|(e, _)| e.id() == t.to) {
                        let _ = to.0.receive(from, &t.bytes);
                    }
                }
            }
            if quiet {
                return Ok(());
            }
        }
        Err("the network did not go quiet".into())
    }

    fn write(&mut self, i: usize, path: &str, value: &str) -> Res {
        self.node(i).update(|doc, hlc| -> Res<_> {
            let stamp = hlc.now()?;
            Ok(doc.set(stamp, &[path], value.into())?)
        })
    }

    fn count(&mut self, i: usize) -> Res {
        self.node(i)
            .update(|doc, hlc| doc.increment(hlc.replica(), &["count"], 1))?;
        Ok(())
    }

    fn tag(&mut self, i: usize, tag: &str) -> Res {
        self.node(i)
            .update(|doc, hlc| doc.insert(hlc.replica(), &["tags"], tag.into()))?;
        Ok(())
    }
}

fn text(doc: &Doc, path: &str) -> Option<String> {
    match doc.register(&[path])? {
        Value::Scalar(s) => Some(format!("{s:?}")),
        other => Some(format!("{other:?}")),
    }
}

fn has_tag(doc: &Doc, tag: &str) -> bool {
    doc.set_at(&["tags"])
        .is_some_and(|s| s.contains(&tag.into()))
}

#[test]
fn a_day_ahead_loses_nothing_is_told_fences_itself_and_rejoins_once_fixed() -> Res {
    let mut net = Net::new(3)?;
    // Before the skew: a title everyone has.
    net.write(1, "title", "old")?;
    net.pump()?;
    net.skew(0, DAY);
    // The skewed peer edits: a counter and a tag (no stamps), two register writes (stamped a
    // day ahead), all before anyone could tell it.
    net.count(0)?;
    net.tag(0, "skewed")?;
    net.write(0, "title", "from the future")?;
    net.write(0, "note", "kept")?;
    net.pump()?;
    for i in [1, 2] {
        let e = net.node(i);
        let s = e.stats();
        // Counters and sets are never refused for the sender's clock.
        assert_eq!(s.drift_rejections, 0, "node {i}");
        assert_eq!(e.state().counter(&["count"]), 1, "node {i}");
        assert!(has_tag(e.state(), "skewed"), "node {i}");
        // The register writes are held back: the title still reads what it read, not empty.
        assert_eq!(s.skew.held_writes, 2, "node {i}");
        assert!(s.skew.held_bytes > 0);
        assert_eq!(text(e.state(), "title").as_deref(), Some("Str(\"old\")"));
        assert_eq!(text(e.state(), "note"), None);
        // The receiver's clock was not dragged a day ahead.
        assert!(e.hlc().last().millis() < EPOCH + 60_000);
    }
    // The skewed peer was told (by both) and fences its register writes with a typed error.
    let skewed = net.node(0);
    let s = skewed.stats();
    assert_eq!(s.skew.reports, 2);
    let ahead = s.skew.fenced_ms.ok_or("not fenced")?;
    assert!(ahead > 86_000_000, "{ahead}");
    assert_eq!(skewed.hlc().fenced(), Some(ahead));
    let err = net.write(0, "title", "still ahead").unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<ClockError>(),
            Some(ClockError::Fenced { ahead_millis, max_drift_millis: 60_000 }) if *ahead_millis > 86_000_000
        ),
        "{err}"
    );
    // ... while counters and sets go on, and still sync.
    net.count(0)?;
    net.tag(0, "while fenced")?;
    net.wait(1_000)?;
    for i in [1, 2] {
        assert_eq!(net.node(i).state().counter(&["count"]), 2);
        assert!(has_tag(net.node(i).state(), "while fenced"));
    }
    // Its clock is fixed: the fence lifts, it forks to a fresh id of its own (its stamps lay a
    // day ahead of its clock now), and writes again; its new title supersedes its held one.
    let old_id = net.node(0).id();
    net.skew(0, 0);
    net.wait(1_000)?;
    net.write(0, "title", "fixed")?;
    let fixed = net.node(0);
    assert_eq!(fixed.hlc().fenced(), None);
    assert_eq!(fixed.stats().skew.fenced_ms, None);
    assert_eq!(fixed.stats().forks, 1);
    assert_ne!(fixed.id(), old_id);
    assert_eq!(fixed.id().as_bytes()[..10], old_id.as_bytes()[..10]);
    assert!(fixed.hlc().last().millis() < EPOCH + 60_000);
    net.wait(1_000)?;
    for i in 0..3 {
        let doc = net.node(i).state();
        assert_eq!(
            text(doc, "title").as_deref(),
            Some("Str(\"fixed\")"),
            "node {i}"
        );
    }
    // The note is still held (not lost); a day later its time comes and everyone converges.
    assert_eq!(text(net.node(1).state(), "note"), None);
    net.wait(DAY as u64)?;
    let first = net.node(0).state().clone();
    for i in 0..3 {
        let e = net.node(i);
        assert_eq!(
            text(e.state(), "note").as_deref(),
            Some("Str(\"kept\")"),
            "node {i}"
        );
        assert_eq!(
            text(e.state(), "title").as_deref(),
            Some("Str(\"fixed\")"),
            "node {i}"
        );
        assert_eq!(e.state().counter(&["count"]), 2);
        assert_eq!(e.state(), &first, "node {i} diverged");
        assert_eq!(e.stats().skew.held_writes, 0, "node {i}");
        assert_eq!(e.stats().drift_rejections, 0, "node {i}");
    }
    assert_eq!(net.node(1).stats().skew.released, 2);
    Ok(())
}

#[test]
fn a_write_90_s_ahead_released_later_is_an_inspectable_conflict_not_an_overwrite() -> Res {
    let mut net = Net::new(2)?;
    net.skew(0, 90_000);
    // At T the skewed peer writes (stamped T+90 s): held by the other, bound 60 s.
    net.write(0, "status", "skewed write at T")?;
    net.pump()?;
    assert_eq!(net.node(1).stats().skew.held_writes, 1);
    assert_eq!(text(net.node(1).state(), "status"), None);
    // The honest peer writes at T+10 s and T+20 s; everyone sees its latest.
    net.wait(10_000)?;
    net.write(1, "status", "honest at T+10")?;
    net.wait(10_000)?;
    net.write(1, "status", "honest at T+20")?;
    net.wait(5_000)?;
    assert_eq!(
        text(net.node(1).state(), "status").as_deref(),
        Some("Str(\"honest at T+20\")")
    );
    // The engine asks to be ticked when the held write's time comes (T+30 s: stamp - bound).
    let due = net
        .node(1)
        .poll_timeout()
        .ok_or("no timer for the held write")?;
    assert!((30_000..=30_001).contains(&due), "{due}");
    net.wait(5_001)?;
    // Released: not a silent overwrite. The register keeps both writes as concurrent ones,
    // listed by `register_writes`, and the release is counted.
    let e = net.node(1);
    assert_eq!(e.stats().skew.released, 1);
    assert_eq!(e.stats().skew.held_writes, 0);
    let writes = e
        .state()
        .register_writes(&["status"])
        .ok_or("no register")?;
    let mut values: Vec<String> = writes.values().map(|(_, v)| format!("{v:?}")).collect();
    values.sort();
    assert_eq!(
        values,
        [
            "Scalar(Str(\"honest at T+20\"))",
            "Scalar(Str(\"skewed write at T\"))"
        ]
    );
    // Both replicas hold the same conflict; a write that sees it resolves it.
    net.pump()?;
    assert_eq!(net.get(0).state(), net.get(1).state());
    net.write(1, "status", "resolved")?;
    net.pump()?;
    for i in 0..2 {
        let w = net
            .node(i)
            .state()
            .register_writes(&["status"])
            .ok_or("no register")?;
        assert_eq!(w.values().count(), 1);
    }
    Ok(())
}

#[test]
fn a_peer_a_day_behind_fences_no_one_and_knows_it_is_behind() -> Res {
    let mut net = Net::new(5)?;
    net.skew(4, -DAY);
    for i in 0..4 {
        net.write(i, &format!("r{i}"), "honest")?;
        net.count(i)?;
    }
    net.wait(1_000)?;
    // The peer behind holds everyone's register writes, applies their counters, and tells
    // them; but one report out of four fences no one.
    let behind = net.get(4).stats();
    assert_eq!(behind.skew.held_writes, 4);
    assert!(behind.skew.behind);
    assert_eq!(net.get(4).state().counter(&["count"]), 4);
    for i in 0..4 {
        let s = net.get(i).stats();
        assert!(s.skew.reports >= 1, "node {i}");
        assert_eq!(s.skew.fenced_ms, None, "node {i}");
        assert!(!s.skew.behind);
        net.write(i, "after", "still writing")?;
    }
    net.wait(1_000)?;
    for i in 0..4 {
        assert_eq!(net.get(i).state(), net.get(0).state(), "node {i}");
    }
    // Once its clock is fixed, the held writes' time has come: it catches up.
    net.skew(4, 0);
    net.wait(1_000)?;
    assert_eq!(net.get(4).state(), net.get(0).state());
    assert!(!net.get(4).stats().skew.behind);
    Ok(())
}

/// A last-writer-wins map has only stamped entries: those stamped beyond the bound are held
/// back (not refused), the others apply, and a day later the held ones land.
#[test]
fn lww_map_entries_a_day_ahead_are_held_back_not_refused() -> Res {
    use deltacrdt::LwwMap;
    let now = Arc::new(AtomicU64::new(0));
    let skew = Arc::new(AtomicI64::new(0));
    let engine = |n: u128, skewed: bool| -> Res<SyncEngine<LwwMap<String, u64>>> {
        let (t, s) = (Arc::clone(&now), Arc::clone(&skew));
        let clock = move || {
            let off = if skewed { s.load(Ordering::SeqCst) } else { 0 };
            (EPOCH + t.load(Ordering::SeqCst)).saturating_add_signed(off)
        };
        let hlc = Hlc::builder(ReplicaId::from_u128(n)).clock(clock).build()?;
        Ok(SyncEngine::new(hlc))
    };
    let (mut a, mut b) = (engine(1, true)?, engine(2, false)?);
    a.connect(b.id());
    b.connect(a.id());
    let put = |e: &mut SyncEngine<LwwMap<String, u64>>, k: &str, v: u64| -> Res {
        e.update(|m, hlc| -> Res<_> { Ok(m.insert(k.to_owned(), v, hlc.now()?)) })
    };
    let pump = |a: &mut SyncEngine<LwwMap<String, u64>>,
                b: &mut SyncEngine<LwwMap<String, u64>>| {
        for _ in 0..20 {
            while let Some(t) = a.poll_transmit() {
                let _ = b.receive(a.id(), &t.bytes);
            }
            while let Some(t) = b.poll_transmit() {
                let _ = a.receive(b.id(), &t.bytes);
            }
        }
    };
    put(&mut a, "before", 1)?;
    pump(&mut a, &mut b);
    skew.store(DAY, Ordering::SeqCst);
    put(&mut a, "ahead", 2)?;
    pump(&mut a, &mut b);
    assert_eq!(b.state().get(&"before".to_owned()), Some(&1));
    assert_eq!(b.state().get(&"ahead".to_owned()), None, "held back");
    assert_eq!(
        (b.stats().drift_rejections, b.stats().skew.held_writes),
        (0, 1)
    );
    assert!(a.hlc().fenced().is_some(), "told, and fenced");
    now.fetch_add(DAY as u64, Ordering::SeqCst);
    b.tick(DAY as u64);
    assert_eq!(b.state().get(&"ahead".to_owned()), Some(&2));
    assert_eq!(b.stats().skew.released, 1);
    Ok(())
}

#[test]
fn the_hold_is_bounded_and_what_does_not_fit_is_refused_not_lost() -> Res {
    let mut net = Net::with(2, |i| SyncConfig {
        max_held_bytes_per_peer: if i == 1 { 4_000 } else { 1 << 20 },
        ..SyncConfig::default()
    })?;
    net.skew(0, DAY);
    // One message of three 2 kB writes stamped a day ahead, and a counter: over the cap.
    let big = "x".repeat(2_000);
    for r in ["a", "b", "c"] {
        net.write(0, r, &big)?;
    }
    net.count(0)?;
    net.pump()?;
    let s = net.get(1).stats();
    assert_eq!(s.skew.held_writes, 0);
    assert_eq!(s.drift_rejections, 0);
    assert!(s.skew.refused >= 1, "{:?}", s.skew);
    // The counter (no stamp) applies all the same; the message is not acknowledged, so the
    // sender keeps it and sends it again; and the sender is told.
    assert_eq!(net.get(1).state().counter(&["count"]), 1);
    assert!(net.get(0).hlc().fenced().is_some());
    assert!(net.get(0).stats().peers[0].lag > 0);
    net.wait(1_000)?;
    assert_eq!(net.get(1).stats().skew.held_writes, 0);
    net.wait(DAY as u64)?;
    net.wait(1_000)?;
    let doc = net.get(1).state();
    assert_eq!(doc.counter(&["count"]), 1);
    for r in ["a", "b", "c"] {
        assert!(doc.register(&[r]).is_some(), "{r} lost");
    }
    assert_eq!(net.get(0).state(), net.get(1).state());
    Ok(())
}

/// The same on loopback, through authenticated `Network`s and spawned nodes: the peer a day
/// ahead is held back and told, fences itself, and once its clock is fixed forks to a fresh id
/// its key owns, reopens its session under it, and its writes arrive again.
#[cfg(feature = "tokio")]
mod loopback {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use deltacrdt::{
        ClockError, Doc, Hlc, NetConfig, Network, NodeHandle, SyncEngine, SyncNode, UpdateError,
    };
    use tokio::time::timeout;

    use crate::peers::{group, id, key};

    const DAY: i64 = 86_400_000;
    const WAIT: Duration = Duration::from_secs(10);

    fn node(n: u128, skew: &Arc<AtomicI64>) -> SyncNode<SyncEngine<Doc>> {
        let skew = Arc::clone(skew);
        let clock = move || {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            (now.as_millis() as u64).saturating_add_signed(skew.load(Ordering::SeqCst))
        };
        let engine = SyncEngine::new(Hlc::builder(id(n)).clock(clock).build().unwrap());
        SyncNode::new(
            engine,
            Network::new(id(n), NetConfig::new(key(n), group())).unwrap(),
        )
    }

    async fn until<F>(what: &str, mut f: F)
    where
        F: AsyncFnMut() -> bool,
    {
        timeout(WAIT, async {
            while !f().await {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }

    async fn set(
        node: &NodeHandle<SyncEngine<Doc>>,
        path: &'static str,
        value: &'static str,
    ) -> Result<u64, UpdateError<deltacrdt::Error, deltacrdt::NodeError>> {
        node.update(move |doc, hlc| Ok(doc.set(hlc.now()?, &[path], value.into())?))
            .await
    }

    async fn reads(node: &NodeHandle<SyncEngine<Doc>>, path: &'static str) -> Option<String> {
        node.read(move |doc| doc.register(&[path]).map(|v| format!("{v:?}")))
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_peer_a_day_ahead_is_held_back_fenced_and_rejoins_under_a_fresh_id() {
        let (skew_a, skew_b) = (Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(0)));
        let (a, b) = (node(1, &skew_a), node(2, &skew_b));
        let addr = b.network().listen_tcp("127.0.0.1:0").await.unwrap();
        a.network().dial_tcp(addr.to_string());
        let (a, b) = (a.spawn(), b.spawn());
        until("the session", async || {
            a.progress().peers.iter().any(|p| p.connected)
        })
        .await;
        skew_a.store(DAY, Ordering::SeqCst);
        set(&a, "title", "a day ahead").await.unwrap();
        a.edit(|doc, hlc| doc.increment(hlc.replica(), &["n"], 1).unwrap())
            .await
            .unwrap();
        // The counter arrives; the register write is held back, not refused.
        until("the counter and the hold", async || {
            let s = b.stats().await.unwrap();
            let n = b.read(|d| d.counter(&["n"])).await.unwrap();
            n == 1 && s.skew.held_writes == 1
        })
        .await;
        assert_eq!(reads(&b, "title").await, None);
        assert_eq!(b.stats().await.unwrap().drift_rejections, 0);
        // `a` was told, and fences its register writes with a typed error.
        until("the fence", async || {
            a.stats().await.unwrap().skew.fenced_ms.is_some()
        })
        .await;
        match set(&a, "title", "still ahead").await {
            Err(UpdateError::Edit(deltacrdt::Error::Clock(ClockError::Fenced { .. }))) => {}
            other => panic!("not fenced: {other:?}"),
        }
        // Its clock is fixed: it forks to a fresh id of its key, and its next write arrives.
        // A fenced engine asks to be ticked every second, so it notices without a local write.
        let old = a.progress().id;
        skew_a.store(0, Ordering::SeqCst);
        until("the fork", async || a.progress().id != old).await;
        let new = a.progress().id;
        assert!(key(1).public().owns(new));
        assert_eq!(a.stats().await.unwrap().forks, 1);
        assert_eq!(a.stats().await.unwrap().skew.fenced_ms, None);
        set(&a, "title", "fixed").await.unwrap();
        until("the fixed write", async || {
            reads(&b, "title").await.as_deref() == Some("Scalar(Str(\"fixed\"))")
        })
        .await;
        let s = b.stats().await.unwrap();
        assert_eq!(s.drift_rejections, 0);
    }
}
