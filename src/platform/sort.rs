//! Sorting that costs one instantiation in the WebAssembly module.
//!
//! Why: `slice::sort*` is instantiated once per element type and comparator, ~2–4 KB each in
//! the wasm module (about 24 KB for the core's seven call sites). Under `small_code` these
//! helpers sort a vector of indices with one shared, non-generic stable merge sort (a few hundred
//! bytes) and then permute the slice in place, so each call site adds only a small closure and
//! the permutation loop. Elsewhere they are the standard library's sorts, unchanged (native speed
//! is what the benchmarks measure). Results are identical: the index sort is stable, and a stable
//! sort is a valid unstable sort.

use core::cmp::Ordering;

/// Sorts `v` stably, like [`slice::sort`].
pub(crate) fn sort<T: Ord>(v: &mut [T]) {
    #[cfg(not(small_code))]
    v.sort();
    #[cfg(small_code)]
    compact(v, &mut T::cmp);
}

/// Sorts `v` stably by `cmp`, like [`slice::sort_by`].
pub(crate) fn sort_by<T>(v: &mut [T], cmp: impl FnMut(&T, &T) -> Ordering) {
    #[cfg(not(small_code))]
    v.sort_by(cmp);
    #[cfg(small_code)]
    {
        let mut cmp = cmp;
        compact(v, &mut cmp);
    }
}

/// Sorts `v` stably by `key`, like [`slice::sort_by_key`].
pub(crate) fn sort_by_key<T, K: Ord>(v: &mut [T], key: impl FnMut(&T) -> K) {
    #[cfg(not(small_code))]
    v.sort_by_key(key);
    #[cfg(small_code)]
    {
        let mut key = key;
        compact(v, &mut |a, b| key(a).cmp(&key(b)));
    }
}

/// Sorts `v`, like [`slice::sort_unstable`] (the order of equal elements is unspecified).
pub(crate) fn sort_unstable<T: Ord>(v: &mut [T]) {
    #[cfg(not(small_code))]
    v.sort_unstable();
    #[cfg(small_code)]
    compact(v, &mut T::cmp);
}

/// Sorts `v` by `key`, like [`slice::sort_unstable_by_key`].
pub(crate) fn sort_unstable_by_key<T, K: Ord>(v: &mut [T], key: impl FnMut(&T) -> K) {
    #[cfg(not(small_code))]
    v.sort_unstable_by_key(key);
    #[cfg(small_code)]
    {
        let mut key = key;
        compact(v, &mut |a, b| key(a).cmp(&key(b)));
    }
}

/// The compact sort: stable, one generic piece (the permutation) per element type.
#[cfg_attr(not(any(small_code, test)), allow(dead_code))]
fn compact<T>(v: &mut [T], cmp: &mut dyn FnMut(&T, &T) -> Ordering) {
    let order = {
        let v = &*v;
        sorted_indices(v.len(), &mut |a, b| match (v.get(a), v.get(b)) {
            (Some(x), Some(y)) => cmp(x, y),
            _ => Ordering::Equal,
        })
    };
    permute(v, order);
}

/// The indices `0..len` stably sorted by `cmp`: a bottom-up merge sort written for size (the
/// standard library's driftsort, even instantiated once, is ~3 KB of wasm; this is a few hundred
/// bytes). O(n log n) comparisons, one scratch vector.
#[cfg_attr(not(any(small_code, test)), allow(dead_code))]
#[inline(never)]
fn sorted_indices(len: usize, cmp: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    let mut scratch: Vec<usize> = Vec::with_capacity(len);
    let mut width = 1;
    while width < len {
        scratch.clear();
        for run in order.chunks(width.saturating_mul(2)) {
            let (mut left, mut right) = run.split_at(width.min(run.len()));
            // Stable: on a tie the left run's element goes first.
            while let (Some(&a), Some(&b)) = (left.first(), right.first()) {
                if cmp(b, a) == Ordering::Less {
                    scratch.push(b);
                    right = right.get(1..).unwrap_or_default();
                } else {
                    scratch.push(a);
                    left = left.get(1..).unwrap_or_default();
                }
            }
            scratch.extend_from_slice(left);
            scratch.extend_from_slice(right);
        }
        core::mem::swap(&mut order, &mut scratch);
        width = width.saturating_mul(2);
    }
    order
}

/// Rearranges `v` so that position `i` holds what was at `order[i]`, following each cycle of
/// the permutation with swaps. `order` is a permutation of `0..v.len()` (from
/// [`sorted_indices`]); anything else leaves `v` a permutation of itself and does not panic.
#[cfg_attr(not(any(small_code, test)), allow(dead_code))]
fn permute<T>(v: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        let mut at = start;
        while let Some(slot) = order.get_mut(at) {
            let from = core::mem::replace(slot, at);
            if from == start || from == at || from >= v.len() {
                break;
            }
            v.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::compact;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *seed >> 33
    }

    /// The compact sort (what `small_code` runs) gives exactly `slice::sort_by_key`'s (stable) order.
    #[test]
    fn compact_sort_matches_std_stable_sort() {
        let mut seed = 0x5eed_u64;
        for len in (0..40).chain([100, 1000, 4097]) {
            for _ in 0..4 {
                let v: Vec<(u64, usize)> = (0..len).map(|i| (lcg(&mut seed) % 7, i)).collect();
                let mut ours = v.clone();
                compact(&mut ours, &mut |a, b| a.0.cmp(&b.0));
                let mut std = v;
                std.sort_by_key(|e| e.0);
                assert_eq!(ours, std, "len {len}");
            }
        }
    }
}
