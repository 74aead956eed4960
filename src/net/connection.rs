//! One connection's life: the auth handshake, then sealed frames both ways until either side
//! closes, an error, a block or shutdown.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::time::timeout;
use tracing::{debug, info};

use super::NetError;
use super::link::{FrameSink, FrameStream};
use super::shared::{Admission, Shared};
use crate::auth::{Handshake, NONCE_LEN, Role, Session};
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

async fn handshake(
    shared: &Shared,
    role: Role,
    sink: &mut FrameSink,
    stream: &mut FrameStream,
) -> Result<Session, NetError> {
    let mut nonce = [0; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(NetError::Random)?;
    let me = shared.with(|s| s.me);
    let hs = Handshake::new(&shared.config.key, role, me, nonce);
    sink.send(hs.hello().to_vec()).await?;
    let hello = stream.next().await.ok_or(NetError::ClosedInHandshake)??;
    let (proof, hs) = hs.read_hello(&hello)?;
    sink.send(proof.to_vec()).await?;
    let proof = stream.next().await.ok_or(NetError::ClosedInHandshake)??;
    Ok(hs.read_proof(&proof)?)
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
    let result = loop {
        tokio::select! {
            () = cancel.cancelled() => break Ok(()),
            frame = queue.recv() => {
                let Some(frame) = frame else { break Ok(()) };
                let sealed = sealer.seal(&frame);
                tokio::select! {
                    r = sink.send(sealed) => if let Err(e) = r { break Err(e) },
                    () = cancel.cancelled() => break Ok(()),
                }
                shared.with(|s| {
                    s.stats.frames_out += 1;
                    s.stats.bytes_out += frame.len() as u64;
                });
            }
            item = stream.next() => {
                let mut frame = match item {
                    None => break Ok(()),
                    Some(Err(e)) => break Err(e),
                    Some(Ok(sealed)) => sealed,
                };
                // The frame is the sealed bytes without their tag: opened in place, no copy.
                match opener.open(&frame) {
                    Ok(opened) => {
                        let len = opened.len();
                        frame.truncate(len);
                    }
                    Err(e) => break Err(e.into()),
                }
                *heard = true;
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
