//! Rateless IBLT set reconciliation (`src/sync/reconcile/`): symbols needed to decode, encoder
//! and decoder speed, and bandwidth against range-based reconciliation, measured in one run.
//!
//! Run with `cargo bench --bench reconcile` (`DELTACRDT_BENCH_QUICK=1`: 40 trials instead of
//! 200, 1,000 instead of 5,000 for d = 10, 3 timing runs instead of 11). The module is
//! crate-private, so this bench compiles its source file as a module of its own, beside a
//! stand-in for the one thing of the crate it calls (the crate's sort, natively std's). Inputs
//! come from a seeded splitmix64; symbol counts and byte figures are the same on every machine,
//! times are medians of repeated runs on this one.
//!
//! Sections:
//! 1. symbols needed to decode a difference of d items (median, p95, p99 over the trials), and
//!    for d = 10 the share of sessions decoded within the first k symbols;
//! 2. encoder throughput for 1,000,000 items, against a one-pass scan of the same mapping;
//! 3. decode time;
//! 4. 50,000 items, 10 removed on one side: rateless IBLT against range-based reconciliation
//!    (Meyer 2023) simulated message by message.
#![allow(clippy::print_stdout, reason = "the bench prints its report")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    reason = "benchmark harness"
)]

#[allow(
    dead_code,
    unreachable_pub,
    reason = "the bench uses part of the module"
)]
#[path = "../src/sync/reconcile/iblt.rs"]
mod iblt;

/// What the module calls as `crate::platform::sort`: natively the crate's sorts are std's.
mod platform {
    pub(crate) mod sort {
        pub(crate) fn sort_unstable<T: Ord>(v: &mut [T]) {
            v.sort_unstable();
        }
    }
}

use std::hint::black_box;
use std::time::Instant;

use iblt::{Decoder, Encoder, Limits, SessionKey};

