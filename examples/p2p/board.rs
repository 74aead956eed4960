//! The shared document: a team's task board, and the edits made to it.
//!
//! ```text
//! title        register   the board's name
//! likes        counter
//! tags         set        board-wide tags
//! cards/NAME/  map        votes (counter), labels (set), owner (register)
//! log          set        one unique tag per edit: how the scenario checks no edit was lost
//! ```

use std::hash::{DefaultHasher, Hash, Hasher};

use deltacrdt::durable::{Durability, DurableReplica, Store};
use deltacrdt::{Delta, Doc, Error, Hlc, Replica, SyncEngine, encode};

const CARDS: [&str; 4] = ["ship-it", "fix-login", "write-docs", "plan-q3"];
const LABELS: [&str; 5] = ["urgent", "bug", "ux", "backend", "later"];
const PEOPLE: [&str; 4] = ["ana", "bo", "chen", "dee"];

/// A small seeded generator (SplitMix64) for the random edits.
#[derive(Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        let i = usize::try_from(self.next() % from.len() as u64).unwrap_or(0);
        from.get(i).copied().unwrap_or("")
    }
}

/// One random edit of the board, plus its unique `tag` in the log, as one delta-group.
/// Returns the encoded size of that delta (what the bandwidth reference counts).
///
/// # Errors
/// The clock's, if it cannot issue a timestamp.
pub(crate) fn random_edit(
    replica: &mut impl Board,
    rng: &mut Rng,
    tag: &str,
) -> Result<usize, Error> {
    let mut size = 0;
    let roll = rng.next() % 6;
    let card = rng.pick(&CARDS);
    let (label, person) = (rng.pick(&LABELS), rng.pick(&PEOPLE));
    replica.edit(|doc, hlc| -> Result<Delta<Doc>, Error> {
        let me = hlc.replica();
        let mut d = match roll {
            0 => doc.increment(me, &["likes"], 1)?,
            1 => doc.increment(me, &["cards", card, "votes"], 1)?,
            2 => doc.insert(me, &["cards", card, "labels"], label.into())?,
            3 => doc.set(hlc.now()?, &["cards", card, "owner"], person.into())?,
            4 => doc.insert(me, &["tags"], label.into())?,
            _ => doc.set(hlc.now()?, &["title"], format!("Board by {person}").into())?,
        };
        d.join(doc.insert(me, &["log"], tag.into())?);
        size = encode(&*d).map_or(0, |bytes| bytes.len());
        Ok(d)
    })?;
    Ok(size)
}

/// A replica of the board: in memory (a [`SyncEngine`]) or in a data directory (a
/// [`DurableReplica`]); the sync loop drives either through [`Replica`].
pub(crate) trait Board: Replica {
    /// The engine, to read the state and the statistics.
    fn engine(&self) -> &SyncEngine<Doc>;

    /// Applies a local edit (and, with a store, commits it under its durability).
    fn edit(
        &mut self,
        f: impl FnOnce(&mut Doc, &mut Hlc) -> Result<Delta<Doc>, Error>,
    ) -> Result<(), Error>;

    /// Whether the local edit that brought the sequence number to `seq` is *committed*: it
    /// survives this process dying.
    ///
    /// This is the one place that defines it. In memory: acknowledged by at least one other
    /// peer. With a data directory: on disk (the store's durable sequence number reached it).
    fn is_committed(&self, seq: u64) -> bool;

    /// Writes everything pending, the peers' acknowledgements included (so a restart resumes
    /// delta sync from them); nothing to do in memory.
    fn flush(&mut self) -> Result<(), Error>;

    /// The sequence number up to which everything survives a crash (memory: none of it).
    fn durable_seq(&self) -> u64;

    /// How edits are committed, for the report.
    fn durability(&self) -> String;
}

impl Board for SyncEngine<Doc> {
    fn engine(&self) -> &SyncEngine<Doc> {
        self
    }

    fn edit(
        &mut self,
        f: impl FnOnce(&mut Doc, &mut Hlc) -> Result<Delta<Doc>, Error>,
    ) -> Result<(), Error> {
        self.update(f)
    }

    fn is_committed(&self, seq: u64) -> bool {
        self.stats()
            .peers
            .iter()
            .any(|p| p.acked.is_some_and(|a| a >= seq))
    }

    fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }

    fn durable_seq(&self) -> u64 {
        0
    }

    fn durability(&self) -> String {
        "memory (committed = acknowledged by a peer)".into()
    }
}

impl<S: Store> Board for DurableReplica<Doc, S> {
    fn engine(&self) -> &SyncEngine<Doc> {
        DurableReplica::engine(self)
    }

    fn edit(
        &mut self,
        f: impl FnOnce(&mut Doc, &mut Hlc) -> Result<Delta<Doc>, Error>,
    ) -> Result<(), Error> {
        // Under group commit the edit is durable after the next flush (the pump that sends it).
        let _commit = self.update(f)?;
        Ok(())
    }

    fn is_committed(&self, seq: u64) -> bool {
        self.durable_seq() >= seq
    }

    fn flush(&mut self) -> Result<(), Error> {
        DurableReplica::flush(self)?;
        Ok(())
    }

    fn durable_seq(&self) -> u64 {
        DurableReplica::durable_seq(self)
    }

    fn durability(&self) -> String {
        match DurableReplica::durability(self) {
            Durability::Group => "group commit (a sync per network turn; committed = on disk)",
            _ => "per operation (a sync per change; committed = on disk)",
        }
        .into()
    }
}

/// A digest of the document (of its JSON rendering, which sorts sets and keys).
pub(crate) fn digest(doc: &Doc) -> u64 {
    let mut h = DefaultHasher::new();
    doc.to_json().to_string().hash(&mut h);
    h.finish()
}

/// Edits typed at the prompt: `inc PATH [N]`, `add PATH VALUE`, `set PATH TEXT`.
///
/// # Errors
/// An empty path or the clock's refusal.
pub(crate) fn apply_command(
    replica: &mut impl Board,
    verb: &str,
    path: &str,
    arg: &str,
) -> Result<(), Error> {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    replica.edit(
        |doc: &mut Doc, hlc: &mut Hlc| -> Result<Delta<Doc>, Error> {
            let me = hlc.replica();
            Ok(match verb {
                "inc" => doc.increment(me, &parts, arg.parse().unwrap_or(1))?,
                "add" => doc.insert(me, &parts, arg.into())?,
                _ => doc.set(hlc.now()?, &parts, arg.into())?,
            })
        },
    )
}
