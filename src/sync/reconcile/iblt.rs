//! Rateless invertible Bloom lookup tables over `u64` items (L. Yang, Y. Gilad, M. Alizadeh,
//! *Practical Rateless Set Reconciliation*, SIGCOMM 2024).
//!
//! An [`Encoder`] turns a set into an endless stream of coded [`Symbol`]s; a [`Decoder`] holding
//! the other set subtracts its own stream from the peer's and peels the difference out of it.
//! Every item is in symbol 0 and then in symbol `i` with probability about `1 / (1 + i/2)`, so
//! the first `m` symbols hold about `2 ln m` copies of each item and a difference of `d` items
//! decodes from roughly `1.4–1.7 d` symbols (more for tiny `d`), whatever `d` is: neither side
//! needs to guess it. Figures and the protocol reasoning: `DESIGN.md` beside this file.
//!
//! This file uses nothing of the crate but `crate::platform::sort` (otherwise std, `siphasher`
//! and `thiserror`), so the benchmark can include it, with that file, as modules of its own and
//! measure it without widening the crate's API.

use siphasher::sip::SipHasher24;

use crate::platform::sort::sort_unstable;

/// The key of one reconciliation session: every hash of the session is SipHash-2-4 under it.
///
/// Built from both peers' hello nonces, so a third party cannot choose items that collide in
/// the session's symbols ahead of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionKey {
    k0: u64,
    k1: u64,
}

impl SessionKey {
    /// The key of a session whose two hellos carried the nonces `a` and `b` (in either order).
    pub(crate) fn from_nonces(a: [u8; 16], b: [u8; 16]) -> SessionKey {
        let x = u128::from_le_bytes(a) ^ u128::from_le_bytes(b);
        SessionKey {
            k0: x as u64,
            k1: (x >> 64) as u64,
        }
    }

    /// SipHash-2-4 of the item's 8 little-endian bytes under this key.
    pub(crate) fn hash(&self, item: u64) -> u64 {
        SipHasher24::new_with_keys(self.k0, self.k1).hash(&item.to_le_bytes())
    }
}

/// The checksum of an item: the high half of its keyed hash (the whole hash seeds its mapping).
fn check_of(hash: u64) -> u32 {
    (hash >> 32) as u32
}

/// One coded symbol: the sum of the items mapped to it, as a count, an XOR of the items and an
/// XOR of their checksums.
///
/// On the wire: `count` as a zigzag LEB128 varint, `key` as 8 bytes and `check` as 4 bytes, both
/// little-endian (13 bytes while `|count| < 64`, at most 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Symbol {
    /// Items added minus items removed.
    pub(crate) count: i64,
    /// XOR of the items.
    pub(crate) key: u64,
    /// XOR of the items' keyed 32-bit checksums.
    pub(crate) check: u32,
}

/// Why bytes did not read as a [`Symbol`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SymbolError {
    /// The input ended inside a symbol.
    #[error("input ends inside a coded symbol")]
    Truncated,
    /// The count's varint is longer than 10 bytes, overflows 64 bits or is not minimal.
    #[error("malformed count varint in a coded symbol")]
    BadCount,
}

impl Symbol {
    /// Adds (`sign` 1) or removes (`sign` -1) one item.
    fn apply(&mut self, item: u64, check: u32, sign: i64) {
        self.count = self.count.wrapping_add(sign);
        self.key ^= item;
        self.check ^= check;
    }

