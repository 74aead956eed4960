//! [`Hlc`], the per-replica hybrid logical clock, its builder, and [`Stamp`].

use std::fmt;
use std::time::Duration;

use super::{ClockError, PhysicalClock, Timestamp};
use crate::id::ReplicaId;

/// A unique point in the total order of events: a [`Timestamp`] with the issuing replica as
/// tie-break.
///
/// The derived order is `(time, replica)`. Timestamps of different replicas may be equal;
/// stamps never are, as long as replica ids are unique, because each [`Hlc`] issues strictly
/// increasing timestamps. This is what last-writer-wins registers compare.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Stamp {
    /// The hybrid logical time of the event.
    pub time: Timestamp,
    /// The replica whose clock issued the stamp.
    pub replica: ReplicaId,
}

type BoxedClock = Box<dyn PhysicalClock + Send + Sync>;

/// A hybrid logical clock (Kulkarni et al. 2014) owned by one replica.
///
/// [`now`](Self::now) stamps a local event; [`observe`](Self::observe) (or
/// [`update`](Self::update)) merges a remote timestamp and stamps the receive event, after
/// refusing remotes more than [`max_drift`](Self::max_drift) ahead of the physical clock.
/// Every stamp is strictly greater than every stamp issued before by this clock and every
/// timestamp it accepted. The rules: [`Hlc::now`] (local event), [`Hlc::observe`] (receive), [`Hlc::check_drift`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use deltacrdt::{ClockError, Hlc, ReplicaId, Timestamp};
///
/// let mut a = Hlc::builder(ReplicaId::from_u128(1))
///     .clock(|| 1_700_000_000_000u64)
///     .build()?;
/// let first = a.now()?;
/// let second = a.now()?; // same millisecond: the logical counter ticks
/// assert_eq!(first.time.to_string(), "1700000000000.0");
/// assert_eq!(second.time.to_string(), "1700000000000.1");
///
/// // `b`'s physical clock is 10 ms behind; receiving `a`'s stamp pulls it forward.
/// let mut b = Hlc::builder(ReplicaId::from_u128(2))
///     .clock(|| 1_699_999_999_990u64)
///     .max_drift(Duration::from_secs(5))
///     .build()?;
/// let received = b.observe(second.time)?;
/// assert!(received > second);
/// assert_eq!(received.time.to_string(), "1700000000000.2");
///
/// // A peer an hour ahead is refused, and the clock does not move.
/// let future = Timestamp::new(1_700_000_000_000 + 3_600_000, 0)?;
/// assert!(matches!(b.update(future), Err(ClockError::Drift { .. })));
/// assert_eq!(b.last(), received.time);
/// # Ok::<(), ClockError>(())
/// ```
pub struct Hlc {
    replica: ReplicaId,
    clock: BoxedClock,
    max_drift_millis: u64,
    last: Timestamp,
    /// How far ahead of a peer's clock this one reads while it is fenced (set by a sync engine
    /// that was told so): [`Hlc::now`] refuses.
    fenced: Option<u64>,
}

impl Hlc {
    /// The default [`max_drift`](HlcBuilder::max_drift): 60 seconds.
    ///
    /// Offline-first peers (phones, laptops waking from sleep) often run with clocks that are
    /// seconds off, so the sub-second bounds of datacenter systems (500 ms in CockroachDB and
    /// `uhlc`) would reject honest peers. A minute still keeps a peer with a badly wrong clock
    /// from pushing everyone's time, and every last-writer-wins decision, far into the future.
    /// Configure it with [`HlcBuilder::max_drift`].
    pub const DEFAULT_MAX_DRIFT: Duration = Duration::from_secs(60);

    /// Starts building the clock of `replica`.
    pub fn builder(replica: ReplicaId) -> HlcBuilder {
        HlcBuilder {
            replica,
            clock: None,
            max_drift: Self::DEFAULT_MAX_DRIFT,
            last: Timestamp::ZERO,
        }
    }

    /// The replica this clock stamps events for.
    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// Continues under a fresh replica id `replica`, keeping the last timestamp: what a
    /// replica that found its id reused (a restored backup, a copy) stamps with from then on.
    #[cfg(feature = "reconcile")]
    pub(crate) fn fork(&mut self, replica: ReplicaId) {
        self.replica = replica;
    }

