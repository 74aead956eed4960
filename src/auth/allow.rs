//! Who may join: the public keys a peer accepts, shared with the network that checks them and
//! replaceable while it runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use super::key::file_error;
use super::{AuthError, PublicKey};

/// The public keys a peer accepts a session with, each with an optional name.
///
/// A handle: clones share one list, so the copy given to a
/// [`NetConfig`](crate::NetConfig) sees every later [`insert`](Self::insert),
/// [`remove`](Self::remove) or [`reload`](Self::reload) — the next handshake uses it. Sessions
/// already open stay open.
///
/// The file form (`PROTOCOL.md`): one key (64 hex digits) per line, optionally followed by
/// whitespace and a name; `#` starts a comment; blank lines are ignored.
///
/// # Examples
/// ```
/// use deltacrdt::{AllowList, PeerKey};
/// let (alice, bob) = (PeerKey::generate()?, PeerKey::generate()?);
/// let allow = AllowList::parse(&format!("# the team\n{} alice\n", alice.public()))?;
/// assert!(allow.contains(&alice.public()) && !allow.contains(&bob.public()));
/// assert_eq!(allow.name(&alice.public()).as_deref(), Some("alice"));
/// let shared = allow.clone();
/// shared.insert(bob.public(), None);
/// assert!(allow.contains(&bob.public()), "clones share the list");
/// assert!(AllowList::parse("not a key").is_err());
/// # Ok::<(), deltacrdt::AuthError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct AllowList {
    keys: Arc<RwLock<BTreeMap<PublicKey, Option<String>>>>,
}

impl AllowList {
    /// An empty list: nobody may join.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A list of these keys, without names.
    #[must_use]
    pub fn of(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        let list = Self::new();
        for key in keys {
            list.insert(key, None);
        }
        list
    }

    /// Parses the file form.
    ///
    /// # Errors
    /// [`AuthError::AllowList`] naming the first line that is not a key, a comment or blank.
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        Ok(Self {
            keys: Arc::new(RwLock::new(parse_keys(text)?)),
        })
    }

    /// Reads and parses an allow-list file.
    ///
    /// # Errors
    /// [`AuthError::File`] if it cannot be read; as [`parse`](Self::parse).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, AuthError> {
        Self::parse(&read(path.as_ref())?)
    }

    /// Replaces the keys of this list (and of every clone) by the file's, all at once. On an
    /// error the list is left as it was.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn reload(&self, path: impl AsRef<Path>) -> Result<(), AuthError> {
        *self.write() = parse_keys(&read(path.as_ref())?)?;
        Ok(())
    }

    /// Adds (or renames) a key.
    pub fn insert(&self, key: PublicKey, name: Option<String>) {
        self.write().insert(key, name);
    }

    /// Removes a key; returns whether it was listed.
    pub fn remove(&self, key: &PublicKey) -> bool {
        self.write().remove(key).is_some()
    }

    /// Whether `key` may join.
    #[must_use]
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.read().contains_key(key)
    }

    /// The name a listed key was given, if any.
    #[must_use]
    pub fn name(&self, key: &PublicKey) -> Option<String> {
        self.read().get(key).cloned().flatten()
    }

    /// How many keys are listed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no key is listed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The listed keys, in order.
    #[must_use]
    pub fn keys(&self) -> Vec<PublicKey> {
        self.read().keys().copied().collect()
    }

    // A panic while the lock was held cannot leave the map half-updated (every write is one
    // map operation), so a poisoned lock is still a good list.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<PublicKey, Option<String>>> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<PublicKey, Option<String>>> {
        self.keys.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The keys and names of the file form.
fn parse_keys(text: &str) -> Result<BTreeMap<PublicKey, Option<String>>, AuthError> {
    let mut keys = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let (key, name) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let key = key.parse::<PublicKey>().map_err(|e| AuthError::AllowList {
            line: i + 1,
            why: e.to_string(),
        })?;
        let name = name.trim();
        keys.insert(key, (!name.is_empty()).then(|| name.to_owned()));
    }
    Ok(keys)
}

fn read(path: &Path) -> Result<String, AuthError> {
    std::fs::read_to_string(path).map_err(|e| file_error(path, &e))
}
