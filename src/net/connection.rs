//! One connection's life: the auth handshake (protocol 2, Noise XX), then sealed frames both
//! ways, with keepalives, until either side closes, an error, a stall, a block or shutdown.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::NetError;
use super::link::{FrameSink, FrameStream};
use super::shared::{Admission, Shared};
use crate::auth::{Handshake, Role, Sealer, Session};
use crate::id::ReplicaId;

/// How a connection ended, for its dialer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ended {
    /// A session that heard from its peer: the dialer resets its backoff.
    Served,
    /// Failed or refused (or a session that closed before its peer sent a frame, as when the
    /// peer refuses it): the dialer backs off further.
    Failed,
    /// Refused because this peer already has a live session here.
    Duplicate(ReplicaId),
}

/// Runs a connection to its end. Errors are logged and counted here. An inbound connection
/// comes with its `admission` among the handshakes in progress: pushed out by a newer one, it
/// closes; authenticated, it gives its place up.
pub(super) async fn run(
    shared: Arc<Shared>,
    mut sink: FrameSink,
    mut stream: FrameStream,
    (role, admission): (Role, Option<Admission>),
    remote: String,
) -> Ended {
    let limit = shared.config.handshake_timeout;
    let pushed_out = async {
        match &admission {
            Some(a) => a.pushed_out().await,
            None => std::future::pending().await,
        }
    };
    let handshake = tokio::select! {
        r = timeout(limit, handshake(&shared, role, &mut sink, &mut stream)) => {
            r.unwrap_or(Err(NetError::HandshakeTimeout(limit)))
        }
        () = pushed_out => {
            debug!(remote, "handshake pushed out by a newer connection");
            return Ended::Failed;
        }
        () = shared.cancel.cancelled() => return Ended::Failed,
    };
    drop(admission);
    let session = match handshake {
        Ok(session) => session,
        Err(err) => {
            shared.refuse(&err, &remote);
            let _ = timeout(limit, sink.close()).await;
            return Ended::Failed;
        }
    };
    let mut heard = false;
    let ended = match serve(
        &shared,
        session,
        &mut sink,
        &mut stream,
        &remote,
        &mut heard,
    )
    .await
    {
        Ok(()) if heard => Ended::Served,
        Ok(()) => Ended::Failed,
        Err(err) => {
            shared.refuse(&err, &remote);
            match err {
                NetError::DuplicateSession { replica } => Ended::Duplicate(replica),
                _ if heard => Ended::Served,
                _ => Ended::Failed,
            }
        }
    };
    let _ = timeout(limit, sink.close()).await;
    ended
}

/// The three messages of auth protocol 2 (`src/auth/PROTOCOL.md`), in this side's `role`.
async fn handshake(
    shared: &Shared,
    role: Role,
    sink: &mut FrameSink,
    stream: &mut FrameStream,
) -> Result<Session, NetError> {
    let me = shared.with(|s| s.me);
    let config = &shared.config;
    let hs = Handshake::new(&config.identity, &config.allow, me);
    let mut next = async || stream.next().await.ok_or(NetError::ClosedInHandshake)?;
    match role {
        Role::Initiator => {
            let (hs, first) = hs.initiate()?;
            sink.send(first).await?;
            let (last, session) = hs.read_response(&next().await?)?;
            sink.send(last).await?;
            Ok(session)
        }
        Role::Responder => {
            let (second, hs) = hs.respond().read_hello(&next().await?)?;
            sink.send(second).await?;
            Ok(hs.read_final(&next().await?)?)
        }
    }
}

async fn serve(
    shared: &Shared,
    session: Session,
    sink: &mut FrameSink,
    stream: &mut FrameStream,
    remote: &str,
    heard: &mut bool,
) -> Result<(), NetError> {
    let peer = session.peer();
    let (mut sealer, mut opener) = (session.sealer, session.opener);
    let (conn, mut queue, cancel) = shared.register(peer)?;
    info!(%peer, remote, "session open");
    let (keepalive, liveness) = (shared.config.keepalive, shared.config.liveness_timeout);
    let (mut last_out, mut last_in) = (Instant::now(), Instant::now());
    let result = loop {
        tokio::select! {
            () = cancel.cancelled() => break Ok(()),
            frame = queue.recv() => {
                let Some(frame) = frame else { break Ok(()) };
                match send_sealed(&mut sealer, sink, &cancel, &frame).await {
                    Ok(true) => {}
                    Ok(false) => break Ok(()),
                    Err(e) => break Err(e),
                }
                last_out = Instant::now();
                shared.with(|s| {
                    s.stats.frames_out += 1;
                    s.stats.bytes_out += frame.len() as u64;
                });
            }
            () = sleep_until(last_out + keepalive) => {
                // An empty frame: the peer's liveness timer restarts, its engine sees nothing.
                match send_sealed(&mut sealer, sink, &cancel, &[]).await {
                    Ok(true) => {}
                    Ok(false) => break Ok(()),
                    Err(e) => break Err(e),
                }
                last_out = Instant::now();
            }
            () = sleep_until(last_in + liveness) => break Err(NetError::Stalled(liveness)),
            item = stream.next() => {
                let sealed = match item {
                    None => break Ok(()),
                    Some(Err(e)) => break Err(e),
                    Some(Ok(sealed)) => sealed,
                };
                let frame = match opener.open(&sealed) {
                    Ok(frame) => frame,
                    Err(e) => break Err(e.into()),
                };
                *heard = true;
                last_in = Instant::now();
                if frame.is_empty() {
                    continue; // a keepalive
                }
                shared.with(|s| {
                    s.stats.frames_in += 1;
                    s.stats.bytes_in += frame.len() as u64;
                });
                tokio::select! {
                    r = shared.inbound.send((peer, frame)) => if r.is_err() { break Ok(()) },
                    () = cancel.cancelled() => break Ok(()),
                }
            }
        }
    };
    shared.deregister(peer, conn);
    debug!(%peer, remote, "session closed");
    result
}

/// Seals `frame` and sends it: `Ok(false)` if the session was cancelled first.
async fn send_sealed(
    sealer: &mut Sealer,
    sink: &mut FrameSink,
    cancel: &CancellationToken,
    frame: &[u8],
) -> Result<bool, NetError> {
    let sealed = sealer.seal(frame)?;
    tokio::select! {
        r = sink.send(sealed) => r.map(|()| true),
        () = cancel.cancelled() => Ok(false),
    }
}
