//! The scenario's peer processes: starting one, talking to it, and what it said.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::time::{Instant, sleep};

use crate::Error;
use crate::protocol::{Line, Report, Status};

/// How to start peers.
#[derive(Debug)]
pub(crate) struct Spawn<'a> {
    /// This very executable.
    pub(crate) exe: &'a Path,
    /// Where each peer's stderr goes, one file per peer.
    pub(crate) logs: &'a Path,
    /// The peer's seed for its random edits.
    pub(crate) seed: u64,
    /// The allow-list file (each peer's key is `peer.key` in its data directory).
    pub(crate) allow: &'a Path,
    /// Also accept WebSocket peers.
    pub(crate) ws: bool,
    /// The peer's data directory.
    pub(crate) data_dir: Option<&'a Path>,
    /// Relay-aware forwarding.
    pub(crate) relay_aware: bool,
    /// Serve metrics on a port of its own.
    pub(crate) metrics: bool,
}

/// What the scenario has heard from one peer.
#[derive(Debug, Default)]
pub(crate) struct View {
    pub(crate) ready: Option<(String, String, Option<String>)>,
    /// Where it serves its metrics and dashboard.
    pub(crate) metrics: Option<String>,
    /// With a data directory that held the replica: (sequence number, acknowledgements).
    pub(crate) resumed: Option<(u64, usize)>,
    pub(crate) status: Option<(Instant, Status)>,
    /// (when, digest) of every status since the heal.
    pub(crate) history: Vec<(Instant, u64)>,
    pub(crate) committed: Vec<String>,
    pub(crate) report: Option<(Instant, Report)>,
    pub(crate) replies: Vec<String>,
}

/// A peer process.
pub(crate) struct Peer {
    pub(crate) name: String,
    pub(crate) listen: String,
    pub(crate) process: Child,
    pub(crate) stdin: ChildStdin,
    pub(crate) view: Arc<Mutex<View>>,
    pub(crate) alive: bool,
}

impl Peer {
    pub(crate) fn view<R>(&self, f: impl FnOnce(&mut View) -> R) -> R {
        f(&mut self.view.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) async fn send(&mut self, line: &str) -> Result<(), Error> {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
        self.stdin.flush().await?;
        Ok(())
    }

    pub(crate) fn id(&self) -> String {
        self.view(|v| v.ready.as_ref().map(|r| r.0.clone()).unwrap_or_default())
    }

    pub(crate) fn status(&self) -> Option<Status> {
        self.view(|v| v.status.as_ref().map(|s| s.1.clone()))
    }
}

/// Starts a peer process and waits for its `ready` line (retrying while its address is still
/// held by a killed predecessor).
pub(crate) async fn spawn(o: &Spawn<'_>, name: String, listen: String) -> Result<Peer, Error> {
    let mut tries = 0;
    loop {
        tries += 1;
        let log = std::fs::File::create(o.logs.join(format!("{name}.log")))?;
        let mut cmd = Command::new(o.exe);
        cmd.arg("peer")
            .arg("--control")
            .args(["--listen", &listen, "--name", &name])
            .arg("--allow")
            .arg(o.allow)
            .args(["--seed", &o.seed.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        if o.ws {
            cmd.args(["--ws", "127.0.0.1:0"]);
        }
        if let Some(dir) = o.data_dir {
            cmd.arg("--data-dir").arg(dir);
        }
        if !o.relay_aware {
            cmd.arg("--no-relay-aware");
        }
        if o.metrics {
            cmd.args(["--metrics", "127.0.0.1:0"]);
        }
        let mut process = cmd.spawn()?;
        let (Some(stdin), Some(stdout)) = (process.stdin.take(), process.stdout.take()) else {
            return Err("child without pipes".into());
        };
        let view = Arc::new(Mutex::new(View::default()));
        tokio::spawn(read_lines(stdout, Arc::clone(&view)));
        let peer = Peer {
            name: name.clone(),
            listen: listen.clone(),
            process,
            stdin,
            view,
            alive: true,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut peer = peer;
        loop {
            if let Some((_, addr, _)) = peer.view(|v| v.ready.clone()) {
                peer.listen = addr;
                return Ok(peer);
            }
            if Instant::now() > deadline || matches!(peer.process.try_wait(), Ok(Some(_))) {
                break;
            }
            sleep(Duration::from_millis(20)).await;
        }
        let _ = peer.process.start_kill();
        if tries >= 10 {
            return Err(format!("peer {name} did not start (see its log)").into());
        }
        // The address may still be held by the killed process for a moment.
        sleep(Duration::from_millis(200)).await;
    }
}

/// Reads a peer's stdout lines into its view.
async fn read_lines(stdout: tokio::process::ChildStdout, view: Arc<Mutex<View>>) {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(parsed) = serde_json::from_str::<Line>(&line) else {
            continue;
        };
        let now = Instant::now();
        let mut v = view.lock().unwrap_or_else(PoisonError::into_inner);
        match parsed {
            Line::Ready {
                id,
                key: _,
                addr,
                ws,
                resumed,
                metrics,
            } => {
                v.ready = Some((id, addr, ws));
                v.resumed = resumed;
                v.metrics = metrics;
            }
            Line::Status(s) => {
                if let Some(digest) = s.digest {
                    v.history.push((now, digest));
                }
                v.status = Some((now, s));
            }
            Line::Committed { tags } => v.committed.extend(tags),
            Line::Report(r) => v.report = Some((now, *r)),
            Line::Reply { text } => v.replies.push(text),
        }
    }
}
