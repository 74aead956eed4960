//! One live replica per id (issue 13, item 4): a data directory restored from an older backup,
//! or copied, reuses a replica id. Each case must end with every replica converged, no
//! committed edit lost, and the event reported (`SyncStats::forks`, `SyncStats::conflicts`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use deltacrdt::durable::{DurableConfig, DurableReplica, MemoryStore};
use deltacrdt::{Doc, Error, ReplicaId, Scalar};

const NOW: u64 = 1_700_000_000_000;

type Node = DurableReplica<Doc, MemoryStore>;

fn open(store: &MemoryStore, id: Option<u128>) -> Node {
    let config = DurableConfig {
        replica: id.map(ReplicaId::from_u128),
        ..DurableConfig::default()
    };
    DurableReplica::open_with(store.clone(), config, |b| b.clock(|| NOW)).expect("opens")
}

/// A deep copy of a store: what a backup, or a copied directory, holds.
fn copy_of(store: &MemoryStore) -> MemoryStore {
    let copy = MemoryStore::new();
    copy.set_records(store.records());
    copy
}

fn tag(r: &mut Node, name: &str) {
    let commit = r.update(|doc, hlc| doc.insert(hlc.replica(), &["tags"], name.into()));
    assert!(commit.expect("update").durable, "committed per operation");
}

fn untag(r: &mut Node, name: &str) {
    let commit =
        r.update(|doc, hlc| doc.remove_element(hlc.replica(), &["tags"], &Scalar::from(name)));
    assert!(commit.expect("update").durable, "committed per operation");
}

fn tags(r: &Node) -> Vec<String> {
    let mut out: Vec<String> = r
        .state()
        .set_at(&["tags"])
        .map(|s| s.iter().map(|t| format!("{t:?}")).collect())
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

fn names(list: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = list
        .iter()
        .map(|s| format!("{:?}", Scalar::from(*s)))
        .collect();
    out.sort();
    out
}

/// Opens a session between `a` and `b` (each registers the other); returns the ids they
/// linked under, which a transport keeps for the session (see `unlink`).
fn link(a: &mut Node, b: &mut Node) -> (ReplicaId, ReplicaId) {
    a.connect(b.id());
    b.connect(a.id());
    (a.id(), b.id())
}

/// Ends the session `link` opened on both sides, under the ids it was opened with, as a
/// transport does (a replica that forked since is still known by its old id there), and under
/// the current ids.
fn unlink(a: &mut Node, b: &mut Node, (a_was, b_was): (ReplicaId, ReplicaId)) {
    for id in [b_was, b.id()] {
        a.disconnect(id);
    }
    for id in [a_was, a.id()] {
        b.disconnect(id);
    }
}

/// Carries frames both ways until quiet, ticking the clock so resends and rounds move on. The
/// ids are read per frame: a replica that forks sends under its new id from then on.
fn pump(a: &mut Node, b: &mut Node) {
    let mut now = 0;
    for _ in 0..400 {
        let mut quiet = true;
        while let Some(t) = a.poll_transmit().expect("flush") {
            let from = a.id();
            let _ = b.receive(from, &t.bytes);
            quiet = false;
        }
        while let Some(t) = b.poll_transmit().expect("flush") {
            let from = b.id();
            let _ = a.receive(from, &t.bytes);
            quiet = false;
        }
        if quiet && a.poll_timeout().is_none() && b.poll_timeout().is_none() {
            return;
        }
        now += 100;
        a.tick(now);
        b.tick(now);
    }
}

/// The original `a` (id 1) writes a0..a4 and makes a backup; then it syncs with `p` (id 2),
/// writes a5..a9, removes a0, syncs again and is lost. Returns `p` and the backup.
fn original_then_lost() -> (Node, MemoryStore) {
    let store = MemoryStore::new();
    let mut a = open(&store, Some(1));
    for i in 0..5 {
        tag(&mut a, &format!("a{i}"));
    }
    a.flush().expect("flush");
    let backup = copy_of(&store);
    let mut p = open(&MemoryStore::new(), Some(2));
    link(&mut a, &mut p);
    pump(&mut a, &mut p);
    for i in 5..10 {
        tag(&mut a, &format!("a{i}"));
    }
    untag(&mut a, "a0");
    pump(&mut a, &mut p);
    assert_eq!(tags(&p), tags(&a));
    p.disconnect(a.id());
    a.disconnect(p.id());
    (p, backup)
}

fn committed_by_original() -> Vec<&'static str> {
    vec!["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"]
}

