//! The network adapters over real loopback sockets: framing of partial reads, oversized
//! frames, garbage, keys not allowed, impostors, other versions, reconnection after a restart, bounded queues,
//! WebSocket peers, one live session per replica id, our own id refused, a restored backup that
//! forks and reconnects under its new id, shutdown.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use std::time::Duration;

use deltacrdt::{
    AllowList, GCounter, Handshake, Hlc, NetConfig, Network, Session, SyncEngine, SyncNode,
    Transport,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};

type TestResult = Result<(), Box<dyn std::error::Error>>;

use crate::peers::{group, id, key};

/// Peer `n`'s network configuration: peers 1 to 64 allowed.
fn config(n: u128) -> NetConfig {
    NetConfig {
        max_frame_bytes: 1024,
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        handshake_timeout: Duration::from_secs(2),
        ..NetConfig::new(key(n), group())
    }
}

/// Polls `f` until it holds, for at most 10 s.
async fn until(what: &str, mut f: impl FnMut() -> bool) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}").into());
        }
        sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

async fn write_frame(s: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    s.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    s.write_all(bytes).await
}

async fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0; 4];
    s.read_exact(&mut len).await?;
    let mut buf = vec![0; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).await?;
    Ok(buf)
}

/// A hand-made client as peer `n`: the handshake over a raw socket, message 1 one byte per
/// write.
async fn raw_session(
    addr: &str,
    n: u128,
) -> Result<(TcpStream, Session), Box<dyn std::error::Error>> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let (key, allow) = (key(n), group());
    let (hs, first) = Handshake::new(&key, &allow, id(n)).initiate()?;
    let mut wire = (first.len() as u32).to_be_bytes().to_vec();
    wire.extend_from_slice(&first);
    for b in wire {
        s.write_all(&[b]).await?; // partial writes: the codec must reassemble
        s.flush().await?;
    }
    let (last, session) = hs.read_response(&read_frame(&mut s).await?)?;
    write_frame(&mut s, &last).await?;
    Ok((s, session))
}