    /// Appends the wire form (13 to 22 bytes).
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let mut v = ((self.count << 1) ^ (self.count >> 63)) as u64;
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
        out.extend_from_slice(&self.key.to_le_bytes());
        out.extend_from_slice(&self.check.to_le_bytes());
    }

    /// Reads one symbol from the front of `input` and advances it past the symbol.
    ///
    /// # Errors
    /// [`SymbolError`] if the bytes are not a symbol; `input` is then left unchanged.
    pub(crate) fn read(input: &mut &[u8]) -> Result<Symbol, SymbolError> {
        let mut rest = *input;
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let (&b, tail) = rest.split_first().ok_or(SymbolError::Truncated)?;
            rest = tail;
            // The tenth byte holds bit 63 only; a zero last byte after the first is not minimal.
            if (shift == 63 && b > 1) || (b == 0 && shift > 0) {
                return Err(SymbolError::BadCount);
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let (key, tail) = rest
            .split_first_chunk::<8>()
            .ok_or(SymbolError::Truncated)?;
        let (check, tail) = tail
            .split_first_chunk::<4>()
            .ok_or(SymbolError::Truncated)?;
        *input = tail;
        Ok(Symbol {
            count: (v >> 1) as i64 ^ -((v & 1) as i64),
            key: u64::from_le_bytes(*key),
            check: u32::from_le_bytes(*check),
        })
    }

    /// Whether the symbol is empty (no item left in it).
    fn is_zero(&self) -> bool {
        *self == Symbol::default()
    }
}

/// An item with its position in its own mapping: `next` is the next symbol index it goes to.
/// Indices are 32-bit: an item never maps to index `u32::MAX` or beyond (no session comes near).
#[derive(Debug, Clone, Copy)]
struct Entry {
    rng: u64,
    item: u64,
    next: u32,
    check: u32,
}

impl Entry {
    /// The item at its first index (0), its mapping seeded by its keyed hash.
    fn new(item: u64, hash: u64) -> Entry {
        Entry {
            rng: hash,
            item,
            next: 0,
            check: check_of(hash),
        }
    }

    /// Moves `next` to the following index the item maps to.
    ///
    /// With `u` uniform in (0, 1] and `s = u^(-1/2)`, the next index after `i` is the least `j`
    /// above `(i + 3/2) s - 3/2`: it is beyond `j` with probability `((i + 3/2) / (j + 3/2))^2 =
    /// prod_{k=i+1..=j} (1 - p(k))`, so every index `k` holds the item independently with
    /// probability `p(k) = (2k + 2) / (k + 3/2)^2`, the paper's `1 / (1 + k/2)` up to `O(k^-3)`
    /// (0.64 instead of 2/3 at `k = 1`, within 1 % from `k = 5`). This is the paper's sampling
    /// form; `s` depends on the generator only, so its division and square root stay off the
    /// chain from one index to the next. IEEE arithmetic (correctly rounded, never fused) makes
    /// the mapping the same on every target.
    fn advance(&mut self) {
        // splitmix64: a Weyl sequence through a bijective mixer.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let s = ((1u64 << 53) as f64 / ((z >> 11) + 1) as f64).sqrt();
        // `as` truncates (the floor here, the value being at least -1.5) and saturates, so
        // far-away indices stick at u32::MAX instead of wrapping.
        let j = ((f64::from(self.next) + 1.5) * s - 1.5) as u32;
        self.next = j.saturating_add(1).max(self.next.saturating_add(1));
    }

    /// Whether the item maps to symbol `index` (walks its mapping from the current index).
    fn maps_to(mut self, index: usize) -> bool {
        let Ok(index) = u32::try_from(index) else {
            return false;
        };
        while self.next < index {
            self.advance();
        }
        self.next == index
    }

    /// Adds the item with `sign` to every symbol of `out` (indices `start..`) it maps to below
    /// `end`, moving `next` to `end` or beyond; `next` must be at least `start`.
    fn walk(&mut self, out: &mut [Symbol], start: u32, end: u32, sign: i64) {
        while self.next < end {
            if let Some(s) = out.get_mut(self.next.wrapping_sub(start) as usize) {
                s.apply(self.item, self.check, sign);
            }
            self.advance();
        }
    }
}