#[test]
fn a_restored_backup_forks_to_a_fresh_id_persists_it_and_loses_nothing() {
    let (mut p, backup) = original_then_lost();
    let mut b = open(&backup, None);
    assert_eq!(
        b.id(),
        ReplicaId::from_u128(1),
        "the backup holds the old id"
    );
    link(&mut b, &mut p);
    pump(&mut b, &mut p);
    assert_eq!(b.stats().forks, 1, "the reuse is reported");
    assert_ne!(b.id(), ReplicaId::from_u128(1));
    assert_eq!(
        tags(&b),
        names(&committed_by_original()),
        "a0 stays removed"
    );
    assert_eq!(tags(&p), tags(&b));

    // Writes under the new id reach the peer, and a restart keeps the new id.
    tag(&mut b, "b0");
    pump(&mut b, &mut p);
    assert!(tags(&p).contains(&format!("{:?}", Scalar::from("b0"))));
    let forked = b.id();
    drop(b);
    let again = open(&backup, None);
    assert_eq!(
        again.id(),
        forked,
        "the fork is persisted: the old id is never reused"
    );
    assert_eq!(tags(&again), tags(&p));
}

#[test]
fn a_restored_backup_that_edited_before_it_reconnected_keeps_both_sides_writes() {
    let (mut p, backup) = original_then_lost();
    let mut b = open(&backup, None);
    // The same dots the original issued for a5 and a6, with other content.
    tag(&mut b, "c0");
    tag(&mut b, "c1");
    link(&mut b, &mut p);
    pump(&mut b, &mut p);
    // Sessions restart after the fork: pump until both sides are quiet under the new id.
    pump(&mut b, &mut p);
    assert_eq!(b.stats().forks, 1);
    assert!(
        b.stats().conflicts + p.stats().conflicts >= 2,
        "both reused dots are reported: {} + {}",
        b.stats().conflicts,
        p.stats().conflicts
    );
    let mut expected = committed_by_original();
    expected.extend(["c0", "c1"]);
    assert_eq!(tags(&p), names(&expected), "no committed write lost");
    assert_eq!(tags(&b), tags(&p));
    assert_eq!(b.state(), p.state(), "converged");
}

#[test]
fn a_copied_directory_that_kept_editing_beside_the_original_loses_nothing() {
    let store = MemoryStore::new();
    let mut a = open(&store, Some(1));
    let mut p = open(&MemoryStore::new(), Some(2));
    let ap = link(&mut a, &mut p);
    for i in 0..3 {
        tag(&mut a, &format!("a{i}"));
    }
    pump(&mut a, &mut p);
    a.flush().expect("flush (acknowledgements included)");
    // The directory is copied; both copies run and edit under id 1: the same dots twice.
    let mut c = open(&copy_of(&store), None);
    tag(&mut a, "x");
    tag(&mut c, "y");
    pump(&mut a, &mut p);
    unlink(&mut a, &mut p, ap);
    // The copy reaches the peer (one session per id: the original's is closed).
    let cp = link(&mut c, &mut p);
    pump(&mut c, &mut p);
    pump(&mut c, &mut p);
    assert_eq!(p.stats().conflicts, 1, "the dot issued twice is reported");
    assert_eq!(c.stats().forks, 1, "the copy leaves the shared id");
    assert_eq!(tags(&p), names(&["a0", "a1", "a2", "x", "y"]));
    assert_eq!(tags(&c), tags(&p));
    // The original comes back: it settles the same dot the same way.
    unlink(&mut c, &mut p, cp);
    link(&mut a, &mut p);
    pump(&mut a, &mut p);
    pump(&mut a, &mut p);
    assert_eq!(tags(&a), names(&["a0", "a1", "a2", "x", "y"]));
    assert_eq!(a.state(), p.state(), "converged");
    link(&mut a, &mut c);
    pump(&mut a, &mut c);
    assert_eq!(a.state(), c.state(), "all three converged");
    assert_ne!(a.id(), c.id(), "no two live replicas share an id");
}

