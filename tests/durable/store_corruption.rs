//! Damaged redb store files: every truncation and every single-bit flip, at many offsets of a
//! real file, either opens into exactly the committed replica or is refused with a typed
//! error; never a different or partial replica, never a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::panic,
    reason = "tests"
)]

use std::path::PathBuf;

use deltacrdt::durable::{
    DurableConfig, DurableReplica, RedbStore, STORE_FORMAT_VERSION, StoreError,
};
use deltacrdt::{Doc, Error, ReplicaId};

const NOW: u64 = 1_700_000_000_000;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "deltacrdt-corruption-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn config() -> DurableConfig {
    DurableConfig {
        replica: Some(ReplicaId::from_u128(7)),
        compact_min_bytes: 4_000, // several compactions: a snapshot plus a log
        ..DurableConfig::default()
    }
}

type Replica = DurableReplica<Doc, RedbStore>;

fn open(path: &std::path::Path) -> Result<Replica, Error> {
    let store = RedbStore::open(path)?;
    DurableReplica::open_with(store, config(), |b| b.clock(|| NOW))
}

/// A real store file: 400 committed edits of several kinds.
fn reference(dir: &std::path::Path) -> (Vec<u8>, u64, Doc) {
    let path = dir.join("reference.redb");
    let mut r = open(&path).expect("create");
    for i in 0..400u32 {
        let _ = r
            .update(|doc, hlc| {
                Ok::<_, Error>(match i % 3 {
                    0 => doc.insert(hlc.replica(), &["tags"], format!("t{i}").as_str().into())?,
                    1 => doc.increment(hlc.replica(), &["n"], 1)?,
                    _ => doc.set(hlc.now()?, &["title"], format!("v{i}").into())?,
                })
            })
            .expect("edit");
    }
    let (seq, state) = (r.seq(), r.state().clone());
    drop(r);
    (std::fs::read(&path).expect("read"), seq, state)
}

/// xorshift64*: the offsets are seeded and printed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[derive(Default, Debug)]
struct Tally {
    identical: u32,
    refused: u32,
}

/// Opens a damaged copy: identical replica or a typed error, nothing else.
fn check(dir: &std::path::Path, bytes: &[u8], seq: u64, state: &Doc, what: &str, t: &mut Tally) {
    let path = dir.join("damaged.redb");
    std::fs::write(&path, bytes).expect("write copy");
    match open(&path) {
        Ok(r) => {
            assert_eq!(r.id(), ReplicaId::from_u128(7), "{what}: another replica");
            assert_eq!(r.seq(), seq, "{what}: another sequence number");
            assert!(r.state() == state, "{what}: another state");
            t.identical += 1;
        }
        Err(Error::Store(e)) => {
            // Every variant is a typed refusal; make sure it renders.
            assert!(!e.to_string().is_empty());
            if matches!(e, StoreError::Encode(_)) {
                panic!("{what}: not a storage error: {e}");
            }
            t.refused += 1;
        }
        Err(other) => panic!("{what}: unexpected error {other}"),
    }
    std::fs::remove_file(&path).ok();
}

#[test]
fn truncated_files_are_refused_or_intact() {
    let dir = scratch("truncate");
    let (bytes, seq, state) = reference(&dir);
    let mut t = Tally::default();
    let len = bytes.len();
    let mut cuts: Vec<usize> = (0..64).map(|i| i * len / 64).collect();
    cuts.extend([1, 8, 511, 512, 4095, 4096, len - 1]);
    for cut in cuts {
        check(
            &dir,
            &bytes[..cut],
            seq,
            &state,
            &format!("truncated at {cut}"),
            &mut t,
        );
    }
    println!("truncations of a {len}-byte file: {t:?}");
    assert!(t.refused > 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn flipped_bits_are_refused_or_harmless() {
    let dir = scratch("flip");
    let (bytes, seq, state) = reference(&dir);
    let seed = std::env::var("DELTACRDT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026_u64);
    println!("seed {seed}");
    let mut rng = Rng(seed | 1);
    let len = bytes.len() as u64;
    // The file's used part (redb allocates in regions; the tail is mostly free space).
    let used = bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(len, |p| p as u64 + 1);
    let flips: usize = std::env::var("DELTACRDT_FLIPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    // Where our records lie (each starts with the frame header and the store version).
    let records: Vec<u64> = bytes
        .windows(5)
        .enumerate()
        .filter(|(_, w)| *w == [b'D', b'C', 1, 0x10, STORE_FORMAT_VERSION])
        .map(|(i, _)| i as u64)
        .collect();
    assert!(!records.is_empty());
    let mut t = Tally::default();
    for i in 0..flips {
        // A third in redb's header region, a third inside our records, a third anywhere.
        let offset = match i % 3 {
            0 => rng.next() % 4096.min(used),
            1 => records[(rng.next() % records.len() as u64) as usize] + rng.next() % 24,
            _ => rng.next() % used,
        }
        .min(len - 1);
        let bit = rng.next() % 8;
        let mut damaged = bytes.clone();
        damaged[offset as usize] ^= 1 << bit;
        check(
            &dir,
            &damaged,
            seq,
            &state,
            &format!("bit {bit} of byte {offset}"),
            &mut t,
        );
    }
    println!("{flips} single-bit flips in a {len}-byte file ({used} used): {t:?}");
    assert!(t.refused > 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_file_that_is_no_database_is_refused() {
    let dir = scratch("garbage");
    let path = dir.join("garbage.redb");
    std::fs::write(&path, vec![0x42; 10_000]).expect("write");
    assert!(RedbStore::open(&path).is_err());
    // A directory where the file should be: an I/O error, typed.
    let e = RedbStore::open(&dir).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Io { .. } | StoreError::PermissionDenied { .. }
        ),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Errors of the file system name the store's path: a store open twice (the message used to
/// say only "the store is already open"), and a directory where the file should be.
#[test]
fn file_system_errors_name_the_store_path() {
    let dir = scratch("named");
    let path = dir.join("store.redb");
    let _first = RedbStore::open(&path).expect("open");
    let e = RedbStore::open(&path).unwrap_err();
    assert_eq!(e, StoreError::Locked { path: path.clone() });
    assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
    let e = RedbStore::open(&dir).unwrap_err();
    assert!(e.to_string().contains(&*dir.to_string_lossy()), "{e}");
    let under_a_file = path.join("sub");
    let e = RedbStore::open_dir(&under_a_file).unwrap_err();
    assert!(
        e.to_string().contains(&*under_a_file.to_string_lossy()),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
