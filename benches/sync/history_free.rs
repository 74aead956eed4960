//! Section 5, history-free catch-up: two engines restored independently from one snapshot
//! (no shared acknowledgements), one of them edited, then connected. With the `reconcile`
//! feature they find the difference with a reconciliation round (hello contexts, coded
//! symbols, a verdict) and ship deltas. The baseline, measured in the same run on the same
//! inputs, is the same engines with `max_symbols: 0`: reconciliation is off and the peers
//! exchange full states (the behaviour before reconciliation).

use std::convert::Infallible;
use std::time::Instant;

use deltacrdt::{Doc, Lattice, OrSet, Scalar, SyncConfig, SyncEngine};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::support::{SetOps, SplitMix, pick, replica};
use super::{HEADER, Net, clock, enc, hlc, median, verdict};

/// The frame kinds, by their header byte, for the per-kind split of a run's bytes.
const KINDS: [(u8, &str); 9] = [
    (0x01, "hello"),
    (0x02, "delta"),
    (0x03, "state"),
    (0x04, "chunk"),
    (0x05, "ack"),
    (0x06, "summary"),
    (0x07, "sketch"),
    (0x08, "verdict"),
    (0x09, "digest"),
];

/// One catch-up run, both directions.
struct Run {
    /// Every frame, both directions.
    total: u64,
    /// Frames A sent (A is the unedited replica).
    a_to_b: u64,
    b_to_a: u64,
    /// Network rounds (one-way deliveries of everything in flight) until the states were equal.
    rounds_to_equal: usize,
    /// Network rounds until nothing was left to send.
    rounds_to_quiet: usize,
    full_states: u64,
    rounds_decoded: u64,
    symbols: u64,
    /// "hello 80 B/2 fr, sketch …" by frame kind.
    kinds: String,
    /// Wall time from `connect` to quiescence.
    wall_ms: f64,
}

impl Run {
    /// Round trips until equal: a round trip is a frame exchange A→B→A, two network rounds
    /// (frames both ways travel in the same round), so ⌈rounds / 2⌉.
    fn round_trips(&self) -> usize {
        self.rounds_to_equal.div_ceil(2)
    }
}

/// A and B restored from `snapshot` (ids replica(201), replica(202), seq 1, seeded nonces),
/// `edit` applied to B, then connected and run to quiescence.
fn run<T>(
    snapshot: &T,
    seed: u64,
    tweak: fn(&mut SyncConfig),
    edit: impl FnOnce(&mut SyncEngine<T>),
) -> Run
where
    T: deltacrdt::Reconcile + Serialize + DeserializeOwned + Clone + PartialEq + std::fmt::Debug,
{
    let c = clock();
    let config = |n: u64| {
        let mut config = SyncConfig {
            nonce_seed: Some(((u128::from(seed) << 8) | u128::from(n)).to_le_bytes()),
            ..SyncConfig::default()
        };
        tweak(&mut config);
        config
    };
    let a = SyncEngine::restore(hlc(replica(201), &c), snapshot.clone(), 1, config(1));
    let mut b = SyncEngine::restore(hlc(replica(202), &c), snapshot.clone(), 1, config(2));
    edit(&mut b);
    let expected = {
        let mut s = a.state().clone();
        s.join(b.state().clone());
        s
    };
    let t = Instant::now();
    let mut net = Net::new(vec![a, b], &[(0, 1)], c);
    let (mut rounds, mut rounds_to_equal) = (0, None);
    while net.round() > 0 {
        rounds += 1;
        if rounds_to_equal.is_none() && net.converged() {
            rounds_to_equal = Some(rounds);
        }
    }
    let wall_ms = t.elapsed().as_secs_f64() * 1e3;
    assert!(net.converged());
    assert_eq!(
        *net.nodes[0].state(),
        expected,
        "catch-up lost or invented something"
    );
    let (sa, sb) = (net.nodes[0].stats(), net.nodes[1].stats());
    let mut kinds = String::new();
    for (byte, name) in KINDS {
        let (frames, bytes) = net.wire(byte);
        if frames > 0 {
            if !kinds.is_empty() {
                kinds.push_str(", ");
            }
            kinds.push_str(&format!("{name} {bytes} B/{frames} fr"));
        }
    }
    let (a_to_b, b_to_a) = (sa.sent.total().bytes, sb.sent.total().bytes);
    assert_eq!(a_to_b + b_to_a, net.sent().total().bytes);
    Run {
        total: a_to_b + b_to_a,
        a_to_b,
        b_to_a,
        rounds_to_equal: rounds_to_equal.unwrap_or(rounds),
        rounds_to_quiet: rounds,
        full_states: sa.full_states.total() + sb.full_states.total(),
        rounds_decoded: sa.rounds.decoded + sb.rounds.decoded,
        symbols: sa.rounds.symbols + sb.rounds.symbols,
        kinds,
        wall_ms,
    }
}