/// Entries ordered by `next`, all added with one sign: a radix heap (keys only grow). Bucket
/// `b` holds the entries whose `next` first differs from `last` at bit `b - 1` (bucket 0: equal
/// to `last`). A call walks every entry of a bucket lying wholly below its end in place, one
/// move per entry; only the bucket straddling the end is split. So one big batch costs a
/// sequential pass, and tiny batches cost a few moves per mapping, never a pass each.
#[derive(Debug, Clone)]
struct Queue {
    last: u32,
    sign: i64,
    buckets: [Vec<Entry>; 33],
}

impl Queue {
    fn new(entries: Vec<Entry>, sign: i64) -> Queue {
        let mut buckets: [Vec<Entry>; 33] = std::array::from_fn(|_| Vec::new());
        if let Some(b) = buckets.first_mut() {
            *b = entries;
        }
        Queue {
            last: 0,
            sign,
            buckets,
        }
    }

    /// Inserts an entry; its `next` must be at least `last`.
    fn push(&mut self, e: Entry) {
        let b = (32 - (e.next ^ self.last).leading_zeros()) as usize;
        if let Some(bucket) = self.buckets.get_mut(b) {
            bucket.push(e);
        }
    }

    /// Adds every entry to each symbol of `out` (indices `start..start + out.len()`) it maps
    /// to. Every entry's `next` must be at least `start`; afterwards every one is past the end.
    fn apply(&mut self, out: &mut [Symbol], start: u64) {
        let Ok(start) = u32::try_from(start) else {
            return;
        };
        let end = u32::try_from(out.len()).map_or(u32::MAX, |n| start.saturating_add(n));
        while let Some(b) = self.buckets.iter().position(|v| !v.is_empty()) {
            let Some(slot) = self.buckets.get_mut(b) else {
                return;
            };
            let entries = std::mem::take(slot);
            // The greatest key bucket `b` can hold.
            let top = self.last | u32::MAX.checked_shr(32 - b as u32).unwrap_or(0);
            if top < end {
                for mut e in entries {
                    e.walk(out, start, end, self.sign);
                    self.push(e);
                }
                continue;
            }
            let min = entries.iter().map(|e| e.next).min().unwrap_or(u32::MAX);
            if min >= end {
                if let Some(slot) = self.buckets.get_mut(b) {
                    *slot = entries;
                }
                return;
            }
            self.last = min;
            for e in entries {
                self.push(e);
            }
        }
    }
}

/// The coded-symbol stream of one item set, produced in order, batch by batch.
///
/// Each item is touched only at the indices it maps to (about `2 ln m` of the first `m`), plus
/// one move per batch: producing the first `m` symbols in batches that grow geometrically costs
/// `O(n log m)`; in batches of one symbol, `O(n log² m)` at worst; never `O(n m)`. Memory: 24
/// bytes per item, up to three times that transiently while a batch moves entries.
#[derive(Debug, Clone)]
pub(crate) struct Encoder {
    queue: Queue,
    produced: u64,
}

impl Encoder {
    /// The stream of the set `items` (duplicates count once) in the session `key`.
    pub(crate) fn new(key: SessionKey, items: impl IntoIterator<Item = u64>) -> Encoder {
        Encoder::of(key, items.into_iter().collect())
    }

    fn of(key: SessionKey, mut items: Vec<u64>) -> Encoder {
        sort_unstable(&mut items);
        items.dedup();
        let entries = items
            .into_iter()
            .map(|x| Entry::new(x, key.hash(x)))
            .collect();
        Encoder {
            queue: Queue::new(entries, 1),
            produced: 0,
        }
    }

    /// How many symbols were produced so far: the index of the next one.
    pub(crate) fn produced(&self) -> u64 {
        self.produced
    }

    /// The next `count` symbols, indices `produced()..produced() + count`.
    pub(crate) fn produce(&mut self, count: u16) -> Vec<Symbol> {
        let mut out = vec![Symbol::default(); usize::from(count)];
        self.add_next(&mut out);
        out
    }