    /// Continues under a fresh replica id `replica` with no timestamp issued yet: what a replica
    /// whose physical clock went back behind its own stamps (a skewed clock, fixed) stamps
    /// with. Under its old id it could only stamp after those stamps, or reuse them.
    #[cfg(feature = "reconcile")]
    pub(crate) fn fork_fresh(&mut self, replica: ReplicaId) {
        self.replica = replica;
        self.last = Timestamp::ZERO;
    }

    /// Fences local stamps (`Some(ms ahead)`) or lifts the fence (`None`).
    #[cfg(feature = "reconcile")]
    pub(crate) fn set_fence(&mut self, ahead_millis: Option<u64>) {
        self.fenced = ahead_millis;
    }

    /// How far ahead of a peer's clock this clock reads while its local stamps are fenced
    /// ([`ClockError::Fenced`]), in milliseconds; `None` when it is not fenced.
    pub fn fenced(&self) -> Option<u64> {
        self.fenced
    }

    /// Whether this clock's last timestamp lies beyond the drift bound of its own physical
    /// clock: the physical clock went back (a clock that ran ahead was fixed), and every stamp
    /// it issues would still be that far ahead.
    #[cfg(feature = "reconcile")]
    pub(crate) fn ahead_of_itself(&self) -> bool {
        self.physical_millis()
            .is_ok_and(|pt| self.last.millis() > self.bound(pt))
    }

    /// The greatest timestamp accepted from a peer now: the physical clock plus the maximum
    /// drift (its last tick).
    #[cfg(feature = "reconcile")]
    pub(crate) fn drift_bound(&self) -> Result<Timestamp, ClockError> {
        let bound = self.bound(self.physical_millis()?);
        Ok(Timestamp::new(bound, u16::MAX).unwrap_or(Timestamp::MAX))
    }

    /// How far ahead of the physical clock a remote timestamp, or this clock itself when its
    /// counter carries, may be (whole milliseconds).
    pub fn max_drift(&self) -> Duration {
        Duration::from_millis(self.max_drift_millis)
    }

    /// The last timestamp issued, or the one given to [`HlcBuilder::last`] if none was issued
    /// yet. Persist it with the state so a restarted clock resumes after it.
    pub fn last(&self) -> Timestamp {
        self.last
    }

    /// Stamps a local or send event: `l' = max(l, pt)`, the counter resetting to 0 if the
    /// milliseconds moved and incrementing otherwise (carrying into the milliseconds when it is
    /// exhausted).
    ///
    /// # Errors
    ///
    /// - [`ClockError::Overflow`] if the counter is exhausted and carrying would put the clock
    ///   more than [`max_drift`](Self::max_drift) ahead of physical time.
    /// - [`ClockError::MillisOutOfRange`] if the physical clock reads past the 48-bit range.
    ///
    /// - [`ClockError::Fenced`] while a peer has reported this clock ahead of its own by more
    ///   than the maximum drift (see [`fenced`](Self::fenced)).
    ///
    /// On error the clock is unchanged.
    pub fn now(&mut self) -> Result<Stamp, ClockError> {
        if let Some(ahead_millis) = self.fenced {
            return Err(ClockError::Fenced {
                ahead_millis,
                max_drift_millis: self.max_drift_millis,
            });
        }
        let pt = self.physical_millis()?;
        self.advance(self.last, pt)
    }

    /// Merges a remote timestamp as a receive event and returns the event's stamp.
    ///
    /// This is the paper's receive rule: `l' = max(l, l_m, pt)` with the counter following
    /// whichever of them won; equivalently, the send rule applied to the greater of the last
    /// and the remote timestamp. The returned stamp is greater than `remote` and than every
    /// stamp issued before.
    ///
    /// # Errors
    ///
    /// - [`ClockError::Drift`] if `remote` is more than [`max_drift`](Self::max_drift) ahead of
    ///   the physical clock (checked first, see [`check_drift`](Self::check_drift)).
    /// - [`ClockError::Overflow`] and [`ClockError::MillisOutOfRange`] as for [`now`](Self::now).
    ///
    /// On error the clock is unchanged.
    pub fn observe(&mut self, remote: Timestamp) -> Result<Stamp, ClockError> {
        let pt = self.physical_millis()?;
        self.check_drift_at(remote, pt)?;
        self.advance(self.last.max(remote), pt)
    }