/// Medians of a case over seeds.
pub(super) struct Case {
    pub(super) label: String,
    pub(super) total: f64,
    pub(super) a_to_b: f64,
    pub(super) b_to_a: f64,
    pub(super) round_trips: f64,
    pub(super) alone: f64,
    pub(super) group: f64,
    pub(super) full_state: f64,
    pub(super) old_total: f64,
    pub(super) wall_ms: f64,
    pub(super) old_wall_ms: f64,
    /// With `max_rounds: 0`.
    pub(super) no_rounds_total: f64,
    pub(super) no_rounds_full: f64,
}

fn print_case(case: &Case, example: &Run, old: &Run, seeds: u64) {
    println!(
        "{}: median of {seeds} seeds: total {:.0} B (A->B {:.0} B, B->A {:.0} B), {:.0} round \
         trip(s) until equal; deltas alone {:.0} B, one group {:.0} B, encode(&state) {:.0} B; \
         full states (max_symbols 0: reconciliation off) {:.0} B; max_rounds 0: {:.0} B \
         with {:.0} full states; wall {:.2} ms (full states {:.2} ms)",
        case.label,
        case.total,
        case.a_to_b,
        case.b_to_a,
        case.round_trips,
        case.alone,
        case.group,
        case.full_state,
        case.old_total,
        case.no_rounds_total,
        case.no_rounds_full,
        case.wall_ms,
        case.old_wall_ms,
    );
    println!(
        "  seed 1: {} network rounds until equal, {} until quiet, full states {}, rounds \
         decoded {}, symbols {}; by kind: {}",
        example.rounds_to_equal,
        example.rounds_to_quiet,
        example.full_states,
        example.rounds_decoded,
        example.symbols,
        example.kinds,
    );
    println!(
        "  seed 1, max_symbols 0: full states {}; by kind: {}",
        old.full_states, old.kinds
    );
}

/// `seeds` runs of B applying `edit(seed, b)` (which returns the sizes of its deltas encoded
/// alone and as one group) to `snapshot`, reconciled and with rounds off, on the same edits.
fn case<T>(
    label: &str,
    snapshot: &T,
    seeds: u64,
    edit: impl Fn(u64, &mut SyncEngine<T>) -> (usize, usize),
) -> Case
where
    T: deltacrdt::Reconcile + Serialize + DeserializeOwned + Clone + PartialEq + std::fmt::Debug,
{
    let full_state = enc(snapshot) as f64;
    let (mut total, mut a_to_b, mut b_to_a, mut trips) = (vec![], vec![], vec![], vec![]);
    let (mut alone, mut group, mut old_total, mut wall, mut old_wall) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut no_rounds_total, mut no_rounds_full) = (vec![], vec![]);
    let mut example = None;
    for seed in 1..=seeds {
        let mut sizes = (0, 0);
        let r = run(
            snapshot,
            seed,
            |_| {},
            |b| {
                sizes = edit(seed, b);
            },
        );
        let no_rounds = run(
            snapshot,
            seed,
            |c| c.max_rounds = 0,
            |b| {
                let _ = edit(seed, b);
            },
        );
        let old = run(
            snapshot,
            seed,
            |c| c.max_symbols = 0,
            |b| {
                let _ = edit(seed, b);
            },
        );
        assert_eq!(
            r.full_states, 0,
            "{label}: a reconciled catch-up sent a full state"
        );
        assert!(r.rounds_decoded > 0, "{label}: no round decoded");
        assert!(
            old.full_states > 0,
            "{label}: max_symbols 0 sent no full state: {} decoded, {}",
            old.rounds_decoded,
            old.kinds
        );
        no_rounds_total.push(no_rounds.total as f64);
        no_rounds_full.push(no_rounds.full_states as f64);
        total.push(r.total as f64);
        a_to_b.push(r.a_to_b as f64);
        b_to_a.push(r.b_to_a as f64);
        trips.push(r.round_trips() as f64);
        alone.push(sizes.0 as f64);
        group.push(sizes.1 as f64);
        old_total.push(old.total as f64);
        wall.push(r.wall_ms);
        old_wall.push(old.wall_ms);
        if example.is_none() {
            example = Some((r, old));
        }
    }
    let case = Case {
        label: label.to_owned(),
        total: median(total),
        a_to_b: median(a_to_b),
        b_to_a: median(b_to_a),
        round_trips: median(trips),
        alone: median(alone),
        group: median(group),
        full_state,
        old_total: median(old_total),
        wall_ms: median(wall),
        old_wall_ms: median(old_wall),
        no_rounds_total: median(no_rounds_total),
        no_rounds_full: median(no_rounds_full),
    };
    let (r, old) = example.unwrap();
    print_case(&case, &r, &old, seeds);
    case
}