fn quick() -> bool {
    std::env::var_os("DELTACRDT_BENCH_QUICK").is_some_and(|v| v != "0")
}

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A dot: replica index below 2^24, counter below 2^40.
    fn dot(&mut self) -> u64 {
        let r = self.next();
        ((r >> 40) << 40) | (self.next() & ((1 << 40) - 1))
    }

    fn nonce(&mut self) -> [u8; 16] {
        let a = u128::from(self.next()) << 64 | u128::from(self.next());
        a.to_le_bytes()
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Times `f` `runs` times; the median in seconds.
fn time<R>(runs: usize, mut f: impl FnMut() -> R) -> f64 {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                black_box(f());
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// `common` shared dots, then `d` dots each only ours or only theirs at random.
fn sets(rng: &mut SplitMix, common: usize, d: usize) -> (Vec<u64>, Vec<u64>) {
    let mut ours: Vec<u64> = (0..common).map(|_| rng.dot()).collect();
    let mut theirs = ours.clone();
    for _ in 0..d {
        if rng.next() & 1 == 0 {
            &mut ours
        } else {
            &mut theirs
        }
        .push(rng.dot());
    }
    (ours, theirs)
}

/// Symbols the decoder needed, fed one at a time, and checks the result is exact.
fn symbols_needed(key: SessionKey, ours: &[u64], theirs: &[u64], d: usize) -> u64 {
    let mut enc = Encoder::new(key, theirs.iter().copied());
    let limits = Limits {
        max_symbols: 1 << 20,
        max_difference: 1 << 20,
    };
    let mut dec = Decoder::new(key, ours.iter().copied(), limits);
    loop {
        let start = enc.produced();
        dec.add(&enc.produce(1), start).unwrap();
        if let Some(diff) = dec.try_decode() {
            assert_eq!(diff.only_ours.len() + diff.only_theirs.len(), d);
            assert!(
                diff.only_ours
                    .iter()
                    .all(|x| ours.contains(x) && !theirs.contains(x))
            );
            assert!(
                diff.only_theirs
                    .iter()
                    .all(|x| theirs.contains(x) && !ours.contains(x))
            );
            return dec.received();
        }
    }
}

/// The floor of any keyed encoder: SipHash-2-4 of every item under the session key.
fn hash_all(key: [u8; 16], items: &[u64]) -> u64 {
    let h = siphasher::sip::SipHasher24::new_with_key(&key);
    items
        .iter()
        .fold(0, |acc, x| acc ^ h.hash(&x.to_le_bytes()))
}

// ---------------------------------------------------------------------------------------------
// Range-based reconciliation (A. Meyer, "Range-Based Set Reconciliation", 2023), simulated.

/// Bytes and one-way messages of range-based reconciliation between two sorted sets: a
/// mismatching range is split into `branch` sub-ranges by item count, each sent as an upper
/// bound (8 B) plus a fingerprint (16 B), or as its item list (8 B per item) once it holds at
/// most `branch` items; the side receiving an item list answers with what the other lacks.
/// Fingerprints are compared exactly (an ideal fingerprint), so the figures are a lower bound.
fn range_based(a: &[u64], b: &[u64], branch: usize) -> (usize, usize) {
    fn within(s: &[u64], lo: u64, hi: u64) -> &[u64] {
        let i = s.partition_point(|&x| x < lo);
        let j = s.partition_point(|&x| x < hi);
        &s[i..j]
    }
    // (lo, hi): ranges with a fingerprint in flight; the sender alternates.
    let mut open = vec![(0u64, u64::MAX)];
    let (mut bytes, mut messages) = (24, 1);
    let mut sides = [b, a]; // [receiver, sender]
    let mut answers = 0usize; // item lists in flight, answered in the next message
    while !open.is_empty() || answers > 0 {
        let (receiver, sender) = (sides[0], sides[1]);
        let mut next = Vec::new();
        let mut message = std::mem::take(&mut answers);
        for (lo, hi) in open {
            let (r, s) = (within(receiver, lo, hi), within(sender, lo, hi));
            if r == s {
                continue;
            }
            if r.len() <= branch {
                message += 8 + 8 * r.len();
                let missing = s.iter().filter(|x| r.binary_search(x).is_err()).count();
                answers += 8 + 8 * missing;
            } else {
                let step = r.len().div_ceil(branch);
                let mut bound = lo;
                for chunk in r.chunks(step) {
                    let upper = chunk.last().map_or(hi, |&x| x + 1);
                    let upper = if upper >= hi || chunk.len() < step {
                        hi
                    } else {
                        upper
                    };
                    next.push((bound, upper));
                    message += 24;
                    bound = upper;
                }
            }
        }
        if message == 0 {
            break;
        }
        bytes += message;
        messages += 1;
        open = next;
        sides.swap(0, 1);
    }
    (bytes, messages)
}

fn main() {
    let quick = quick();
    let trials = if quick { 40 } else { 200 };
    let runs = if quick { 3 } else { 11 };
    let mut rng = SplitMix(0x5eed);
    println!(
        "== rateless IBLT report (DELTACRDT_BENCH_QUICK={}) ==\n",
        u8::from(quick)
    );

    println!("1. symbols needed to decode a difference of d items ({trials} trials, 10,000");
    println!("   common items, each difference item on a random side, symbols fed one by one)");
    println!(
        "   {:>5} {:>7} {:>5} {:>5} {:>5} {:>8}",
        "d", "median", "p95", "p99", "max", "p99 / d"
    );
    for d in [1usize, 2, 5, 10, 20, 50, 100, 1000] {
        let mut needed: Vec<u64> = (0..trials)
            .map(|_| {
                let key = SessionKey::from_nonces(rng.nonce(), rng.nonce());
                let (ours, theirs) = sets(&mut rng, 10_000, d);
                symbols_needed(key, &ours, &theirs, d)
            })
            .collect();
        needed.sort_unstable();
        let p99 = percentile(&needed, 0.99);
        println!(
            "   {d:>5} {:>7} {:>5} {p99:>5} {:>5} {:>8.2}",
            percentile(&needed, 0.5),
            percentile(&needed, 0.95),
            needed[needed.len() - 1],
            p99 as f64 / d as f64
        );
    }

    let cdf_trials = if quick { 1_000 } else { 5_000 };
    println!(
        "\n1b. d = 10, {cdf_trials} trials (1,000 common items; common items cancel exactly, so"
    );
    println!("    the count does not depend on them): share decoded within the first k symbols");
    let mut needed: Vec<u64> = (0..cdf_trials)
        .map(|_| {
            let key = SessionKey::from_nonces(rng.nonce(), rng.nonce());
            let (ours, theirs) = sets(&mut rng, 1_000, 10);
            symbols_needed(key, &ours, &theirs, 10)
        })
        .collect();
    needed.sort_unstable();
    for k in [16u64, 24, 32, 38, 40, 48, 56, 64, 80, 96, 128] {
        let within = needed.partition_point(|&x| x <= k);
        println!(
            "    k = {k:>3} ({:>4} B): {:>6.2} %",
            13 * k,
            100.0 * within as f64 / needed.len() as f64
        );
    }
    println!(
        "    p99 = {}, p99.9 = {}, max = {}",
        percentile(&needed, 0.99),
        percentile(&needed, 0.999),
        needed[needed.len() - 1]
    );

    let n = 1_000_000;
    let items: Vec<u64> = (0..n).map(|_| rng.dot()).collect();
    let nonce = rng.nonce();
    let key = SessionKey::from_nonces(nonce, [0; 16]);
    println!("\n2. encoder, {n} items (median of {runs} runs)");
    let t_hash = time(runs, || hash_all(nonce, &items));
    let t_new = time(runs, || Encoder::new(key, items.iter().copied()));
    println!(
        "   baseline: SipHash of every item     {:>8.1} ms",
        t_hash * 1e3
    );
    println!(
        "   Encoder::new (hash, sort, dedup)    {:>8.1} ms  ({:.2}x the baseline)",
        t_new * 1e3,
        t_new / t_hash
    );
    for m in [64u16, 256] {
        let t_one = time(runs, || Encoder::new(key, items.iter().copied()).produce(m));
        let t_calls = time(runs, || {
            let mut e = Encoder::new(key, items.iter().copied());
            (0..m).map(|_| e.produce(1)).count()
        });
        println!(
            "   new + first {m:>3} symbols, 1 call     {:>8.1} ms  {:>6.2} M items/s  ({:.2}x the baseline)",
            t_one * 1e3,
            n as f64 / t_one / 1e6,
            t_one / t_hash
        );
        println!(
            "   new + first {m:>3} symbols, {m:>3} calls   {:>8.1} ms  {:>6.2} M items/s  ({:.2}x the 1 call)",
            t_calls * 1e3,
            n as f64 / t_calls / 1e6,
            t_calls / t_one
        );
    }

    println!("\n3. decode (median of {runs} runs; peer's symbols precomputed, batches of 64)");
    for (common, d) in [(0usize, 10usize), (0, 100), (0, 1000), (n, 10), (n, 1000)] {
        let (ours, theirs) = sets(&mut rng, common, d);
        let mut enc = Encoder::new(key, theirs.iter().copied());
        let stream = enc.produce(u16::try_from(3 * d + 64).unwrap());
        let t = time(runs, || {
            let mut dec = Decoder::new(key, ours.iter().copied(), Limits::default());
            for (i, batch) in stream.chunks(64).enumerate() {
                dec.add(batch, 64 * i as u64).unwrap();
                if let Some(diff) = dec.try_decode() {
                    return diff;
                }
            }
            panic!("not decoded from {} symbols", stream.len());
        });
        println!("   n = {common:>7}, d = {d:>4}: {:>8.2} ms", t * 1e3);
    }

    println!("\n4. 50,000 items, 10 removed on one side: bytes and one-way messages");
    let (mut full, _) = sets(&mut rng, 50_000, 0);
    full.sort_unstable();
    let mut bytes = Vec::new();
    for _ in 0..trials {
        let mut less = full.clone();
        for _ in 0..10 {
            let i = (rng.next() % less.len() as u64) as usize;
            less.remove(i);
        }
        let key = SessionKey::from_nonces(rng.nonce(), rng.nonce());
        bytes.push(symbols_needed(key, &full, &less, 10) * 13);
    }
    bytes.sort_unstable();
    println!(
        "   rateless IBLT, 13 B/symbol: median {} B, p99 {} B; 2 messages when the first batch covers it",
        percentile(&bytes, 0.5),
        percentile(&bytes, 0.99)
    );
    let mut less = full.clone();
    for _ in 0..10 {
        let i = (rng.next() % less.len() as u64) as usize;
        less.remove(i);
    }
    for branch in [2usize, 4, 16, 32] {
        let (b, msgs) = range_based(&full, &less, branch);
        println!("   range-based, B = {branch:>2}:        {b:>6} B in {msgs} messages");
    }
}
