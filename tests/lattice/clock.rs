//! Public behaviour of the hybrid logical clock: `Timestamp`, `Stamp`, `Hlc` and `ClockError`.
//!
//! Every expected value below was derived by hand from the rules of Kulkarni et al. (2014),
//! Fig. 5, or copied from another implementation's published test vectors; none is computed
//! with the code under test.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deltacrdt::{ClockError, Hlc, ReplicaId, Stamp, Timestamp};
use proptest::prelude::*;

/// 2023-11-14T22:13:20Z, a realistic physical reading.
const T0: u64 = 1_700_000_000_000;

/// A hand-driven physical clock shared with the `Hlc` that reads it.
#[derive(Clone, Debug, Default)]
struct Manual(Arc<AtomicU64>);

impl Manual {
    fn at(millis: u64) -> Self {
        Self(Arc::new(AtomicU64::new(millis)))
    }

    fn set(&self, millis: u64) {
        self.0.store(millis, Ordering::SeqCst);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    #[track_caller]
    #[expect(
        clippy::unwrap_used,
        reason = "test helper: a failure is a test failure"
    )]
    fn hlc(&self, replica: u128, max_drift_millis: u64) -> Hlc {
        self.builder(replica, max_drift_millis).build().unwrap()
    }

    fn builder(&self, replica: u128, max_drift_millis: u64) -> deltacrdt::HlcBuilder {
        let shared = Arc::clone(&self.0);
        Hlc::builder(ReplicaId::from_u128(replica))
            .clock(move || shared.load(Ordering::SeqCst))
            .max_drift(Duration::from_millis(max_drift_millis))
    }
}