/// B inserts `adds` fresh elements and removes `removes` present ones of a set snapshot.
fn set_edit(
    snapshot: &OrSet<u64>,
    adds: usize,
    removes: usize,
) -> impl Fn(u64, &mut SyncEngine<OrSet<u64>>) -> (usize, usize) {
    let mut live: Vec<u64> = snapshot.iter().copied().collect();
    live.sort_unstable(); // set iteration order is seeded per process
    move |seed, b| {
        let mut rng = SplitMix(0x5EED_5000 + seed);
        let removes = pick(&mut rng, &live, removes);
        let adds: Vec<u64> = (0..adds).map(|_| rng.next()).collect();
        let mut sizes = (0, OrSet::default());
        let ops = adds
            .iter()
            .map(|&e| Ok(e))
            .chain(removes.iter().map(|&e| Err(e)));
        for op in ops {
            b.update(|s, h| {
                let d = match op {
                    Ok(e) => s.insert(h.replica(), e),
                    Err(e) => s.remove(&e),
                };
                sizes.0 += enc(&*d) - HEADER;
                sizes.1.join_delta_group((*d).clone());
                Ok::<_, Infallible>(d)
            })
            .unwrap();
        }
        (sizes.0, enc(&sizes.1) - HEADER)
    }
}

/// The same edits on a `Doc` whose field `["s"]` holds the set's elements (as `Scalar::Int`).
fn doc_edit(
    live: Vec<i64>,
    adds: usize,
    removes: usize,
) -> impl Fn(u64, &mut SyncEngine<Doc>) -> (usize, usize) {
    move |seed, b| {
        let mut rng = SplitMix(0x5EED_5000 + seed);
        let pool: Vec<u64> = live.iter().map(|&e| e as u64).collect();
        let removes = pick(&mut rng, &pool, removes);
        let adds: Vec<u64> = (0..adds).map(|_| rng.next()).collect();
        let mut sizes = (0, Doc::default());
        let ops = adds
            .iter()
            .map(|&e| Ok(e))
            .chain(removes.iter().map(|&e| Err(e)));
        for op in ops {
            b.update(|d, h| {
                let delta = match op {
                    Ok(e) => d.insert(h.replica(), &["s"], Scalar::Int(e as i64)),
                    Err(e) => d.remove_element(h.replica(), &["s"], &Scalar::Int(e as i64)),
                }?;
                sizes.0 += enc(&*delta) - HEADER;
                sizes.1.join_delta_group((*delta).clone());
                Ok::<_, deltacrdt::Error>(delta)
            })
            .unwrap();
        }
        (sizes.0, enc(&sizes.1) - HEADER)
    }
}