    /// Merges a remote timestamp, like [`observe`](Self::observe) but without returning the
    /// stamp.
    ///
    /// The receive event still consumes a timestamp (it becomes [`last`](Self::last)), so the
    /// clock moves exactly as with `observe`, and the next [`now`](Self::now) is greater still.
    ///
    /// # Errors
    ///
    /// As for [`observe`](Self::observe); on error the clock is unchanged.
    pub fn update(&mut self, remote: Timestamp) -> Result<(), ClockError> {
        self.observe(remote).map(drop)
    }

    /// Checks, without changing anything, whether `remote` is within
    /// [`max_drift`](Self::max_drift) of the physical clock, so a sync engine can refuse a
    /// message before applying any of it.
    ///
    /// # Errors
    ///
    /// - [`ClockError::Drift`] if `remote.millis()` exceeds the physical clock plus the maximum
    ///   drift.
    /// - [`ClockError::MillisOutOfRange`] if the physical clock reads past the 48-bit range.
    pub fn check_drift(&self, remote: Timestamp) -> Result<(), ClockError> {
        self.check_drift_at(remote, self.physical_millis()?)
    }

    pub(crate) fn physical_millis(&self) -> Result<u64, ClockError> {
        let millis = self.clock.now_millis();
        if millis > Timestamp::MAX_MILLIS {
            return Err(ClockError::MillisOutOfRange { millis });
        }
        Ok(millis)
    }

    /// The greatest millisecond the clock may reach at physical time `pt`, saturating at the
    /// 48-bit limit.
    fn bound(&self, pt: u64) -> u64 {
        pt.saturating_add(self.max_drift_millis)
            .min(Timestamp::MAX_MILLIS)
    }

    fn check_drift_at(&self, remote: Timestamp, pt: u64) -> Result<(), ClockError> {
        if remote.millis() > self.bound(pt) {
            return Err(ClockError::Drift {
                remote_millis: remote.millis(),
                local_millis: pt,
                max_drift_millis: self.max_drift_millis,
            });
        }
        Ok(())
    }

    /// The send rule applied to `base`: jump to `pt` if the physical clock is ahead, else
    /// take the next timestamp. A carry into the milliseconds may not pass [`Self::bound`];
    /// ticking the counter within the current millisecond is always allowed, so a physical
    /// clock that jumped backwards never blocks local events by itself.
    fn advance(&mut self, base: Timestamp, pt: u64) -> Result<Stamp, ClockError> {
        let next = if pt > base.millis() {
            Timestamp::at_millis(pt)
        } else {
            base.successor()
                .filter(|next| next.millis() == base.millis() || next.millis() <= self.bound(pt))
        };
        let time = next.ok_or(ClockError::Overflow {
            latest: base,
            physical_millis: pt,
            max_drift_millis: self.max_drift_millis,
        })?;
        self.last = time;
        Ok(Stamp {
            time,
            replica: self.replica,
        })
    }
}

impl fmt::Debug for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hlc")
            .field("replica", &self.replica)
            .field("max_drift", &self.max_drift())
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

/// Configures an [`Hlc`]; made by [`Hlc::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct HlcBuilder {
    replica: ReplicaId,
    clock: Option<BoxedClock>,
    max_drift: Duration,
    last: Timestamp,
}