#[track_caller]
#[expect(
    clippy::unwrap_used,
    reason = "test helper: a failure is a test failure"
)]
fn ts(millis: u64, logical: u16) -> Timestamp {
    Timestamp::new(millis, logical).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Timestamp packing
// ---------------------------------------------------------------------------------------------

#[test]
fn timestamp_new_millis_logical_round_trip() {
    for (millis, logical) in [
        (0, 0),
        (0, u16::MAX),
        (T0, 5),
        (Timestamp::MAX_MILLIS, 0),
        (Timestamp::MAX_MILLIS, u16::MAX),
    ] {
        let t = ts(millis, logical);
        assert_eq!((t.millis(), t.logical()), (millis, logical));
        assert_eq!(Timestamp::from_u64(t.as_u64()), t);
        assert_eq!(u64::from(t), (millis << 16) | u64::from(logical));
        assert_eq!(Timestamp::from(t.as_u64()), t);
    }
    assert_eq!(Timestamp::ZERO, ts(0, 0));
    assert_eq!(Timestamp::MAX, ts(Timestamp::MAX_MILLIS, u16::MAX));
    assert_eq!(Timestamp::default(), Timestamp::ZERO);
}

#[test]
fn timestamp_millis_must_fit_48_bits() {
    assert_eq!(Timestamp::MAX_MILLIS, 281_474_976_710_655);
    for millis in [1 << 48, u64::MAX] {
        assert_eq!(
            Timestamp::new(millis, 0),
            Err(ClockError::MillisOutOfRange { millis })
        );
    }
    let message = Timestamp::new(1 << 48, 0).unwrap_err().to_string();
    assert!(message.contains("281474976710656"), "{message}");
}

#[test]
fn timestamp_display() {
    assert_eq!(ts(T0, 5).to_string(), "1700000000000.5");
    assert_eq!(Timestamp::ZERO.to_string(), "0.0");
    assert_eq!(format!("{:?}", ts(T0, 5)), "Timestamp(1700000000000.5)");
}

#[test]
fn timestamp_order_examples() {
    assert!(ts(T0, 65_535) < ts(T0 + 1, 0));
    assert!(ts(T0, 1) < ts(T0, 2));
    assert!(Timestamp::ZERO < ts(0, 1));
}

#[cfg(feature = "serde")]
#[test]
fn timestamp_deserializes_from_a_plain_u64() {
    use serde::Deserialize;
    use serde::de::value::{Error, U64Deserializer};

    let raw = ts(T0, 5).as_u64();
    let t = Timestamp::deserialize(U64Deserializer::<Error>::new(raw)).unwrap();
    assert_eq!(t, ts(T0, 5));
}

proptest! {
    #[test]
    fn any_u64_is_a_timestamp(raw in any::<u64>()) {
        let t = Timestamp::from_u64(raw);
        prop_assert_eq!(Timestamp::new(t.millis(), t.logical()), Ok(t));
        prop_assert_eq!(t.as_u64(), raw);
    }

    #[test]
    fn timestamp_order_is_millis_then_logical(
        a in 0..=Timestamp::MAX_MILLIS, b in any::<u16>(),
        c in 0..=Timestamp::MAX_MILLIS, d in any::<u16>(),
        near in any::<bool>(),
    ) {
        // Half the cases share the millisecond so the counter decides.
        let c = if near { a } else { c };
        prop_assert_eq!(ts(a, b).cmp(&ts(c, d)), (a, b).cmp(&(c, d)));
    }
}

// ---------------------------------------------------------------------------------------------
// Stamp
// ---------------------------------------------------------------------------------------------

#[test]
fn stamp_orders_by_time_then_replica() {
    let stamp = |millis, logical, replica| Stamp {
        time: ts(millis, logical),
        replica: ReplicaId::from_u128(replica),
    };
    assert!(stamp(10, 0, 9) < stamp(10, 1, 1));
    assert!(stamp(10, 1, 1) < stamp(10, 1, 2));
    assert!(stamp(9, 65_535, 9) < stamp(10, 0, 0));
    assert_ne!(stamp(10, 1, 1), stamp(10, 1, 2));
}

// ---------------------------------------------------------------------------------------------
// The paper's Figure 6
// ---------------------------------------------------------------------------------------------

/// Three processes exchanging messages, in the spirit of Fig. 6 of the paper. The first five
/// values, (10,0), (10,1), (10,2), (10,3) and (10,4), are the ones the `hybrid-clocks` crate
/// transcribed from the figure (`fig_6_proc_0_a` … `fig_6_proc_2_c`). I could not check the
/// figure itself, so the history is extended by hand to reach every branch of the receive
/// rule; each expectation is worked out from Fig. 5 in the comment beside it. Physical times
/// are the figure's small integers, read as milliseconds.
#[test]
fn paper_figure_6_three_processes() {
    let (pt0, pt1, pt2) = (Manual::at(0), Manual::at(0), Manual::at(0));
    let (mut p0, mut p1, mut p2) = (pt0.hlc(0, 100), pt1.hlc(1, 100), pt2.hlc(2, 100));

    // p0 sends a at pt 10: l = max(0, 10) = 10 moved, c = 0.
    pt0.set(10);
    let a = p0.now().unwrap().time;
    assert_eq!(a, ts(10, 0));

    // p2 sends d at pt 1 (delivered to p1 much later): l = max(0, 1) = 1 moved, c = 0.
    pt2.set(1);
    let d = p2.now().unwrap().time;
    assert_eq!(d, ts(1, 0));

    // p1 receives a at pt 1: l = max(0, 10, 1) = 10 = l_m only, c = c_m + 1 = 1.
    pt1.set(1);
    assert_eq!(p1.observe(a).unwrap().time, ts(10, 1));

    // p1 sends b at pt 2: l = max(10, 2) = 10 unchanged, c = 1 + 1 = 2.
    pt1.set(2);
    let b = p1.now().unwrap().time;
    assert_eq!(b, ts(10, 2));

    // p2 receives b at pt 2: l = max(1, 10, 2) = 10 = l_m only, c = c_m + 1 = 3.
    pt2.set(2);
    assert_eq!(p2.observe(b).unwrap().time, ts(10, 3));

    // p2 sends c at pt 3: l = max(10, 3) = 10 unchanged, c = 3 + 1 = 4.
    pt2.set(3);
    let c = p2.now().unwrap().time;
    assert_eq!(c, ts(10, 4));

    // p0 receives c at pt 11: l = max(10, 10, 11) = 11 = pt only, c = 0.
    pt0.set(11);
    assert_eq!(p0.observe(c).unwrap().time, ts(11, 0));

    // p1 receives c at pt 3: l = max(10, 10, 3) = 10 = l' = l_m, c = max(2, 4) + 1 = 5.
    pt1.set(3);
    assert_eq!(p1.observe(c).unwrap().time, ts(10, 5));

    // p1 receives the late d at pt 4: l = max(10, 1, 4) = 10 = l' only, c = 5 + 1 = 6.
    pt1.set(4);
    assert_eq!(p1.observe(d).unwrap().time, ts(10, 6));

    // p0 sends e at pt 12: l = max(11, 12) = 12 moved, c = 0.
    pt0.set(12);
    let e = p0.now().unwrap().time;
    assert_eq!(e, ts(12, 0));

    // p1 receives e at pt 5: l = max(10, 12, 5) = 12 = l_m only, c = c_m + 1 = 1.
    pt1.set(5);
    assert_eq!(p1.observe(e).unwrap().time, ts(12, 1));
}

// ---------------------------------------------------------------------------------------------
// Table tests
// ---------------------------------------------------------------------------------------------

/// CockroachDB's `TestHLCClock` history (pkg/util/hlc/hlc_test.go), with its harness: a receive
/// step first calls `Now()` and then merges the input with the paper's receive rule. The
/// expected values are CockroachDB's; its units (ns, max offset 1000) are read as ms here.
#[test]
fn cockroachdb_history() {
    enum Event {
        Send,
        Recv(Timestamp),
    }
    use Event::{Recv, Send};

    let wall = Manual::at(1);
    let mut clock = wall.hlc(1, 1_000);
    let history = [
        // A few valid steps to warm up.
        (5, Send, ts(5, 0)),
        (6, Send, ts(6, 0)),
        (10, Recv(ts(10, 5)), ts(10, 6)),
        // Our clock mysteriously jumps back.
        (7, Send, ts(10, 7)),
        // Wall clocks coincide, but the local logical clock wins.
        (8, Recv(ts(10, 4)), ts(10, 9)),
        // Wall clocks coincide, but the remote logical clock wins.
        (10, Recv(ts(10, 99)), ts(10, 100)),
        // The physical clock has caught up and takes over.
        (11, Recv(ts(10, 31)), ts(11, 1)),
        (11, Send, ts(11, 2)),
    ];
    for (step, (millis, event, expected)) in history.into_iter().enumerate() {
        wall.set(millis);
        let got = match event {
            Send => clock.now().unwrap().time,
            Recv(remote) => {
                let before = clock.now().unwrap().time;
                let got = clock.observe(remote).unwrap().time;
                assert!(got > before, "step {step}: clock not updated");
                got
            }
        };
        assert_eq!(got, expected, "step {step}");
    }
}

/// Single receive events from a given state, covering each branch of the receive rule and the
/// carry. Each row: last timestamp, physical time, remote timestamp, expected stamp (derived
/// from Fig. 5 by hand; the branch is named in the comment).
#[test]
fn receive_rule_table() {
    let rows = [
        // l = l' = l_m (pt behind): max(c, c_m) + 1, remote counter wins.
        (ts(10, 5), 10, ts(10, 99), ts(10, 100)),
        // l = l' = l_m: local counter wins.
        (ts(10, 5), 8, ts(10, 3), ts(10, 6)),
        // pt ahead of both: counter resets.
        (ts(10, 5), 11, ts(10, 31), ts(11, 0)),
        (ts(10, 5), 13, ts(12, 7), ts(13, 0)),
        // l = l' only: c + 1.
        (ts(10, 5), 9, ts(7, 40), ts(10, 6)),
        (ts(12, 3), 10, ts(11, 9), ts(12, 4)),
        // l = l_m only: c_m + 1 (also when pt ties l_m).
        (ts(10, 5), 9, ts(12, 7), ts(12, 8)),
        (ts(10, 5), 12, ts(12, 7), ts(12, 8)),
        // Counter exhausted (local or remote): carry into the next millisecond.
        (ts(10, u16::MAX), 10, ts(3, 0), ts(11, 0)),
        (ts(10, 5), 10, ts(10, u16::MAX), ts(11, 0)),
    ];
    for (row, (last, pt, remote, expected)) in rows.into_iter().enumerate() {
        let wall = Manual::at(pt);
        let mut clock = wall.builder(1, 1_000).last(last).build().unwrap();
        assert_eq!(clock.observe(remote).unwrap().time, expected, "row {row}");
        assert_eq!(clock.last(), expected, "row {row}");
    }

    // `update` moves the clock exactly like `observe`; the next local event ticks after it:
    // receive (10,31) at wall 11 gives (11,0), then a send at wall 11 gives (11,1).
    let wall = Manual::at(11);
    let mut clock = wall.builder(1, 1_000).last(ts(10, 100)).build().unwrap();
    clock.update(ts(10, 31)).unwrap();
    assert_eq!(clock.last(), ts(11, 0));
    assert_eq!(clock.now().unwrap().time, ts(11, 1));
}

/// Single local events: l' = max(l, pt); reset if l moved, else increment (carry at 65,535).
#[test]
fn send_rule_table() {
    let rows = [
        (Timestamp::ZERO, 0, ts(0, 1)),
        (Timestamp::ZERO, T0, ts(T0, 0)),
        (ts(5, 3), 10, ts(10, 0)),
        (ts(10, 3), 10, ts(10, 4)),
        (ts(10, 3), 7, ts(10, 4)),
        (ts(10, u16::MAX), 10, ts(11, 0)),
        (ts(10, u16::MAX), 11, ts(11, 0)),
    ];
    for (row, (last, pt, expected)) in rows.into_iter().enumerate() {
        let wall = Manual::at(pt);
        let mut clock = wall.builder(1, 1_000).last(last).build().unwrap();
        let stamp = clock.now().unwrap();
        assert_eq!(stamp.time, expected, "row {row}");
        assert_eq!(stamp.replica, ReplicaId::from_u128(1), "row {row}");
    }
}

// ---------------------------------------------------------------------------------------------
// Drift bound
// ---------------------------------------------------------------------------------------------

#[test]
fn max_drift_accepts_499_ms_and_rejects_one_second() {
    let wall = Manual::at(T0);
    let mut clock = wall.hlc(1, 500);
    let start = clock.now().unwrap().time;
    assert_eq!(start, ts(T0, 0));

    // 1 s ahead with a 500 ms bound: refused, nothing changes.
    let far = ts(T0 + 1_000, 0);
    let refused = ClockError::Drift {
        remote_millis: T0 + 1_000,
        local_millis: T0,
        max_drift_millis: 500,
    };
    assert_eq!(clock.check_drift(far), Err(refused.clone()));
    assert_eq!(clock.update(far), Err(refused.clone()));
    assert_eq!(clock.observe(far), Err(refused.clone()));
    assert_eq!(clock.last(), start);
    assert_eq!(
        clock.now().unwrap().time,
        ts(T0, 1),
        "clock moved by a refused update"
    );
    let message = refused.to_string();
    assert!(
        message.contains("1700000001000") && message.contains("500 ms"),
        "{message}"
    );

    // 499 ms ahead: accepted; l_m wins, c = c_m + 1.
    let near = ts(T0 + 499, 3);
    assert_eq!(clock.check_drift(near), Ok(()));
    clock.update(near).unwrap();
    assert_eq!(clock.last(), ts(T0 + 499, 4));

    // Exactly at the bound is still accepted, one millisecond past it is not.
    assert_eq!(clock.check_drift(ts(T0 + 500, u16::MAX)), Ok(()));
    assert!(matches!(
        clock.check_drift(ts(T0 + 501, 0)),
        Err(ClockError::Drift { .. })
    ));

    // Once physical time has passed, the same far timestamp is acceptable.
    wall.set(T0 + 600);
    assert_eq!(clock.observe(far).unwrap().time, ts(T0 + 1_000, 1));
}

#[test]
fn past_remote_timestamps_are_never_drift() {
    let wall = Manual::at(T0);
    let mut clock = wall.hlc(1, 0);
    assert_eq!(clock.observe(ts(0, 0)).unwrap().time, ts(T0, 0));
    assert_eq!(clock.observe(ts(T0, 7)).unwrap().time, ts(T0, 8));
    assert!(matches!(
        clock.update(ts(T0 + 1, 0)),
        Err(ClockError::Drift { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Counter overflow
// ---------------------------------------------------------------------------------------------

#[test]
fn frozen_clock_carries_into_millis_then_overflows() {
    let wall = Manual::at(T0);
    let mut clock = wall.hlc(1, 2);

    // With pt frozen at T0 and 2 ms of drift the clock can use T0, T0+1 and T0+2: 3 × 65,536
    // stamps, each strictly greater than the one before.
    let mut stamps = Vec::new();
    let error = loop {
        match clock.now() {
            Ok(stamp) => stamps.push(stamp.time),
            Err(error) => break error,
        }
        assert!(
            stamps.len() <= 3 * 65_536,
            "the clock ran past pt + max_drift"
        );
    };
    assert_eq!(stamps.len(), 3 * 65_536);
    assert!(stamps.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(stamps[65_535], ts(T0, u16::MAX));
    assert_eq!(stamps[65_536], ts(T0 + 1, 0));
    assert_eq!(stamps[2 * 65_536], ts(T0 + 2, 0));

    let exhausted = ts(T0 + 2, u16::MAX);
    let overflow = ClockError::Overflow {
        latest: exhausted,
        physical_millis: T0,
        max_drift_millis: 2,
    };
    assert_eq!(error, overflow);
    assert_eq!(clock.last(), exhausted);
    // Still refused, and the clock still does not move, for local and receive events alike.
    assert_eq!(clock.now(), Err(overflow.clone()));
    assert_eq!(clock.update(ts(T0, 0)), Err(overflow));
    assert_eq!(clock.last(), exhausted);
    assert!(
        clock
            .now()
            .unwrap_err()
            .to_string()
            .contains("1700000000002.65535")
    );

    // One millisecond later the bound moves and the clock carries again.
    wall.set(T0 + 1);
    assert_eq!(clock.now().unwrap().time, ts(T0 + 3, 0));
}

#[test]
fn remote_at_the_bound_with_a_full_counter_overflows() {
    let wall = Manual::at(T0);
    let mut clock = wall.hlc(1, 500);
    let before = clock.now().unwrap().time;
    let remote = ts(T0 + 500, u16::MAX);
    assert_eq!(clock.check_drift(remote), Ok(()));
    assert_eq!(
        clock.observe(remote),
        Err(ClockError::Overflow {
            latest: remote,
            physical_millis: T0,
            max_drift_millis: 500,
        })
    );
    assert_eq!(clock.last(), before);
}

// ---------------------------------------------------------------------------------------------
// Physical clock jumps and restarts
// ---------------------------------------------------------------------------------------------

#[test]
fn clock_going_backwards_keeps_stamps_increasing() {
    let wall = Manual::at(T0);
    let mut clock = wall.hlc(1, 60_000);
    // (physical reading, expected stamp): l never follows pt backwards, the counter ticks.
    let steps = [
        (T0, ts(T0, 0)),
        (T0 + 5, ts(T0 + 5, 0)),
        (T0 - 1_000, ts(T0 + 5, 1)),
        (T0 + 3, ts(T0 + 5, 2)),
        (T0 - 3_600_000, ts(T0 + 5, 3)),
        (T0 + 6, ts(T0 + 6, 0)),
    ];
    for (step, (millis, expected)) in steps.into_iter().enumerate() {
        wall.set(millis);
        assert_eq!(clock.now().unwrap().time, expected, "step {step}");
    }
    // Receiving an old timestamp while the wall clock is behind still ticks forward.
    wall.set(T0 - 10);
    assert_eq!(clock.observe(ts(T0, 0)).unwrap().time, ts(T0 + 6, 1));
}

#[test]
fn resuming_from_last_never_goes_backwards() {
    let saved = ts(T0 + 100, 7);

    // The restarted machine's clock is behind the saved timestamp: continue after it.
    let wall = Manual::at(T0);
    let mut clock = wall.builder(1, 1_000).last(saved).build().unwrap();
    assert_eq!(clock.last(), saved);
    assert_eq!(clock.now().unwrap().time, ts(T0 + 100, 8));

    // Even far behind (more than max drift), local events keep ticking after `saved`.
    let wall = Manual::at(T0 - 3_600_000);
    let mut clock = wall.builder(1, 1_000).last(saved).build().unwrap();
    assert_eq!(clock.now().unwrap().time, ts(T0 + 100, 8));

    // The clock is ahead of the saved timestamp: physical time takes over.
    let wall = Manual::at(T0 + 200);
    let mut clock = wall.builder(1, 1_000).last(saved).build().unwrap();
    assert_eq!(clock.now().unwrap().time, ts(T0 + 200, 0));
}

// ---------------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------------

#[test]
fn builder_defaults_and_accessors() {
    let clock = Hlc::builder(ReplicaId::from_u128(7))
        .clock(|| T0)
        .build()
        .unwrap();
    assert_eq!(clock.replica(), ReplicaId::from_u128(7));
    assert_eq!(clock.max_drift(), Duration::from_secs(60));
    assert_eq!(Hlc::DEFAULT_MAX_DRIFT, Duration::from_secs(60));
    assert_eq!(clock.last(), Timestamp::ZERO);

    // Sub-millisecond parts are truncated.
    let clock = Manual::at(T0)
        .builder(1, 0)
        .max_drift(Duration::from_micros(1_500))
        .build()
        .unwrap();
    assert_eq!(clock.max_drift(), Duration::from_millis(1));
}

#[test]
fn builder_rejects_a_max_drift_past_48_bits() {
    let limit = Duration::from_millis(Timestamp::MAX_MILLIS);
    let clock = Manual::at(T0)
        .builder(1, 0)
        .max_drift(limit)
        .build()
        .unwrap();
    assert_eq!(clock.max_drift(), limit);

    for max_drift in [limit + Duration::from_millis(1), Duration::MAX] {
        let error = Manual::at(T0)
            .builder(1, 0)
            .max_drift(max_drift)
            .build()
            .unwrap_err();
        assert_eq!(error, ClockError::InvalidMaxDrift { max_drift });
    }
}

#[test]
fn huge_max_drift_saturates_instead_of_overflowing() {
    let wall = Manual::at(T0);
    let mut clock = wall.hlc(1, Timestamp::MAX_MILLIS);
    let end = ts(Timestamp::MAX_MILLIS, u16::MAX - 1);
    assert_eq!(clock.observe(end).unwrap().time, Timestamp::MAX);
    assert!(matches!(clock.now(), Err(ClockError::Overflow { .. })));
    assert_eq!(clock.last(), Timestamp::MAX);
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[test]
fn default_clock_is_the_system_clock() {
    use deltacrdt::{PhysicalClock, SystemClock};

    let mut clock = Hlc::builder(ReplicaId::from_u128(1)).build().unwrap();
    let stamp = clock.now().unwrap();
    // 2020-01-01T00:00:00Z: a sanity bound, not a timing assertion.
    assert!(stamp.time.millis() > 1_577_836_800_000);
    assert!(SystemClock.now_millis() > 1_577_836_800_000);
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Now,
    /// Observe a remote timestamp `offset` ms from `T0`.
    Observe(i64, u16),
    /// The same through `update`.
    Update(i64, u16),
    /// Move the physical clock to `T0 + offset`, possibly backwards.
    SetClock(i64),
}

fn around_t0(offset: i64) -> u64 {
    T0.saturating_add_signed(offset)
}

fn op() -> impl Strategy<Value = Op> {
    // Counters near the top are common so that carries happen.
    let logical = prop_oneof![any::<u16>(), (u16::MAX - 3)..=u16::MAX];
    prop_oneof![
        3 => Just(Op::Now),
        2 => (-10_000i64..10_000, logical.clone()).prop_map(|(o, l)| Op::Observe(o, l)),
        2 => (-10_000i64..10_000, logical).prop_map(|(o, l)| Op::Update(o, l)),
        2 => (-5_000i64..5_000).prop_map(Op::SetClock),
    ]
}

proptest! {
    /// Over any interleaving of local events, receives and physical clock jumps, every stamp a
    /// node issues is strictly greater than the one before, a receive stamp is greater than the
    /// remote timestamp, a refused operation changes nothing, and the clock only moves its
    /// milliseconds past `pt + max_drift` when it already was (the physical clock jumped back).
    #[test]
    fn stamps_strictly_increase_over_random_histories(
        max_drift in 0u64..3_000,
        ops in prop::collection::vec(op(), 1..200),
    ) {
        let wall = Manual::at(T0);
        let mut clock = wall.hlc(1, max_drift);
        for op in ops {
            let before = clock.last();
            let pt = wall.get();
            let (result, remote) = match op {
                Op::Now => (clock.now(), None),
                Op::Observe(offset, logical) => {
                    let remote = ts(around_t0(offset), logical);
                    (clock.observe(remote), Some(remote))
                }
                Op::Update(offset, logical) => {
                    let remote = ts(around_t0(offset), logical);
                    (clock.update(remote).map(|()| Stamp { time: clock.last(), replica: clock.replica() }), Some(remote))
                }
                Op::SetClock(offset) => {
                    wall.set(around_t0(offset));
                    continue;
                }
            };
            match result {
                Ok(stamp) => {
                    prop_assert!(stamp.time > before);
                    prop_assert_eq!(stamp.time, clock.last());
                    prop_assert!(stamp.time.millis() >= pt);
                    prop_assert!(stamp.time.millis() <= before.millis().max(pt + max_drift));
                    if let Some(remote) = remote {
                        prop_assert!(stamp.time > remote);
                    }
                }
                Err(ClockError::Drift { remote_millis, local_millis, max_drift_millis }) => {
                    prop_assert_eq!(clock.last(), before);
                    prop_assert_eq!(local_millis, pt);
                    prop_assert_eq!(max_drift_millis, max_drift);
                    prop_assert!(remote_millis > pt + max_drift);
                }
                Err(ClockError::Overflow { latest, .. }) => {
                    prop_assert_eq!(clock.last(), before);
                    prop_assert_eq!(latest, remote.map_or(before, |remote| remote.max(before)));
                    prop_assert_eq!(latest.logical(), u16::MAX);
                    prop_assert!(latest.millis() >= pt + max_drift);
                }
                Err(other) => prop_assert!(false, "unexpected error {other}"),
            }
        }
    }

    /// `observe(m) > m`, and greater than everything issued before, whatever the state.
    #[test]
    fn observe_is_greater_than_the_message(
        last in 0u64..=(T0 + 20_000) << 16,
        pt in T0..T0 + 10_000,
        remote in 0u64..=(T0 + 10_000) << 16,
        max_drift in 0u64..20_000,
    ) {
        let (last, remote) = (Timestamp::from_u64(last), Timestamp::from_u64(remote));
        let wall = Manual::at(pt);
        let mut clock = wall.builder(1, max_drift).last(last).build().unwrap();
        match clock.observe(remote) {
            Ok(stamp) => {
                prop_assert!(stamp.time > remote);
                prop_assert!(stamp.time > last);
            }
            Err(ClockError::Drift { .. }) => prop_assert!(remote.millis() > pt + max_drift),
            Err(ClockError::Overflow { .. }) => {
                prop_assert_eq!(remote.max(last).logical(), u16::MAX);
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    /// With a physical clock that never goes backwards, `pt <= l.millis() <= pt + max_drift`
    /// after every accepted operation.
    #[test]
    fn accepted_updates_stay_within_max_drift(
        max_drift in 0u64..2_000,
        steps in prop::collection::vec(
            (0u64..1_500, -5_000i64..5_000, any::<u16>(), any::<bool>()),
            1..200,
        ),
    ) {
        let wall = Manual::at(T0);
        let mut clock = wall.hlc(1, max_drift);
        for (advance, offset, logical, local) in steps {
            wall.set(wall.get() + advance);
            let pt = wall.get();
            let result = if local {
                clock.now().map(drop)
            } else {
                clock.update(ts(pt.saturating_add_signed(offset), logical))
            };
            if result.is_ok() {
                let l = clock.last().millis();
                prop_assert!(pt <= l && l - pt <= max_drift, "l = {l}, pt = {pt}");
            }
        }
    }

}

proptest! {
    // Each case issues 80,000 stamps: a few cases are plenty.
    #![proptest_config(ProptestConfig::with_cases(4))]

    /// Four nodes in a ring, each issuing 10,000 local stamps and observing its neighbour's:
    /// every node's stream strictly increases, each receive stamp exceeds the message, and all
    /// 80,000 stamps are distinct.
    #[test]
    fn four_nodes_ten_thousand_stamps_are_unique(
        skews in prop::array::uniform4(0u64..500),
        tick_every in 1usize..50,
    ) {
        const NODES: usize = 4;
        const STAMPS: usize = 10_000;
        let walls: Vec<Manual> = skews.iter().map(|skew| Manual::at(T0 + skew)).collect();
        let mut clocks: Vec<Hlc> = walls
            .iter()
            .zip(0u128..)
            .map(|(wall, replica)| wall.hlc(replica, 1_000))
            .collect();
        let mut streams: Vec<Vec<Stamp>> = vec![Vec::new(); NODES];
        for round in 0..STAMPS {
            if round % tick_every == 0 {
                for wall in &walls {
                    wall.set(wall.get() + 1);
                }
            }
            for node in 0..NODES {
                let sent = clocks[node].now().unwrap();
                streams[node].push(sent);
                let next = (node + 1) % NODES;
                let received = clocks[next].observe(sent.time).unwrap();
                prop_assert!(received.time > sent.time);
                streams[next].push(received);
            }
        }
        let mut all = HashSet::new();
        for stream in &streams {
            prop_assert_eq!(stream.len(), 2 * STAMPS);
            prop_assert!(stream.windows(2).all(|pair| pair[0] < pair[1]));
            all.extend(stream.iter().copied());
        }
        prop_assert_eq!(all.len(), NODES * 2 * STAMPS);
    }
}
