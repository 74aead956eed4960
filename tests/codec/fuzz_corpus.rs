//! The fuzz targets on stable: every file of `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` replayed through the same function the cargo-fuzz binary runs
//! (the bodies live in `fuzz/src/lib.rs`, included here), plus the crashers found so far as
//! named tests.
//!
//! Regenerate the seed corpus after a format change with
//! `cargo test --test codec -- --ignored write_seed_corpus`.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::print_stderr,
    reason = "tests"
)]

use std::fs;
use std::path::{Path, PathBuf};

#[allow(
    unreachable_pub,
    missing_docs,
    dead_code,
    unused_imports,
    reason = "shared with the fuzz crate, which uses all of it"
)]
#[path = "../../fuzz/src/lib.rs"]
mod targets;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Every file under `fuzz/<kind>/<target>/`, sorted by name.
fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(dir) = fs::read_dir(fuzz_dir().join(kind).join(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = dir
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Replays the corpus and regressions of `target` through `run`; returns how many files ran.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    let corpus = files("corpus", target);
    assert!(!corpus.is_empty(), "no seed corpus for {target}");
    let all: Vec<PathBuf> = corpus
        .into_iter()
        .chain(files("regressions", target))
        .collect();
    for path in &all {
        let bytes = fs::read(path).unwrap();
        // A panic names the file, so the failing input is one `cargo fuzz run <target> <file>` away.
        eprintln!("replaying {}", path.display());
        run(&bytes);
    }
    all.len()
}

#[test]
fn corpus_decode_frame() {
    let _ = replay("decode_frame", targets::decode_frame);
}

#[test]
fn corpus_apply_remote() {
    let _ = replay("apply_remote", targets::apply_remote);
}

#[test]
fn corpus_sync_actions() {
    let _ = replay("sync_actions", targets::sync_actions);
}

#[test]
fn corpus_reconcile_rounds() {
    let _ = replay("reconcile_rounds", targets::reconcile_rounds);
}

/// A few hundred random scenarios of `reconcile_rounds` (the fuzzer's breadth on stable);
/// a failing seed is printed first.
#[test]
fn random_reconcile_rounds() {
    for seed in 0..300 {
        eprintln!("reconcile_rounds seed {seed}");
        targets::reconcile_rounds(&targets::random_rounds_input(seed));
    }
}

/// Writes the seed corpus, replacing what was there (seeds of an older format would only waste
/// fuzzing time): the valid frames the engine produces and the hand-made hostile ones for the
/// two byte targets, seeded action sequences for `sync_actions`.
#[test]
#[ignore = "writes fuzz/corpus; run by hand after a format change"]
fn write_seed_corpus() {
    let frames: Vec<(String, Vec<u8>)> = targets::valid_frames()
        .into_iter()
        .chain(
            targets::hostile_frames()
                .into_iter()
                // The deep and wide ones are big; keep the checked-in corpus small.
                .filter(|(_, f)| f.len() <= 4096)
                .map(|(name, f)| (format!("hostile_{name}"), f)),
        )
        .chain([(
            "hostile_deep_nesting_small".to_owned(),
            targets::deep_register_frame(200),
        )])
        .collect();
    let fresh_dir = |target: &str| {
        let dir = fuzz_dir().join("corpus").join(target);
        if dir.exists() {
            fs::remove_dir_all(&dir).unwrap();
        }
        fs::create_dir_all(&dir).unwrap();
        dir
    };
    for target in ["decode_frame", "apply_remote"] {
        let dir = fresh_dir(target);
        for (name, bytes) in &frames {
            fs::write(dir.join(name), bytes).unwrap();
        }
    }
    let dir = fresh_dir("sync_actions");
    let mut scenarios = vec![("every_action_kind", every_action_kind())];
    for seed in 0..7u64 {
        scenarios.push(("seeded", targets::random_scenario(seed)));
    }
    for (i, (name, scenario)) in scenarios.iter().enumerate() {
        let bytes = targets::scenario_bytes(scenario);
        fs::write(dir.join(format!("{i}_{name}")), bytes).unwrap();
    }
    let dir = fresh_dir("reconcile_rounds");
    for (name, bytes) in reconcile_rounds_seeds() {
        fs::write(dir.join(name), bytes).unwrap();
    }
}

/// Seeds for `reconcile_rounds`: an honest run of two and of three replicas (every frame
/// delivered in order, then time), and seeded random scenarios.
fn reconcile_rounds_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for replicas in [0u8, 1] {
        // head (replicas, snapshot), nonce seed, per replica 3 edits (inserts and removes).
        let mut bytes = vec![replicas + 2 * 3, 7];
        for i in 0..2 + replicas {
            bytes.extend([3, 2 * i, 2 * i + 1, 40 + i]);
        }
        // Deliver the oldest frame 60 times, with a tick now and then.
        for step in 0..60u8 {
            bytes.extend(if step % 10 == 9 { [8, 20] } else { [0, 0] });
        }
        seeds.push((format!("honest_{}_replicas", 2 + replicas), bytes));
    }
    for seed in 0..8 {
        seeds.push((format!("seeded_{seed}"), targets::random_rounds_input(seed)));
    }
    seeds
}