#[test]
fn a_forged_dot_with_other_content_is_settled_not_dropped() {
    // A peer sends a value holding one of our dots with other content (what a copy reusing
    // our id, or a forger, sends): both writes survive and the conflict is counted.
    let mut a = open(&MemoryStore::new(), Some(1));
    let mut p = open(&MemoryStore::new(), Some(2));
    tag(&mut p, "honest");
    link(&mut a, &mut p);
    pump(&mut a, &mut p);
    // A second replica under id 2 writes its first dot, (2, 1), with other content; a relay
    // (id 3) holds that value and passes it on.
    let mut forger = open(&MemoryStore::new(), Some(2));
    tag(&mut forger, "forged");
    let forged = forger.state().clone();
    let mut relay = open(&MemoryStore::new(), Some(3));
    let commit = relay
        .update(|doc, _| {
            *doc = forged.clone();
            Ok::<_, Error>(deltacrdt::Delta::new(forged))
        })
        .expect("the relay holds the forged value");
    assert!(commit.durable);
    link(&mut a, &mut relay);
    pump(&mut a, &mut relay);
    assert_eq!(a.stats().conflicts, 1);
    assert_eq!(tags(&a), names(&["forged", "honest"]));
    assert_eq!(a.state(), relay.state(), "converged");
}

/// splitmix64: the seeded schedules below need nothing more.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// Random schedules of writes, syncs over fresh sessions and backups restored over their
/// replica (inserts only, so nothing may ever go): at the end, after syncing every pair, all
/// replicas are equal and hold every tag any surviving replica ever held.
#[test]
fn random_restored_backups_never_lose_a_write_and_converge() {
    schedules(0, 30, 0..100);
}

/// The same with a data directory copied and run beside its original (two live replicas under
/// one id, both writing the same dots). Third parties can each hold one of the two writes of a
/// dot without any value carrying the other crossing: only the content digests in the rounds'
/// items (and in the repair fingerprint) find those.
#[test]
fn random_live_copies_never_lose_a_write_and_converge() {
    schedules(1, 30, 0..100);
}

