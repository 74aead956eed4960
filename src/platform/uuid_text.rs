//! The text form of a UUID, parsed and written here instead of by `uuid`.
//!
//! uuid's parser and formatter are ~1.5 KB of the npm module, for a job a few dozen lines do.
//! Unlike the sort and the CRC this is not switched: every target runs this code, so natively
//! tested is what ships. A differential test holds it to uuid's, byte for byte.
//! `ReplicaId`'s `FromStr` and `Display` call it.

use core::fmt;

/// The 16 bytes of a UUID in one of the textual forms [`uuid::Uuid::parse_str`] reads: 32 hex
/// digits, optionally hyphenated 8-4-4-4-12, and the hyphenated form in braces or after
/// `urn:uuid:` (either case). `None` for anything else.
pub(crate) fn parse(s: &[u8]) -> Option<[u8; 16]> {
    let s = match s {
        [b'{', inner @ .., b'}'] if inner.len() == 36 => inner,
        _ if s.len() == 45
            && s.get(..9)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"urn:uuid:")) =>
        {
            s.get(9..).unwrap_or_default()
        }
        _ => s,
    };
    let hyphenated = s.len() == 36;
    if !hyphenated && s.len() != 32 {
        return None;
    }
    let mut digits = s.iter().enumerate().filter_map(|(i, &c)| {
        if hyphenated && matches!(i, 8 | 13 | 18 | 23) {
            // A hyphen position: `None` digit stands for "anything but a hyphen is wrong".
            return (c != b'-').then_some(None);
        }
        Some(char::from(c).to_digit(16))
    });
    let mut out = [0u8; 16];
    for byte in &mut out {
        let hi = digits.next()??;
        let lo = digits.next()??;
        *byte = u8::try_from(hi * 16 + lo).ok()?;
    }
    digits.next().is_none().then_some(out)
}

/// Writes the hyphenated lower-case form of `bytes`, `67e55044-10b1-426f-9247-bb680e5fe0c8`, to
/// `f` (a formatter, not a returned array: returning one costs the module a copy).
///
/// # Errors
/// What `f` returns.
pub(crate) fn write_hyphenated(bytes: &[u8; 16], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut out = [b'-'; 36];
    let mut at = 0;
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        for nibble in [byte >> 4, byte & 0xf] {
            if let Some(slot) = out.get_mut(at) {
                // A few instructions instead of a 16-byte digit table in the module's data.
                *slot = if nibble < 10 { b'0' } else { b'a' - 10 } + nibble;
            }
            at += 1;
        }
    }
    f.write_str(core::str::from_utf8(&out).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::{parse, write_hyphenated};
    use core::fmt;
    use uuid::Uuid;

    /// Displays its bytes through [`write_hyphenated`].
    struct Hyphenated([u8; 16]);

    impl fmt::Display for Hyphenated {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_hyphenated(&self.0, f)
        }
    }

    /// The parser accepts and rejects exactly what uuid's does, with the same bytes, and the
    /// writer writes what uuid's hyphenated form does.
    #[test]
    fn agrees_with_uuid() {
        let id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        let mut inputs: Vec<String> = vec![
            id.into(),
            id.to_uppercase(),
            id.replace('-', ""),
            format!("{{{id}}}"),
            format!("urn:uuid:{id}"),
            format!("URN:UUID:{id}"),
            format!("{{{}}}", id.replace('-', "")),
            format!("urn:uuid:{}", id.replace('-', "")),
            format!("{{{id}"),
            format!("{id}}}"),
            String::new(),
            "-".repeat(36),
            id.replacen('-', "", 1) + "0",
            id.replacen('-', "+", 1),
            id.replacen('e', "é", 1),
            id.replacen('e', "g", 1),
            format!("{}-", &id[..35]),
        ];
        // Every single-byte substitution and deletion of the hyphenated and simple forms.
        let mut seed = 0x9e37_79b9_u32;
        for base in [id.to_owned(), id.replace('-', ""), format!("{{{id}}}")] {
            for i in 0..base.len() {
                for c in ['-', '0', 'f', 'F', 'G', '{', ' '] {
                    let mut s = base.clone().into_bytes();
                    s[i] = c as u8;
                    inputs.push(String::from_utf8(s).unwrap_or_default());
                }
                let mut s = base.clone();
                s.remove(i);
                inputs.push(s);
            }
        }
        for _ in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let len = [32, 34, 36, 38, 45][seed as usize % 5];
            let s: String = (0..len)
                .map(|k| {
                    b"0123456789abcdefABCDEF-{}:nru"[(seed.rotate_left(k) as usize) % 29] as char
                })
                .collect();
            inputs.push(s);
        }
        let mut accepted = 0;
        for s in &inputs {
            let ours = parse(s.as_bytes());
            let theirs = Uuid::try_parse(s).ok().map(|u| *u.as_bytes());
            assert_eq!(ours, theirs, "{s:?}");
            if let Some(bytes) = theirs {
                accepted += 1;
                assert_eq!(
                    Hyphenated(bytes).to_string(),
                    Uuid::from_bytes(bytes).hyphenated().to_string()
                );
            }
        }
        assert!(
            accepted >= 8,
            "only {accepted} inputs parsed: the writer went untested"
        );
    }
}