/// The seed scenarios' bytes decode back to the scenarios (so the seeds mean what their
/// generator says), and every seed mutates and delivers.
#[test]
fn seed_action_sequences_decode_as_written() {
    use arbitrary::{Arbitrary, Unstructured};
    for seed in 0..20 {
        let scenario = targets::random_scenario(seed);
        let bytes = targets::scenario_bytes(&scenario);
        let back = targets::Scenario::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
        assert_eq!(format!("{back:?}"), format!("{scenario:?}"));
    }
    for path in files("corpus", "sync_actions") {
        let bytes = fs::read(&path).unwrap();
        let scenario = targets::Scenario::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
        let mutates = scenario
            .actions
            .iter()
            .filter(|a| matches!(a, targets::Action::Mutate { .. }))
            .count();
        let delivers = scenario
            .actions
            .iter()
            .filter(|a| matches!(a, targets::Action::Deliver { .. }))
            .count();
        assert!(mutates > 0 && delivers > 0, "{} is idle", path.display());
    }
}

/// A scripted scenario of every action kind.
fn every_action_kind() -> targets::Scenario {
    use targets::{Action, Op, Scenario};
    let mut actions = Vec::new();
    for i in 0..5u8 {
        actions.push(Action::Mutate {
            replica: i,
            op: Op::Increment { key: i, by: 3 },
        });
        actions.push(Action::Mutate {
            replica: i + 1,
            op: Op::Set {
                key: i,
                value: i16::from(i),
            },
        });
        actions.push(Action::Deliver {
            index: u16::from(i),
        });
    }
    actions.extend([
        Action::Partition { a: 0, b: 1 },
        Action::Mutate {
            replica: 0,
            op: Op::Insert { key: 0, element: 1 },
        },
        Action::Mutate {
            replica: 1,
            op: Op::Remove { key: 0, element: 1 },
        },
        Action::Mutate {
            replica: 2,
            op: Op::Flag { key: 1, on: true },
        },
        Action::Mutate {
            replica: 3,
            op: Op::Nested {
                outer: 1,
                key: 2,
                by: -4,
            },
        },
        Action::Deliver { index: 3 },
        Action::Duplicate { index: 0 },
        Action::Drop { index: 1 },
        Action::Restart { replica: 2 },
        Action::Tick { ms: 100 },
        Action::Deliver { index: 0 },
        Action::Mutate {
            replica: 2,
            op: Op::Delete { key: 1 },
        },
        Action::Heal,
        Action::Deliver { index: 7 },
    ]);
    Scenario {
        replicas: 2,
        actions,
    }
}

#[test]
fn every_action_kind_converges() {
    targets::run_scenario(&every_action_kind());
}

#[test]
fn seeded_scenarios_converge() {
    for seed in 100..120 {
        targets::run_scenario(&targets::random_scenario(seed));
    }
}