/// Up to three copies of directories beside their originals, with restores, over longer
/// schedules: one dot can then carry three contents, settled pairwise. 100 seeds here;
/// `DELTACRDT_IDENTITY_SEEDS=1500` (about 40 s in release) passed too.
#[test]
fn random_many_copies_never_lose_a_write_and_converge() {
    let seeds = std::env::var("DELTACRDT_IDENTITY_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    schedules(3, 50, 0..seeds);
}

/// Runs `seeds` random schedules of `steps` steps on three replicas, at most `copies` of them
/// copied beside their original.
fn schedules(copies: usize, steps: usize, seeds: core::ops::Range<u64>) {
    for seed in seeds {
        let mut rng = Rng(seed);
        let mut stores: Vec<MemoryStore> = (0..3).map(|_| MemoryStore::new()).collect();
        let mut nodes: Vec<Node> = stores
            .iter()
            .enumerate()
            .map(|(i, s)| open(s, Some(i as u128 + 1)))
            .collect();
        let mut seen: Vec<Vec<String>> = vec![Vec::new(); 3];
        let mut backups: Vec<(usize, MemoryStore)> = Vec::new();
        let mut copied = 0;
        for step in 0..steps {
            let n = nodes.len();
            match rng.below(10) {
                0..=3 => {
                    let i = rng.below(n);
                    tag(&mut nodes[i], &format!("s{seed}-{step}-n{i}"));
                }
                4..=6 => {
                    let (i, j) = (rng.below(n), rng.below(n));
                    if i != j && nodes[i].id() != nodes[j].id() {
                        let (a, b) = pair(&mut nodes, i, j);
                        let ids = link(a, b);
                        pump(a, b);
                        unlink(a, b, ids);
                    }
                }
                7 => {
                    let i = rng.below(n);
                    nodes[i].flush().expect("flush");
                    backups.push((i, copy_of(&stores[i])));
                }
                8 if !backups.is_empty() => {
                    // Node i is lost; its backup comes back in its place.
                    let (i, backup) = backups.swap_remove(rng.below(backups.len()));
                    seen[i].clear();
                    stores[i] = backup;
                    nodes[i] = open(&stores[i], None);
                }
                9 if copied < copies => {
                    // A copy of node i's directory starts beside it.
                    let i = rng.below(n);
                    nodes[i].flush().expect("flush");
                    stores.push(copy_of(&stores[i]));
                    nodes.push(open(stores.last().expect("pushed"), None));
                    seen.push(Vec::new());
                    copied += 1;
                }
                _ => {}
            }
            for (k, node) in nodes.iter().enumerate() {
                seen[k].extend(tags(node));
            }
        }
        // Heal: every pair syncs, twice round (forks restart sessions).
        for _ in 0..3 {
            for i in 0..nodes.len() {
                for j in 0..nodes.len() {
                    if i < j && nodes[i].id() != nodes[j].id() {
                        let (a, b) = pair(&mut nodes, i, j);
                        let ids = link(a, b);
                        pump(a, b);
                        unlink(a, b, ids);
                    }
                }
            }
        }
        let mut expected: Vec<String> = seen.concat();
        expected.sort();
        expected.dedup();
        for node in &nodes {
            assert_eq!(tags(node), expected, "seed {seed}: a write was lost");
            assert_eq!(node.state(), nodes[0].state(), "seed {seed}: not converged");
        }
    }
}

/// Two distinct nodes of `nodes`, mutably.
fn pair(nodes: &mut [Node], i: usize, j: usize) -> (&mut Node, &mut Node) {
    let (lo, hi) = (i.min(j), i.max(j));
    let (left, right) = nodes.split_at_mut(hi);
    let (a, b) = (&mut left[lo], &mut right[0]);
    if i < j { (a, b) } else { (b, a) }
}

/// A replica whose clock ran a day ahead restarts with its clock fixed (issue 15, item 7). Its
/// persisted clock lies a day ahead of the physical one, so under its id it could only stamp a
/// day ahead (or reuse stamps). It forks to a fresh id of its family, stamps at the real time,
/// persists the new id with its first commit, and keeps every committed edit; an honest peer
/// it then meets holds back only the write stamped a day ahead, and refuses nothing.
#[cfg(feature = "reconcile")]
#[test]
fn a_clock_fixed_after_running_a_day_ahead_rejoins_under_a_fresh_id_without_repair() {
    const DAY: u64 = 86_400_000;
    let write = |r: &mut Node, path: &str, value: &str| {
        let commit = r.update(|doc, hlc| -> Result<_, Error> {
            Ok(doc.set(hlc.now()?, &[path], value.into())?)
        });
        assert!(commit.expect("update").durable);
    };
    let store = MemoryStore::new();
    let config = DurableConfig {
        replica: Some(ReplicaId::from_u128(1)),
        ..DurableConfig::default()
    };
    let mut a: Node =
        DurableReplica::open_with(store.clone(), config, |b| b.clock(|| NOW + DAY)).unwrap();
    write(&mut a, "title", "from the future");
    tag(&mut a, "ahead");
    a.close().unwrap();
    // The clock is fixed; the replica restarts from its store.
    let reopen = || -> Node {
        DurableReplica::open_with(store.clone(), DurableConfig::default(), |b| b.clock(|| NOW))
            .unwrap()
    };
    let mut a = reopen();
    assert_eq!(a.id(), ReplicaId::from_u128(1));
    assert!(a.durable_hlc().millis() >= NOW + DAY);
    write(&mut a, "note", "after the fix");
    let forked = a.id();
    assert_ne!(forked, ReplicaId::from_u128(1));
    assert_eq!(
        forked.as_bytes()[..10],
        ReplicaId::from_u128(1).as_bytes()[..10]
    );
    assert_eq!(a.stats().forks, 1);
    assert!(
        a.durable_hlc().millis() < NOW + 60_000,
        "{}",
        a.durable_hlc()
    );
    let mut p = open(&MemoryStore::new(), Some(2));
    link(&mut a, &mut p);
    pump(&mut a, &mut p);
    assert_eq!(tags(&p), names(&["ahead"]));
    assert!(p.state().register(&["note"]).is_some());
    assert!(
        p.state().register(&["title"]).is_none(),
        "held back, not applied"
    );
    assert_eq!(p.stats().skew.held_writes, 1);
    assert_eq!(p.stats().drift_rejections, 0);
    a.close().unwrap();
    // The fork was committed: the next restart opens under the new id, with everything.
    let a = reopen();
    assert_eq!(a.id(), forked);
    assert!(a.state().register(&["title"]).is_some() && a.state().register(&["note"]).is_some());
    assert_eq!(tags(&a), names(&["ahead"]));
}
