//! What a peer in `--control` mode tells the scenario: one JSON object per stdout line.
//! (The scenario talks to it in the prompt's own commands, on its stdin.)

use serde::{Deserialize, Serialize};

/// A line from a controlled peer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Line {
    /// Listening; the first line a peer prints.
    Ready {
        /// Its replica id.
        id: String,
        /// Its public key.
        key: String,
        /// Its TCP address.
        addr: String,
        /// Its WebSocket address, if any.
        ws: Option<String>,
        /// With a data directory that already held the replica: the sequence number it resumed
        /// at and how many peers' acknowledgements came back with it.
        resumed: Option<(u64, usize)>,
        /// Where it serves its metrics (`--metrics`).
        #[serde(default)]
        metrics: Option<String>,
    },
    /// Sent every 100 ms.
    Status(Status),
    /// Edits that became committed (see `board::is_committed`).
    Committed {
        /// Their unique tags.
        tags: Vec<String>,
    },
    /// The answer to `report`.
    Report(Box<Report>),
    /// The answer to a prompt command, as text.
    Reply {
        /// The text.
        text: String,
    },
}

/// A peer's progress.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Status {
    /// A digest of the document; `None` while the latest changes are not digested yet.
    pub(crate) digest: Option<u64>,
    /// Peers with an open session.
    pub(crate) links: usize,
    /// Edits made.
    pub(crate) edits: u64,
    /// Edits still to make.
    pub(crate) edits_left: u64,
    /// Frames sent by the engine.
    pub(crate) frames_out: u64,
    /// Bytes of frames sent by the engine.
    pub(crate) bytes_out: u64,
}

/// Everything the final table needs from one peer.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Report {
    /// Its replica id.
    pub(crate) id: String,
    /// Its key's fingerprint.
    pub(crate) key: String,
    /// Edits made.
    pub(crate) edits: u64,
    /// Σ over its edits of the encoded delta's size (the reference's per-link cost).
    pub(crate) delta_bytes: u64,
    /// Frames and bytes sent and received by the engine.
    pub(crate) msgs_out: u64,
    /// Bytes sent.
    pub(crate) bytes_out: u64,
    /// Frames received.
    pub(crate) msgs_in: u64,
    /// Bytes received.
    pub(crate) bytes_in: u64,
    /// Frames the network wrote to sockets (frames for peers without a session are not).
    pub(crate) wire_frames: u64,
    /// Their bytes (sync frames only: auth tags and length prefixes excluded).
    pub(crate) wire_bytes: u64,
    /// Full states sent to a new peer.
    pub(crate) full_new_peer: u64,
    /// Full states sent after a restart.
    pub(crate) full_restart: u64,
    /// Full states sent to a peer evicted from the buffer.
    pub(crate) full_evicted: u64,
    /// Retransmissions.
    pub(crate) retransmissions: u64,
    /// Connections refused, all reasons.
    pub(crate) refused: u64,
    /// Of which: peers whose key is not on the allow-list.
    pub(crate) refused_not_allowed: u64,
    /// Frames dropped by full queues.
    pub(crate) dropped_full: u64,
    /// Sessions opened.
    pub(crate) sessions: u64,
    /// The document as JSON.
    pub(crate) doc: String,
    /// Its digest.
    pub(crate) digest: u64,
    /// How its edits are committed (`memory: acknowledged by a peer` or the store's mode).
    pub(crate) durability: String,
    /// Its sequence number, and the part of it on disk (equal in memory).
    pub(crate) seq: u64,
    /// Of which durable.
    pub(crate) durable_seq: u64,
    /// When each edit tag first appeared at the peer (Unix ms; its own: when it made it).
    #[serde(default)]
    pub(crate) seen: Vec<(String, u64)>,
    /// The peer process's resident set size in bytes (Linux; 0 where unknown).
    #[serde(default)]
    pub(crate) rss_bytes: u64,
}