/// Reads until the server closes the socket (EOF or reset) or 5 s pass.
async fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0; 256];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Ok(0) | Err(_)) = timeout(Duration::from_millis(100), s.read(&mut buf)).await {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_reads_are_reassembled_into_frames() -> TestResult {
    let mut a = Network::new(id(1), config(1))?;
    let addr = a.listen_tcp("127.0.0.1:0").await?.to_string();
    let (mut s, mut session) = raw_session(&addr, 2).await?;
    let sealed = session.sealer.seal(b"a frame split across many writes")?;
    let mut wire = (sealed.len() as u32).to_be_bytes().to_vec();
    wire.extend_from_slice(&sealed);
    for chunk in wire.chunks(3) {
        s.write_all(chunk).await?;
        s.flush().await?;
        sleep(Duration::from_millis(1)).await;
    }
    timeout(Duration::from_secs(5), a.readable()).await?;
    assert_eq!(
        a.recv()?,
        Some((id(2), b"a frame split across many writes".to_vec()))
    );
    // And the other way: the network seals what it sends.
    until("session registered", || a.peers() == vec![id(2)]).await?;
    a.send(id(2), b"reply".to_vec())?;
    let got = read_frame(&mut s).await?;
    assert_eq!(session.opener.open(&got)?, b"reply");
    a.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frame_is_a_typed_error_that_closes_only_its_connection() -> TestResult {
    let a_id = id(1);
    let engine = SyncEngine::<GCounter>::new(Hlc::builder(a_id).build()?);
    let mut a = SyncNode::new(engine, Network::new(a_id, config(1))?);
    let addr = a.network().listen_tcp("127.0.0.1:0").await?.to_string();
    // A good peer, connected throughout.
    let b_id = id(3);
    let mut b = SyncNode::new(
        SyncEngine::<GCounter>::new(Hlc::builder(b_id).build()?),
        Network::new(b_id, config(3))?,
    );
    b.network().dial_tcp(addr.clone());
    until("b connected", || b.network().peers() == vec![a_id]).await?;

    // Before the handshake: a length prefix far above the maximum.
    let mut s = TcpStream::connect(&addr).await?;
    s.write_all(&100_000_000u32.to_be_bytes()).await?;
    assert!(closed_by_server(&mut s).await);
    // After the handshake: a sealed frame above the maximum.
    let (mut s, mut session) = raw_session(&addr, 2).await?;
    let sealed = session.sealer.seal(&vec![0; 4096])?;
    write_frame(&mut s, &sealed).await?;
    assert!(closed_by_server(&mut s).await);
    until("both refusals counted", || {
        a.network().stats().refused.oversized == 2
    })
    .await?;
    // The engine never saw a byte of them; the good peer still syncs.
    assert_eq!(a.replica().stats().received.total().messages, 0);
    b.replica_mut()
        .update(|c, hlc| Ok::<_, deltacrdt::Error>(c.increment(hlc.replica(), 4)))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.replica().state().value() != 4 {
        assert!(
            Instant::now() < deadline,
            "the good peer's update did not arrive"
        );
        tokio::select! { _ = a.turn() => {}, _ = b.turn() => {} }
    }
    assert_eq!(a.replica().stats().decode_errors, 0);
    a.shutdown().await;
    b.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_wrong_keys_and_other_versions_are_refused() -> TestResult {
    let a = Network::new(id(1), config(1))?;
    let addr = a.listen_tcp("127.0.0.1:0").await?.to_string();

    // Garbage in a well-formed frame: not a hello.
    let mut s = TcpStream::connect(&addr).await?;
    write_frame(&mut s, b"GET / HTTP/1.1\r\n\r\n").await?;
    assert!(closed_by_server(&mut s).await);
    until("bad magic", || a.stats().refused.bad_magic == 1).await?;

    // Another auth version.
    let mut s = TcpStream::connect(&addr).await?;
    let (k2, allow) = (key(2), group());
    let (_, mut first) = Handshake::new(&k2, &allow, id(2)).initiate()?;
    first[4] = 9;
    write_frame(&mut s, &first).await?;
    assert!(closed_by_server(&mut s).await);
    until("incompatible", || a.stats().refused.incompatible == 1).await?;

    // A key nobody allows: refused by the listener, no session anywhere.
    let intruder = Network::new(id(100), config(100))?;
    intruder.dial_tcp(addr.clone());
    until("intruder refused", || a.stats().refused.not_allowed >= 1).await?;
    // A dialer that does not allow the listener's key refuses it before it says who it is.
    let wary = Network::new(id(7), NetConfig::new(key(7), AllowList::new()))?;
    wary.dial_tcp(addr.clone());
    until("the listener refused by the dialer", || {
        wary.stats().refused.not_allowed >= 1
    })
    .await?;
    // An allowed key claiming another peer's replica id: an impostor.
    let impostor = Network::new(id(3), config(8));
    assert!(
        matches!(impostor, Err(deltacrdt::NetError::NotOwned { .. })),
        "a network refuses an id its key does not own"
    );
    let mut s = TcpStream::connect(&addr).await?;
    let (k8, allow) = (key(8), group());
    let (hs, first) = Handshake::new(&k8, &allow, id(3)).initiate()?;
    write_frame(&mut s, &first).await?;
    let (last, _) = hs.read_response(&read_frame(&mut s).await?)?;
    write_frame(&mut s, &last).await?;
    assert!(closed_by_server(&mut s).await);
    until("impostor refused", || a.stats().refused.foreign_id == 1).await?;
    assert!(a.peers().is_empty() && intruder.peers().is_empty() && wary.peers().is_empty());
    wary.shutdown().await;

    // A tampered frame after a good handshake.
    let (mut s, mut session) = raw_session(&addr, 5).await?;
    let mut sealed = session.sealer.seal(b"frame")?;
    sealed[0] ^= 0xFF;
    write_frame(&mut s, &sealed).await?;
    assert!(closed_by_server(&mut s).await);
    until("bad tag", || a.stats().refused.bad_tag == 1).await?;

    // Through all that, a good peer connects and is served.
    let good = Network::new(id(6), config(6))?;
    good.dial_tcp(addr);
    until("good peer served", || a.peers() == vec![id(6)]).await?;
    intruder.shutdown().await;
    good.shutdown().await;
    a.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialer_reconnects_after_the_remote_restarts() -> TestResult {
    let a = Network::new(id(1), config(1))?;
    let addr = a.listen_tcp("127.0.0.1:0").await?;
    let mut b = Network::new(id(2), config(2))?;
    b.dial_tcp(addr.to_string());
    until("first session", || b.peers() == vec![id(1)]).await?;
    a.shutdown().await;
    drop(a);
    until("session gone", || b.peers().is_empty()).await?;
    // The remote comes back on the same address (here as a new replica).
    let mut a2 = Network::new(id(11), config(11))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match a2.listen_tcp(addr).await {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    until("reconnected", || b.peers() == vec![id(11)]).await?;
    assert!(b.stats().sessions >= 2 && b.stats().dials >= 2);
    b.send(id(11), b"after the restart".to_vec())?;
    timeout(Duration::from_secs(5), a2.readable()).await?;
    assert_eq!(a2.recv()?, Some((id(2), b"after the restart".to_vec())));
    assert!(b.take_new_peers().contains(&id(11)));
    b.shutdown().await;
    a2.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_stays_bounded_when_a_peer_stops_reading() -> TestResult {
    let mut a = Network::new(
        id(1),
        NetConfig {
            queue_frames: 8,
            ..config(1)
        },
    )?;
    let addr = a.listen_tcp("127.0.0.1:0").await?.to_string();
    // Authenticates, then never reads again.
    let (_stalled, _session) = raw_session(&addr, 2).await?;
    until("session", || a.peers() == vec![id(2)]).await?;
    let frame = vec![0xAB; 1000];
    let sends: u64 = 20_000;
    let started = Instant::now();
    for _ in 0..sends {
        a.send(id(2), frame.clone())?; // never blocks, never fails
        tokio::task::yield_now().await;
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    let stats = a.stats();
    // What went out is bounded by the socket buffers; the rest was dropped and counted.
    assert!(stats.dropped_full > 0, "{stats:?}");
    // Every frame was either written, dropped, or is among the 8 (+1 being written) queued.
    let accounted = stats.frames_out + stats.dropped_full;
    assert!(accounted <= sends && accounted + 9 >= sends, "{stats:?}");
    // Shutdown does not hang on the stalled peer.
    timeout(Duration::from_secs(5), a.shutdown()).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_peers_sync_and_blocking_partitions() -> TestResult {
    let node = |n: u128| -> Result<SyncNode<SyncEngine<GCounter>>, Box<dyn std::error::Error>> {
        let engine = SyncEngine::new(Hlc::builder(id(n)).build()?);
        Ok(SyncNode::new(engine, Network::new(id(n), config(n))?))
    };
    let (mut a, mut b) = (node(1)?, node(2)?);
    let ws = a.network().listen_ws("127.0.0.1:0").await?;
    b.network().dial_ws(format!("ws://{ws}/board"));
    b.replica_mut()
        .update(|c, hlc| Ok::<_, deltacrdt::Error>(c.increment(hlc.replica(), 2)))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.replica().state().value() != 2 {
        assert!(Instant::now() < deadline, "no sync over websocket");
        tokio::select! { _ = a.turn() => {}, _ = b.turn() => {} }
    }
    // Block: the session closes and stays closed; unblock: it comes back.
    a.network().block(id(2));
    until("blocked", || a.network().peers().is_empty()).await?;
    sleep(Duration::from_millis(300)).await;
    assert!(a.network().peers().is_empty());
    assert!(a.network().stats().refused.blocked >= 1);
    a.network().unblock(id(2));
    until("unblocked", || a.network().peers() == vec![id(2)]).await?;
    a.shutdown().await;
    b.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_dialing_each_other_keep_one_session() -> TestResult {
    let mut a = Network::new(id(1), config(1))?;
    let mut b = Network::new(id(2), config(2))?;
    let (addr_a, addr_b) = (
        a.listen_tcp("127.0.0.1:0").await?,
        b.listen_tcp("127.0.0.1:0").await?,
    );
    a.dial_tcp(addr_b.to_string());
    b.dial_tcp(addr_a.to_string());
    // Both dialers reach their peer; the second connection is refused as a duplicate.
    until("one session each, a duplicate refused", || {
        a.peers() == vec![id(2)]
            && b.peers() == vec![id(1)]
            && a.stats().refused.duplicate + b.stats().refused.duplicate >= 1
    })
    .await?;
    deliver(&mut a, &mut b, b"to b").await?;
    deliver(&mut b, &mut a, b"to a").await?;
    // Settled (if both handshakes finished at one instant, each side may first have kept a
    // different one; jittered redials settle it within a few backoffs of at most 200 ms): one
    // session each, and the dialer refused as a duplicate waits instead of redialing.
    sleep(Duration::from_millis(800)).await;
    let dials = (a.stats().dials, b.stats().dials);
    sleep(Duration::from_millis(800)).await;
    assert_eq!(
        (a.stats().dials, b.stats().dials),
        dials,
        "a dialer kept redialing: {:?} {:?}",
        a.stats(),
        b.stats()
    );
    assert_eq!((a.stats().open_sessions, b.stats().open_sessions), (1, 1));
    assert_eq!((a.peers(), b.peers()), (vec![id(2)], vec![id(1)]));
    a.shutdown().await;
    b.shutdown().await;
    Ok(())
}

/// Sends `frame` from `from` to `to` until it arrives (a session may still be settling).
async fn deliver(from: &mut Network, to: &mut Network, frame: &[u8]) -> TestResult {
    for _ in 0..50 {
        from.send(to.id(), frame.to_vec())?;
        if timeout(Duration::from_millis(200), to.readable())
            .await
            .is_ok()
        {
            assert_eq!(to.recv()?, Some((from.id(), frame.to_vec())));
            return Ok(());
        }
    }
    Err("frame not delivered".into())
}

/// The `tracing` output of the current thread, captured (a `current_thread` test runs every
/// task of its networks on it).
#[derive(Clone, Default)]
struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let log = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || log.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// Lines logged at `level` that contain `text`.
    fn count(&self, level: &str, text: &str) -> usize {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|l| l.contains(level) && l.contains(text))
            .count()
    }
}

#[tokio::test]
async fn a_second_live_session_under_one_replica_id_is_refused_and_the_first_carries_on()
-> TestResult {
    let log = Log::default();
    let _guard = log.capture();
    let mut a = Network::new(id(1), config(1))?;
    let addr = a.listen_tcp("127.0.0.1:0").await?.to_string();
    let ws = a.listen_ws("127.0.0.1:0").await?;
    // The first session of replica 2: a hand-made client.
    let (mut first, mut session) = raw_session(&addr, 2).await?;
    until("first session", || a.peers() == vec![id(2)]).await?;
    // A second TCP connection claiming replica 2 completes the handshake, then is refused.
    let (mut second, _) = raw_session(&addr, 2).await?;
    assert!(closed_by_server(&mut second).await);
    until("duplicate counted", || a.stats().refused.duplicate == 1).await?;
    // A second process under replica 2's id (a copied data directory) dialing over WebSocket:
    // refused on every redial, warned about once.
    let copy = Network::new(id(2), config(2))?;
    copy.dial_ws(format!("ws://{ws}/board"));
    until("three more duplicates", || a.stats().refused.duplicate >= 4).await?;
    copy.shutdown().await;
    assert_eq!(log.count("WARN", "already has a live session"), 1);
    assert!(log.count("DEBUG", "already has a live session") >= 3);
    // The first session is untouched, both ways.
    assert_eq!((a.peers(), a.stats().open_sessions), (vec![id(2)], 1));
    write_frame(&mut first, &session.sealer.seal(b"still here")?).await?;
    timeout(Duration::from_secs(5), a.readable()).await?;
    assert_eq!(a.recv()?, Some((id(2), b"still here".to_vec())));
    a.send(id(2), b"and you".to_vec())?;
    assert_eq!(
        session.opener.open(&read_frame(&mut first).await?)?,
        b"and you"
    );
    // Once it closes, replica 2 may connect again (and a new duplicate would warn again).
    drop(first);
    until("first session closed", || a.peers().is_empty()).await?;
    let (_third, _) = raw_session(&addr, 2).await?;
    until("replica 2 back", || a.peers() == vec![id(2)]).await?;
    assert_eq!(a.stats().refused.duplicate, a.stats().refused.total());
    a.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn connections_claiming_our_own_id_are_refused() -> TestResult {
    let log = Log::default();
    let _guard = log.capture();
    let a = Network::new(id(1), config(1))?;
    let addr = a.listen_tcp("127.0.0.1:0").await?;
    let ws = a.listen_ws("127.0.0.1:0").await?;
    let b = Network::new(id(2), config(2))?;
    b.dial_tcp(addr.to_string());
    until("a good peer", || a.peers() == vec![id(2)]).await?;
    // A node dialing itself, and a copy of it (same id) dialing the original over WebSocket.
    a.dial_tcp(addr.to_string());
    let copy = Network::new(id(1), config(1))?;
    copy.dial_ws(format!("ws://{ws}/board"));
    until("refused, on every redial", || {
        a.stats().refused.self_connection >= 6 && copy.stats().refused.self_connection >= 3
    })
    .await?;
    copy.shutdown().await;
    assert!(copy.peers().is_empty());
    assert_eq!(a.peers(), vec![id(2)], "the good peer is unaffected");
    assert_eq!(a.stats().open_sessions, 1);
    // One warning per network (the original and the copy), however many redials.
    assert_eq!(log.count("WARN", "own id"), 2);
    assert!(log.count("DEBUG", "own id") >= 6);
    a.shutdown().await;
    b.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_text_oversized_and_non_websocket_clients_are_refused() -> TestResult {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let a = Network::new(id(1), config(1))?;
    let ws = a.listen_ws("127.0.0.1:0").await?;
    let url = format!("ws://{ws}/");

    // A text message where the hello should be.
    let (mut c, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    c.send(Message::text("hello?")).await?;
    until("text refused", || a.stats().refused.other >= 1).await?;
    assert!(
        timeout(Duration::from_secs(5), async {
            while let Some(Ok(_)) = c.next().await {}
        })
        .await
        .is_ok()
    );

    // A binary message above the maximum.
    let (mut c, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    c.send(Message::binary(vec![0; 10_000])).await?;
    until("oversized refused", || a.stats().refused.oversized >= 1).await?;

    // Not a WebSocket at all.
    let mut s = TcpStream::connect(ws).await?;
    s.write_all(b"\x00\x00\x00\x05hello").await?;
    assert!(closed_by_server(&mut s).await);
    until("bad upgrade refused", || a.stats().refused.other >= 2).await?;

    // A good WebSocket peer is still served.
    let b = Network::new(id(2), config(2))?;
    b.dial_ws(url);
    until("good peer", || a.peers() == vec![id(2)]).await?;
    b.shutdown().await;
    a.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_sync_format_version_is_refused_by_the_engine_and_the_link_serves_on() -> TestResult
{
    let a_id = id(1);
    let engine = SyncEngine::<GCounter>::new(Hlc::builder(a_id).build()?);
    let mut a = SyncNode::new(engine, Network::new(a_id, config(1))?);
    let addr = a.network().listen_tcp("127.0.0.1:0").await?.to_string();
    let (mut s, mut session) = raw_session(&addr, 2).await?;
    // An authenticated peer from the future: "DC", format version 99, a kind, a body, a CRC.
    write_frame(
        &mut s,
        &session.sealer.seal(b"DC\x63\x01\x00\x00\x00\x00\x00")?,
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let pumped = timeout(Duration::from_secs(1), a.turn())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        if let Some(err) = pumped.refused.into_iter().next() {
            break err;
        }
        assert!(
            Instant::now() < deadline,
            "the frame never reached the engine"
        );
    };
    assert!(
        matches!(
            refused,
            deltacrdt::SyncError::Incompatible { found: 99, .. }
        ),
        "{refused:?}"
    );
    assert_eq!(a.replica().state().value(), 0);
    // The session is still up: the engine's hello to the new peer reaches it.
    assert_eq!(a.network().peers(), vec![id(2)]);
    let hello = read_frame(&mut s).await?;
    assert!(session.opener.open(&hello)?.starts_with(b"DC"));
    a.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_backup_forks_and_its_sessions_reopen_under_the_new_id() -> TestResult {
    use deltacrdt::Doc;
    use deltacrdt::durable::{DurableConfig, DurableReplica, MemoryStore};
    type Node = SyncNode<DurableReplica<Doc, MemoryStore>>;
    // Peer `n`'s replica in `store` (its stored id, or `id(n)` in an empty store).
    let open = |store: &MemoryStore, n: u128| -> Result<Node, Box<dyn std::error::Error>> {
        let durable = DurableConfig {
            new_replica: Some(id(n)),
            ..DurableConfig::default()
        };
        let replica = DurableReplica::open(store.clone(), durable)?;
        let me = replica.id();
        Ok(SyncNode::new(replica, Network::new(me, config(n))?))
    };
    let tag = |node: &mut Node, name: &str| -> TestResult {
        let commit = node
            .replica_mut()
            .update(|doc, hlc| doc.insert(hlc.replica(), &["tags"], name.into()))?;
        assert!(commit.durable);
        Ok(())
    };
    let store = MemoryStore::new();
    let mut a = open(&store, 1)?;
    tag(&mut a, "before")?;
    let backup = MemoryStore::new();
    backup.set_records(store.records());
    let mut p = open(&MemoryStore::new(), 2)?;
    let addr = p.network().listen_tcp("127.0.0.1:0").await?;
    a.network().dial_tcp(addr.to_string());
    tag(&mut a, "after")?;
    a.pump()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.replica().state() != a.replica().state() {
        assert!(Instant::now() < deadline, "no first sync");
        tokio::select! { r = a.turn() => { r?; }, r = p.turn() => { r?; } }
    }
    a.shutdown().await;
    // The backup comes back under id 1, one write behind what the peer has seen of it.
    let mut b = open(&backup, 1)?;
    assert_eq!(b.replica().id(), id(1));
    b.network().dial_tcp(addr.to_string());
    let deadline = Instant::now() + Duration::from_secs(15);
    while b.replica().state() != p.replica().state() || b.replica().id() == id(1) {
        assert!(
            Instant::now() < deadline,
            "the restored backup did not fork and converge"
        );
        tokio::select! { r = b.turn() => { r?; }, r = p.turn() => { r?; } }
    }
    assert_eq!(b.replica().stats().forks, 1);
    assert!(
        key(1).public().owns(b.replica().id()),
        "the fork is still its key's"
    );
    assert_eq!(
        b.network().id(),
        b.replica().id(),
        "the network follows the fork"
    );
    until("a session under the new id", || {
        p.network().peers().contains(&b.replica().id())
    })
    .await?;
    // Writes under the new id reach the peer.
    tag(&mut b, "restored")?;
    b.pump()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.replica().state() != b.replica().state() {
        assert!(
            Instant::now() < deadline,
            "the forked replica's write did not arrive"
        );
        tokio::select! { r = b.turn() => { r?; }, r = p.turn() => { r?; } }
    }
    b.shutdown().await;
    p.shutdown().await;
    Ok(())
}

/// A peer whose session closed shows as not connected in the engine's stats (it used to stay
/// `connected` for ever), keeps its acknowledgements, and shows connected again, and syncs,
/// when it comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_session_shows_its_peer_disconnected_until_it_is_back() -> TestResult {
    let engine = |n: u128| SyncEngine::<GCounter>::new(Hlc::builder(id(n)).build().unwrap());
    let mut b = SyncNode::new(engine(2), Network::new(id(2), config(2))?);
    let addr = b.network().listen_tcp("127.0.0.1:0").await?;
    let connected = |b: &SyncNode<SyncEngine<GCounter>>| {
        b.replica()
            .stats()
            .peers
            .iter()
            .find(|p| p.peer == id(1))
            .map(|p| (p.connected, p.acked))
    };
    let bump = |n: &mut SyncNode<SyncEngine<GCounter>>, by: u64| {
        let me = n.replica().id();
        n.replica_mut()
            .update(|c, _| Ok::<_, std::convert::Infallible>(c.increment(me, by)))
            .unwrap();
    };
    let mut a = SyncNode::new(engine(1), Network::new(id(1), config(1))?);
    a.network().dial_tcp(addr.to_string());
    bump(&mut b, 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.replica().state().value() != 1 || connected(&b).and_then(|c| c.1) != Some(1) {
        assert!(Instant::now() < deadline, "no first sync");
        let _ = timeout(Duration::from_millis(50), async {
            tokio::select! { _ = a.turn() => {}, _ = b.turn() => {} }
        })
        .await;
    }
    assert_eq!(connected(&b), Some((true, Some(1))));
    // A goes away: B's turn wakes on the closed session, and the peer shows disconnected.
    let state = a.shutdown().await.state().clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    while connected(&b) != Some((false, Some(1))) {
        assert!(
            Instant::now() < deadline,
            "still connected: {:?}",
            connected(&b)
        );
        let _ = timeout(Duration::from_millis(50), b.turn()).await;
    }
    // It comes back (same id, same state) and syncs a new increment.
    let hlc = Hlc::builder(id(1)).build()?;
    let restored = SyncEngine::restore(hlc, state, 0, deltacrdt::SyncConfig::default());
    let mut a = SyncNode::new(restored, Network::new(id(1), config(1))?);
    a.network().dial_tcp(addr.to_string());
    bump(&mut b, 2);
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.replica().state().value() != 3 || connected(&b).is_none_or(|c| !c.0) {
        assert!(Instant::now() < deadline, "not back: {:?}", connected(&b));
        let _ = timeout(Duration::from_millis(50), async {
            tokio::select! { _ = a.turn() => {}, _ = b.turn() => {} }
        })
        .await;
    }
    a.shutdown().await;
    b.shutdown().await;
    Ok(())
}

/// A man in the middle that stops forwarding one direction: the side that no longer hears
/// anything, not even keepalives, closes the session within the liveness timeout and shows
/// its peer disconnected; a quiet but healthy session stays open meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_direction_closes_the_session_within_the_liveness_timeout() -> TestResult {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let quick = |n: u128| NetConfig {
        keepalive: Duration::from_millis(100),
        liveness_timeout: Duration::from_millis(600),
        ..config(n)
    };
    let a = Network::new(id(1), quick(1))?;
    let addr = a.listen_tcp("127.0.0.1:0").await?;
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let via = proxy.local_addr()?;
    let stall = Arc::new(AtomicBool::new(false));
    let stalled = Arc::clone(&stall);
    tokio::spawn(async move {
        while let Ok((client, _)) = proxy.accept().await {
            let Ok(server) = TcpStream::connect(addr).await else {
                continue;
            };
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            tokio::spawn(async move { tokio::io::copy(&mut cr, &mut sw).await });
            let stalled = Arc::clone(&stalled);
            tokio::spawn(async move {
                let mut buf = [0; 4096];
                while let Ok(n) = sr.read(&mut buf).await {
                    // Stalled: what the listener sends is swallowed.
                    if n == 0
                        || (!stalled.load(Ordering::Relaxed)
                            && cw.write_all(&buf[..n]).await.is_err())
                    {
                        break;
                    }
                }
            });
        }
    });
    let b = Network::new(id(2), quick(2))?;
    b.dial_tcp(via.to_string());
    until("connected through the proxy", || {
        b.peers() == vec![id(1)] && a.peers() == vec![id(2)]
    })
    .await?;
    // Quiet for well over the liveness timeout: keepalives keep the session.
    sleep(Duration::from_millis(1500)).await;
    assert_eq!(b.peers(), vec![id(1)]);
    assert_eq!((a.stats().sessions, b.stats().sessions), (1, 1));
    stall.store(true, Ordering::Relaxed);
    let stalled_at = Instant::now();
    until("the stalled side closes", || b.peers().is_empty()).await?;
    let took = stalled_at.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(2500),
        "closed after {took:?}"
    );
    assert!(b.stats().refused.stalled >= 1, "{:?}", b.stats().refused);
    b.shutdown().await;
    a.shutdown().await;
    Ok(())
}