impl HlcBuilder {
    /// Injects the physical clock, e.g. a closure `|| millis`. Without it the clock is
    /// [`SystemClock`](super::SystemClock) (which does not exist on `wasm32-unknown-unknown`).
    pub fn clock(mut self, clock: impl PhysicalClock + Send + Sync + 'static) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// Sets how far ahead of the physical clock a remote timestamp may be before it is refused
    /// with [`ClockError::Drift`], and how far a counter carry may push the clock ahead.
    /// Truncated to whole milliseconds. Defaults to [`Hlc::DEFAULT_MAX_DRIFT`].
    pub fn max_drift(mut self, max_drift: Duration) -> Self {
        self.max_drift = max_drift;
        self
    }

    /// Resumes after a restart from the last timestamp issued (as persisted with the state):
    /// every stamp the clock issues will be greater, whatever the physical clock says.
    pub fn last(mut self, last: Timestamp) -> Self {
        self.last = last;
        self
    }

    /// Builds the clock.
    ///
    /// # Errors
    ///
    /// - [`ClockError::InvalidMaxDrift`] if the maximum drift exceeds
    ///   [`Timestamp::MAX_MILLIS`] milliseconds.
    /// - [`ClockError::NoClock`] on `wasm32-unknown-unknown` if no clock was injected.
    pub fn build(self) -> Result<Hlc, ClockError> {
        let max_drift_millis = u64::try_from(self.max_drift.as_millis())
            .ok()
            .filter(|millis| *millis <= Timestamp::MAX_MILLIS)
            .ok_or(ClockError::InvalidMaxDrift {
                max_drift: self.max_drift,
            })?;
        let clock = match self.clock {
            Some(clock) => clock,
            None => default_clock()?,
        };
        Ok(Hlc {
            replica: self.replica,
            clock,
            max_drift_millis,
            last: self.last,
            fenced: None,
        })
    }
}

impl fmt::Debug for HlcBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HlcBuilder")
            .field("replica", &self.replica)
            .field("custom_clock", &self.clock.is_some())
            .field("max_drift", &self.max_drift)
            .field("last", &self.last)
            .finish()
    }
}

#[cfg(not(no_os))]
fn default_clock() -> Result<BoxedClock, ClockError> {
    Ok(Box::new(super::SystemClock))
}

#[cfg(no_os)]
fn default_clock() -> Result<BoxedClock, ClockError> {
    Err(ClockError::NoClock)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hlc(pt: u64, max_drift_millis: u64) -> Hlc {
        Hlc::builder(ReplicaId::from_u128(1))
            .clock(move || pt)
            .max_drift(Duration::from_millis(max_drift_millis))
            .build()
            .unwrap()
    }

    fn ts(millis: u64, logical: u16) -> Timestamp {
        Timestamp::new(millis, logical).unwrap()
    }

    #[test]
    fn hlc_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Hlc>();
        assert_send_sync::<HlcBuilder>();
    }

    #[test]
    fn bound_saturates_at_48_bits() {
        let clock = hlc(Timestamp::MAX_MILLIS - 1, 10);
        assert_eq!(
            clock.bound(Timestamp::MAX_MILLIS - 1),
            Timestamp::MAX_MILLIS
        );
        assert_eq!(clock.bound(5), 15);
    }

    #[test]
    fn clock_at_the_end_of_time_overflows_instead_of_wrapping() {
        let mut clock = hlc(Timestamp::MAX_MILLIS, 0);
        clock.last = Timestamp::MAX;
        assert!(matches!(clock.now(), Err(ClockError::Overflow { .. })));
        assert_eq!(clock.last(), Timestamp::MAX);
        assert!(clock.check_drift(Timestamp::MAX).is_ok());
    }

    #[test]
    fn counter_ticks_in_place_when_physical_clock_is_far_behind() {
        // Physical clock 1000 ms behind the resumed `last`, drift 10 ms: ticking the counter
        // is fine, carrying into the next millisecond is not.
        let mut clock = hlc(1_000, 10);
        clock.last = ts(2_000, u16::MAX - 1);
        assert_eq!(clock.now().unwrap().time, ts(2_000, u16::MAX));
        let err = clock.now().unwrap_err();
        assert_eq!(
            err,
            ClockError::Overflow {
                latest: ts(2_000, u16::MAX),
                physical_millis: 1_000,
                max_drift_millis: 10
            }
        );
    }

    #[test]
    fn physical_clock_past_48_bits_is_an_error() {
        let mut clock = hlc(Timestamp::MAX_MILLIS + 1, 10);
        let err = ClockError::MillisOutOfRange {
            millis: Timestamp::MAX_MILLIS + 1,
        };
        assert_eq!(clock.now(), Err(err.clone()));
        assert_eq!(clock.check_drift(Timestamp::ZERO), Err(err));
        assert_eq!(clock.last(), Timestamp::ZERO);
    }

    #[test]
    fn debug_omits_the_clock() {
        let clock = hlc(5, 10);
        let text = format!("{clock:?}");
        assert!(text.starts_with("Hlc { replica: "));
        assert!(text.contains("max_drift: 10ms, last: Timestamp(0.0)"));
        assert!(text.ends_with(".. }"));
        let builder = Hlc::builder(ReplicaId::from_u128(1));
        assert!(format!("{builder:?}").contains("custom_clock: false"));
    }
}