/// A set of `n` distinct random elements inserted by 4 writers, then `n / 10` of them removed
/// (so the context has gaps and several entries).
fn big_random_set(n: usize, seed: u64) -> OrSet<u64> {
    let mut rng = SplitMix(seed);
    let elements = rng.distinct(n + n / 10);
    let mut set = OrSet::default();
    for (i, &e) in elements.iter().enumerate() {
        let _ = set.insert(replica(i as u64 % 4 + 1), e);
    }
    for e in pick(&mut rng, &elements, n / 10) {
        let _ = set.remove(&e);
    }
    set
}

/// The figures the README table takes.
pub(super) struct HistoryFree {
    pub(super) cases: Vec<Case>,
}

pub(super) fn history_free(ops: &SetOps, quick: bool) -> HistoryFree {
    let seeds = if quick { 3 } else { 7 };
    let big = if quick { 200_000 } else { 1_000_000 };
    let big_seeds = if quick { 1 } else { 5 };
    println!("## 5. History-free catch-up: two replicas restored from one snapshot");
    println!(
        "A and B are SyncEngine::restore(.., snapshot.clone(), 1, ..) with different ids and \
         seeded nonces (no shared acknowledgements); B edits (update), then both connect and \
         run to quiescence. total = every frame both ways (hellos, summaries, sketches, \
         verdicts, deltas, acks), headers and checksums included. A round trip is a frame \
         exchange A->B->A = two network rounds (a network round delivers everything in flight, \
         both directions), so round trips until equal = ceil(rounds until a.state() == \
         b.state() / 2). Baselines: the ops' deltas encoded alone (each minus the {HEADER}-byte \
         header) and joined into one group (minus the header); encode(&state); the same \
         engines with SyncConfig {{ max_symbols: 0 }} and with SyncConfig {{ max_rounds: 0 }} \
         (each switches reconciliation off, so the peers exchange full states: the behaviour \
         before reconciliation). Medians over seeds; each seed's edits are the same in both \
         runs."
    );
    let t = Instant::now();
    let snapshot = super::big_set(ops, 1);
    let mut cases = Vec::new();
    let label = format!("set {}, 10 adds + 10 removes", snapshot.len());
    let mixed = case(&label, &snapshot, seeds, set_edit(&snapshot, 10, 10));
    println!(
        "  targets: total <= 1,000 B: {}; <= 3 round trips: {}",
        verdict(mixed.total <= 1_000.0),
        verdict(mixed.round_trips <= 3.0)
    );
    cases.push(mixed);
    let label = format!("set {}, 10 adds", snapshot.len());
    let adds = case(&label, &snapshot, seeds, set_edit(&snapshot, 10, 0));
    println!(
        "  target: total <= 2x the adds' group: {} ({:.2}x)",
        verdict(adds.total <= 2.0 * adds.group),
        adds.total / adds.group
    );
    cases.push(adds);

    let large = big_random_set(big, 0x5EED_5100);
    let label = format!("set {}, 50 adds + 50 removes", large.len());
    let wide = case(&label, &large, big_seeds, set_edit(&large, 50, 50));
    println!(
        "  target: total <= 1 % of encode(&state): {} ({:.4} %)",
        verdict(wide.total <= 0.01 * wide.full_state),
        100.0 * wide.total / wide.full_state
    );
    cases.push(wide);
    drop(large);

    let mut doc = Doc::default();
    let me = replica(1);
    for &e in &ops.adds {
        let _ = doc.insert(me, &["s"], Scalar::Int(e as i64)).unwrap();
    }
    for &e in &ops.removes {
        let _ = doc
            .remove_element(me, &["s"], &Scalar::Int(e as i64))
            .unwrap();
    }
    let live: Vec<i64> = {
        let mut v: Vec<i64> = snapshot.iter().map(|&e| e as i64).collect();
        v.sort_unstable();
        v
    };
    let label = format!(
        "doc, {} set elements under [\"s\"], 10 adds + 10 removes",
        live.len()
    );
    let d = case(&label, &doc, seeds, doc_edit(live, 10, 10));
    println!(
        "  targets: total <= 1,000 B: {}; <= 3 round trips: {}",
        verdict(d.total <= 1_000.0),
        verdict(d.round_trips <= 3.0)
    );
    cases.push(d);
    println!("(wall {:.2?})\n", t.elapsed());
    HistoryFree { cases }
}
