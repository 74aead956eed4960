//! CRC-32 (IEEE), the checksum closing every frame.
//!
//! Natively it is crc32fast's (SIMD where available). Under `small_code` it is computed four bits
//! at a time from a 64-byte table: crc32fast has no SIMD path on wasm32 and its portable one
//! carries a 16 KB table into the module (a bytewise table would still be 1 KB). A test holds the
//! two to the same values.

/// The CRC-32 of `bytes`, as crc32fast computes it.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    #[cfg(not(small_code))]
    return crc32fast::hash(bytes);
    #[cfg(small_code)]
    return compact(bytes);
}

/// CRC-32 four bits at a time from a 16-entry table.
#[cfg_attr(not(any(small_code, test)), allow(dead_code))]
fn compact(bytes: &[u8]) -> u32 {
    // Evaluated at compile time: an index out of bounds would fail the build, not panic.
    #[allow(clippy::indexing_slicing)]
    const TABLE: [u32; 16] = {
        let mut table = [0u32; 16];
        let mut i = 0;
        while i < 16 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 4 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let step = |c: u32| TABLE.get((c & 0xF) as usize).copied().unwrap_or(0) ^ (c >> 4);
    !bytes
        .iter()
        .fold(!0u32, |c, &b| step(step(c ^ u32::from(b))))
}

#[cfg(test)]
mod tests {
    /// The compact checksum (what `small_code` runs) is crc32fast's, on every length up to 300,
    /// then 1000 and 4096 bytes, over bytes taking every value.
    #[test]
    fn compact_crc_matches_crc32fast() {
        let bytes: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in (0..300).chain([1000, 4096]) {
            let bytes = bytes.get(..len).unwrap_or_default();
            assert_eq!(super::compact(bytes), crc32fast::hash(bytes), "len {len}");
            assert_eq!(super::crc32(bytes), crc32fast::hash(bytes), "len {len}");
        }
    }
}