    /// Adds the stream's next `out.len()` symbols into `out`.
    fn add_next(&mut self, out: &mut [Symbol]) {
        self.queue.apply(out, self.produced);
        self.produced = self.produced.saturating_add(out.len() as u64);
    }
}

/// How much a [`Decoder`] accepts before it gives up on a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Most symbols taken from the peer (24 bytes of memory each).
    pub(crate) max_symbols: usize,
    /// Most items in the decoded difference (both sides together).
    pub(crate) max_difference: usize,
}

impl Default for Limits {
    /// 32,768 symbols (about 430 kB on the wire) and 16,384 items: a difference that large
    /// costs more to reconcile than most states cost to send whole.
    fn default() -> Limits {
        Limits {
            max_symbols: 32_768,
            max_difference: 16_384,
        }
    }
}

/// Why a [`Decoder`] refused the peer's symbols.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ReconcileError {
    /// Symbols must arrive in index order without gaps or repeats.
    #[error("coded symbols from index {found}, expected index {expected}")]
    OutOfOrder {
        /// The index the next symbol must have.
        expected: u64,
        /// The index the batch started at.
        found: u64,
    },
    /// The session would exceed its symbol cap.
    #[error("more than {cap} coded symbols in one session")]
    SymbolCap {
        /// [`Limits::max_symbols`].
        cap: usize,
    },
    /// The decoded difference exceeds its cap.
    #[error("set difference larger than {cap} items")]
    DifferenceCap {
        /// [`Limits::max_difference`].
        cap: usize,
    },
}

/// The decoded difference between our set and the peer's, each list sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Difference {
    /// Items we hold and the peer does not.
    pub(crate) only_ours: Vec<u64>,
    /// Items the peer holds and we do not.
    pub(crate) only_theirs: Vec<u64>,
}

/// Peels the difference out of the peer's symbols, minus ours at the same indices.
///
/// Feed it the peer's symbols in order with [`add`](Decoder::add) and ask
/// [`try_decode`](Decoder::try_decode) after each batch. Memory is bounded by [`Limits`] (and our
/// own encoder); a peer that lies can make the session fail, never loop or grow without bound.
/// After a [`DifferenceCap`](ReconcileError::DifferenceCap) error the decoder is spent: every
/// later `add` returns that error and `try_decode` returns `None`. Symbols that are no set's
/// stream (an item recovered twice, or on both sides) never decode: `try_decode` stays `None`.
#[derive(Debug, Clone)]
pub(crate) struct Decoder {
    key: SessionKey,
    limits: Limits,
    ours: Encoder,
    /// Recovered items, to remove from the symbols still to come: ours (added back with -1)
    /// and theirs (+1).
    found_ours: Queue,
    found_theirs: Queue,
    /// Our symbols minus the peer's, with the recovered items removed.
    diff: Vec<Symbol>,
    pending: Vec<usize>,
    only_ours: Vec<u64>,
    only_theirs: Vec<u64>,
    failed: Option<ReconcileError>,
}

impl Decoder {
    /// A decoder holding our set `ours` in the session `key`.
    pub(crate) fn new(
        key: SessionKey,
        ours: impl IntoIterator<Item = u64>,
        limits: Limits,
    ) -> Decoder {
        Decoder {
            key,
            limits,
            ours: Encoder::of(key, ours.into_iter().collect()),
            found_ours: Queue::new(Vec::new(), -1),
            found_theirs: Queue::new(Vec::new(), 1),
            diff: Vec::new(),
            pending: Vec::new(),
            only_ours: Vec::new(),
            only_theirs: Vec::new(),
            failed: None,
        }
    }

    /// How many of the peer's symbols were taken: the index the next batch must start at.
    pub(crate) fn received(&self) -> u64 {
        self.diff.len() as u64
    }

