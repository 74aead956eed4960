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

use deltacrdt::{Delta, Doc, Edit, Error, Replica, UpdateError, encode};

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
/// The clock's, if it cannot issue a timestamp, or the replica's, if it cannot commit.
pub(crate) fn random_edit<R: Replica<State = Doc>>(
    replica: &mut R,
    rng: &mut Rng,
    tag: &str,
) -> Result<usize, UpdateError<Error, R::Error>> {
    let mut size = 0;
    let roll = rng.next() % 6;
    let card = rng.pick(&CARDS);
    let (label, person) = (rng.pick(&LABELS), rng.pick(&PEOPLE));
    replica.update(|doc, hlc| -> Result<Delta<Doc>, Error> {
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

/// Whether the local edit that brought the sequence number to `seq` is *committed*: it
/// survives this process dying. This is the one place that defines it: on disk (a replica
/// with a data directory), or acknowledged by at least one other peer (in memory). One rule
/// serves both, since a durable replica sends nothing a crash could still lose, so a peer
/// only ever acknowledges what is on disk.
pub(crate) fn is_committed(replica: &impl Replica, seq: u64) -> bool {
    replica.durable_seq() >= seq
        || replica
            .stats()
            .peers
            .iter()
            .any(|p| p.acked.is_some_and(|a| a >= seq))
}

/// A digest of the document (of its JSON rendering, which sorts sets and keys).
pub(crate) fn digest(doc: &Doc) -> u64 {
    let mut h = DefaultHasher::new();
    doc.to_json().to_string().hash(&mut h);
    h.finish()
}

/// [`digest`] for the status line, every 100 ms: recomputed only after the document changed,
/// and then at most a fifth of the time (rendering 60,000 edits takes ~30 ms). `None` while
/// a change is not digested yet: the scenario counts a peer as converged only on a fresh one.
#[derive(Debug, Default)]
pub(crate) struct Digest {
    value: Option<u64>,
    stale: bool,
    not_before: Option<std::time::Instant>,
}

impl Digest {
    /// The document changed.
    pub(crate) fn invalidate(&mut self) {
        self.stale = true;
    }

    /// The digest of `doc` if it is up to date or may be recomputed now.
    pub(crate) fn get(&mut self, doc: &Doc) -> Option<u64> {
        let now = std::time::Instant::now();
        if self.value.is_none() || self.stale && self.not_before.is_none_or(|t| now >= t) {
            self.value = Some(digest(doc));
            self.stale = false;
            self.not_before = Some(now + now.elapsed() * 4);
        }
        (!self.stale).then_some(self.value).flatten()
    }
}

/// Applies an edit typed at the prompt (parsed by `commands::parse`) at the slash-separated
/// `path`. A register write is stamped now, by the replica's clock.
///
/// # Errors
/// [`UpdateError::Edit`] for an empty path or the clock's refusal; [`UpdateError::Replica`]
/// if the replica could not commit it.
pub(crate) fn apply_command<R: Replica<State = Doc>>(
    replica: &mut R,
    path: &str,
    edit: Edit,
) -> Result<(), UpdateError<Error, R::Error>> {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    replica.update(|doc, hlc| {
        let edit = match edit {
            Edit::Write(_, value) => Edit::Write(hlc.now()?, value),
            other => other,
        };
        Ok::<_, Error>(doc.apply_edit(hlc.replica(), &parts, edit)?)
    })?;
    Ok(())
}