    /// Takes the peer's symbols `start..start + theirs.len()` and peels what they reveal.
    ///
    /// # Errors
    /// [`OutOfOrder`](ReconcileError::OutOfOrder) unless `start` is [`received`](Self::received),
    /// [`SymbolCap`](ReconcileError::SymbolCap) past [`Limits::max_symbols`] (both leave the
    /// decoder unchanged); [`DifferenceCap`](ReconcileError::DifferenceCap) once more items are
    /// recovered than [`Limits::max_difference`] (the decoder is spent).
    pub(crate) fn add(&mut self, theirs: &[Symbol], start: u64) -> Result<(), ReconcileError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let len = self.diff.len();
        if start != len as u64 {
            return Err(ReconcileError::OutOfOrder {
                expected: len as u64,
                found: start,
            });
        }
        if theirs.len() > self.limits.max_symbols.saturating_sub(len) {
            return Err(ReconcileError::SymbolCap {
                cap: self.limits.max_symbols,
            });
        }
        let mut fresh = vec![Symbol::default(); theirs.len()];
        self.ours.add_next(&mut fresh);
        for (s, t) in fresh.iter_mut().zip(theirs) {
            s.apply(t.key, t.check, t.count.wrapping_neg());
        }
        self.found_ours.apply(&mut fresh, start);
        self.found_theirs.apply(&mut fresh, start);
        self.diff.extend_from_slice(&fresh);
        self.pending.extend((len..self.diff.len()).filter(|&i| {
            self.diff
                .get(i)
                .is_some_and(|s| s.count.unsigned_abs() == 1)
        }));
        let peeled = self.peel();
        if let Err(e) = &peeled {
            self.failed = Some(e.clone());
        }
        peeled
    }

    /// Recovers the items of pure symbols (count ±1, check matching the key's checksum, the key
    /// mapping to that index) and removes each from every symbol it is in, until none is left.
    fn peel(&mut self) -> Result<(), ReconcileError> {
        let len = u32::try_from(self.diff.len()).unwrap_or(u32::MAX);
        while let Some(i) = self.pending.pop() {
            let Some(&s) = self.diff.get(i) else { continue };
            if s.count.unsigned_abs() != 1 {
                continue;
            }
            let mut e = Entry::new(s.key, self.key.hash(s.key));
            if s.check != e.check || !e.maps_to(i) {
                continue;
            }
            if self.only_ours.len() + self.only_theirs.len() >= self.limits.max_difference {
                return Err(ReconcileError::DifferenceCap {
                    cap: self.limits.max_difference,
                });
            }
            // Removing the item undoes its contribution: -1 for ours, +1 for theirs.
            let (found, list) = if s.count == 1 {
                (&mut self.found_ours, &mut self.only_ours)
            } else {
                (&mut self.found_theirs, &mut self.only_theirs)
            };
            list.push(s.key);
            while e.next < len {
                if let Some(sym) = self.diff.get_mut(e.next as usize) {
                    sym.apply(e.item, e.check, found.sign);
                    if sym.count.unsigned_abs() == 1 {
                        self.pending.push(e.next as usize);
                    }
                }
                e.advance();
            }
            found.push(e);
        }
        Ok(())
    }

    /// The difference, once every symbol taken is fully peeled; `None` while more symbols are
    /// needed, and forever once the decoder is spent or the symbols proved inconsistent.
    pub(crate) fn try_decode(&self) -> Option<Difference> {
        if self.failed.is_some() || self.diff.is_empty() || !self.diff.iter().all(Symbol::is_zero) {
            return None;
        }
        let mut d = Difference {
            only_ours: self.only_ours.clone(),
            only_theirs: self.only_theirs.clone(),
        };
        sort_unstable(&mut d.only_ours);
        sort_unstable(&mut d.only_theirs);
        // An item recovered twice, or on both sides: the symbols were not the stream of a set.
        let repeats = |v: &[u64]| v.windows(2).any(|w| w.first() == w.last());
        let both = d
            .only_theirs
            .iter()
            .any(|x| d.only_ours.binary_search(x).is_ok());
        (!repeats(&d.only_ours) && !repeats(&d.only_theirs) && !both).then_some(d)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;
    use proptest::prelude::*;

    fn key(seed: u8) -> SessionKey {
        SessionKey::from_nonces([seed; 16], [0x5a; 16])
    }

    /// Seeded splitmix64 items in the dot domain: `replica << 40 | counter`.
    fn items(seed: u64, n: usize) -> Vec<u64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^ (z >> 31)
            })
            .collect()
    }

    /// Runs a session in batches of `batch` symbols; the decoded difference and symbols used.
    fn reconcile(ours: &[u64], theirs: &[u64], batch: u16, limits: Limits) -> (Difference, u64) {
        let k = key(7);
        let mut enc = Encoder::new(k, theirs.iter().copied());
        let mut dec = Decoder::new(k, ours.iter().copied(), limits);
        loop {
            let start = enc.produced();
            dec.add(&enc.produce(batch), start).unwrap();
            if let Some(d) = dec.try_decode() {
                return (d, dec.received());
            }
        }
    }

    /// `common` shared items, then `a` only ours and `b` only theirs.
    fn split(seed: u64, common: usize, a: usize, b: usize) -> (Vec<u64>, Vec<u64>, Difference) {
        let all = items(seed, common + a + b);
        let (shared, rest) = all.split_at(common);
        let (oa, ob) = rest.split_at(a);
        let mut ours = shared.to_vec();
        ours.extend_from_slice(oa);
        let mut theirs = shared.to_vec();
        theirs.extend_from_slice(ob);
        let (mut x, mut y) = (oa.to_vec(), ob.to_vec());
        sort_unstable(&mut x);
        sort_unstable(&mut y);
        (
            ours,
            theirs,
            Difference {
                only_ours: x,
                only_theirs: y,
            },
        )
    }

    #[test]
    fn zero_difference_decodes_from_the_first_symbol() {
        let set = items(1, 10_000);
        let (d, used) = reconcile(&set, &set, 1, Limits::default());
        assert_eq!(d, Difference::default());
        assert_eq!(used, 1);
    }

    #[test]
    fn large_sets_and_differences_both_ways() {
        let (ours, theirs, want) = split(2, 100_000, 400, 600);
        let (got, used) = reconcile(&ours, &theirs, 256, Limits::default());
        assert_eq!(got, want);
        assert!(used < 2 * 1_000 + 256, "{used} symbols for d = 1000");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn exact_difference_recovered(
            seed in any::<u64>(), n in 0usize..20_000, a in 0usize..60, b in 0usize..60,
            batch in 1u16..40,
        ) {
            let (ours, theirs, want) = split(seed, n, a, b);
            let (got, _) = reconcile(&ours, &theirs, batch, Limits::default());
            prop_assert_eq!(got, want);
        }

        #[test]
        fn batches_equal_one_call(seed in any::<u64>(), cuts in prop::collection::vec(0u16..50, 1..8)) {
            let set = items(seed, 2_000);
            let total: u16 = cuts.iter().sum();
            let mut pieces = Encoder::new(key(3), set.iter().copied());
            let mut joined = Vec::new();
            for &c in &cuts {
                joined.extend(pieces.produce(c));
            }
            let whole = Encoder::new(key(3), set.iter().copied()).produce(total);
            prop_assert_eq!(joined, whole);
            prop_assert_eq!(pieces.produced(), u64::from(total));
        }

        #[test]
        fn symbols_round_trip(count in any::<i64>(), k in any::<u64>(), check in any::<u32>()) {
            let s = Symbol { count, key: k, check };
            let mut out = Vec::new();
            s.write(&mut out);
            prop_assert!((13..=22).contains(&out.len()));
            let mut input = out.as_slice();
            prop_assert_eq!(Symbol::read(&mut input), Ok(s));
            prop_assert!(input.is_empty());
            for cut in 0..out.len() {
                let mut short = &out[..cut];
                prop_assert_eq!(Symbol::read(&mut short), Err(SymbolError::Truncated));
                prop_assert_eq!(short.len(), cut);
            }
        }

        #[test]
        fn hostile_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut input = bytes.as_slice();
            let mut read = 0;
            while Symbol::read(&mut input).is_ok() {
                read += 1;
            }
            // Every symbol read consumed at least 13 bytes; a failed read consumed none.
            prop_assert!(read * 13 + input.len() <= bytes.len());
        }

        #[test]
        fn random_symbols_are_bounded(raw in prop::collection::vec((-3i64..3, any::<u64>(), any::<u32>()), 1..300)) {
            let limits = Limits { max_symbols: 200, max_difference: 50 };
            let mut dec = Decoder::new(key(9), items(4, 1_000), limits);
            let theirs: Vec<Symbol> =
                raw.iter().map(|&(count, key, check)| Symbol { count, key, check }).collect();
            for chunk in theirs.chunks(16) {
                if dec.add(chunk, dec.received()).is_err() {
                    break;
                }
            }
            prop_assert!(dec.received() <= 200);
            prop_assert!(dec.only_ours.len() + dec.only_theirs.len() <= 50);
        }
    }

    #[test]
    fn small_counts_take_thirteen_bytes() {
        let mut out = Vec::new();
        Symbol {
            count: -64,
            key: 1,
            check: 2,
        }
        .write(&mut out);
        assert_eq!(out.len(), 13);
        assert_eq!(out[0], 127);
        out.clear();
        Symbol {
            count: 64,
            key: 1,
            check: 2,
        }
        .write(&mut out);
        assert_eq!(out.len(), 14);
        assert_eq!(
            Symbol::read(&mut &[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..]),
            Err(SymbolError::BadCount)
        );
        assert_eq!(
            Symbol::read(&mut &[0xff; 30][..]),
            Err(SymbolError::BadCount)
        );
    }

    #[test]
    fn mapping_density_follows_the_paper() {
        // Index i holds each item with probability (2i + 2) / (i + 3/2)^2 (about 1 / (1 + i/2)).
        let n = 20_000;
        let syms = Encoder::new(key(5), 0..n).produce(300);
        let mut hits = vec![0u64; 300];
        for x in 0..n {
            let mut e = Entry::new(x, key(5).hash(x));
            while e.next < 300 {
                hits[e.next as usize] += 1;
                e.advance();
            }
        }
        assert_eq!(syms[0].count, n as i64);
        for (i, &h) in hits.iter().enumerate() {
            assert_eq!(syms[i].count, h as i64);
            let k = i as f64;
            let p = if i == 0 {
                1.0
            } else {
                (2.0 * k + 2.0) / ((k + 1.5) * (k + 1.5))
            };
            let mean = p * n as f64;
            let sd = (mean * (1.0 - p)).sqrt();
            assert!(
                (h as f64 - mean).abs() < 5.0 * sd + 1.0,
                "index {i}: {h} vs {mean}"
            );
        }
    }

    #[test]
    fn out_of_order_and_replayed_symbols_are_refused() {
        let (ours, theirs, _) = split(6, 5_000, 30, 30);
        let mut enc = Encoder::new(key(1), theirs);
        let mut dec = Decoder::new(key(1), ours, Limits::default());
        let first = enc.produce(8);
        dec.add(&first, 0).unwrap();
        let before = dec.clone().diff;
        assert_eq!(
            dec.add(&first, 0),
            Err(ReconcileError::OutOfOrder {
                expected: 8,
                found: 0
            })
        );
        assert_eq!(
            dec.add(&first, 9),
            Err(ReconcileError::OutOfOrder {
                expected: 8,
                found: 9
            })
        );
        assert_eq!(dec.diff, before);
        // The same symbols again at the next indices: not the stream of any set.
        for _ in 0..50 {
            if dec.add(&first, dec.received()).is_err() {
                break;
            }
        }
        assert_eq!(dec.try_decode(), None);
    }

    #[test]
    fn a_peer_switching_sets_halfway_is_bounded() {
        let limits = Limits {
            max_symbols: 2_000,
            max_difference: 300,
        };
        let (ours, a, _) = split(8, 5_000, 40, 40);
        let b = items(99, 5_000);
        let mut ea = Encoder::new(key(2), a);
        let mut eb = Encoder::new(key(2), b);
        let mut dec = Decoder::new(key(2), ours, limits);
        let start = ea.produce(40);
        dec.add(&start, 0).unwrap();
        eb.produce(40);
        let mut outcome = Ok(());
        while outcome.is_ok() {
            outcome = dec.add(&eb.produce(100), dec.received());
            assert_eq!(dec.try_decode(), None);
        }
        assert!(dec.received() <= 2_000 && dec.only_ours.len() + dec.only_theirs.len() <= 300);
        // Only the symbol cap leaves the decoder usable; peeling failures spend it.
        let spent = outcome != Err(ReconcileError::SymbolCap { cap: 2_000 });
        assert_eq!(dec.add(&[], dec.received()).is_err(), spent, "{outcome:?}");
    }

    #[test]
    fn an_item_claimed_in_symbol_zero_only_is_bounded() {
        // A peer holding nothing but claiming x in symbol 0 alone: x is recovered as theirs,
        // peeling it leaves x pure in the other symbols it maps to, so it comes back as ours,
        // and so on. No set has that stream; the difference cap ends the ping-pong.
        let (k, x) = (key(12), 0xdead_beef);
        let limits = Limits {
            max_symbols: 64,
            max_difference: 100,
        };
        let mut dec = Decoder::new(k, [], limits);
        let mut lie = vec![Symbol::default(); 16];
        lie[0] = Symbol {
            count: 1,
            key: x,
            check: check_of(k.hash(x)),
        };
        assert_eq!(
            dec.add(&lie, 0),
            Err(ReconcileError::DifferenceCap { cap: 100 })
        );
        assert_eq!(dec.only_ours.len() + dec.only_theirs.len(), 100);
        assert_eq!(dec.try_decode(), None);
        assert_eq!(
            dec.add(&[Symbol::default(); 16], 16),
            Err(ReconcileError::DifferenceCap { cap: 100 })
        );
        assert_eq!(dec.received(), 16);
    }

    #[test]
    fn difference_cap_stops_the_session() {
        let (ours, theirs, _) = split(10, 2_000, 50, 50);
        let mut enc = Encoder::new(key(4), theirs);
        let limits = Limits {
            max_symbols: 10_000,
            max_difference: 20,
        };
        let mut dec = Decoder::new(key(4), ours, limits);
        let mut outcome = Ok(());
        while outcome.is_ok() {
            outcome = dec.add(&enc.produce(32), dec.received());
        }
        assert_eq!(outcome, Err(ReconcileError::DifferenceCap { cap: 20 }));
        assert_eq!(dec.try_decode(), None);
        let symbols = Limits {
            max_symbols: 64,
            max_difference: 1_000,
        };
        let mut dec = Decoder::new(key(4), items(10, 100), symbols);
        assert_eq!(
            dec.add(&[Symbol::default(); 65], 0),
            Err(ReconcileError::SymbolCap { cap: 64 })
        );
    }

    #[test]
    fn session_key_is_symmetric_and_keys_the_stream() {
        let (a, b) = ([1u8; 16], [0xf0u8; 16]);
        assert_eq!(SessionKey::from_nonces(a, b), SessionKey::from_nonces(b, a));
        let set = items(11, 100);
        let s1 = Encoder::new(SessionKey::from_nonces(a, b), set.iter().copied()).produce(4);
        let s2 = Encoder::new(SessionKey::from_nonces(a, a), set.iter().copied()).produce(4);
        assert_ne!(s1, s2);
    }
}
