//! Frames for the seed corpus and the hostile-input tests: valid frames of every kind produced
//! by the engine, and hand-built hostile ones.

use std::collections::BTreeSet;

use deltacrdt::{Doc, OrSet, Scalar, SyncConfig, SyncEngine, Value, encode};

use super::{Fixture, PEER, fixed_clock, r, resealed, seal, seeded_doc, seeded_set};

/// Valid frames of every kind, named: hello (both flags), delta, state, chunk and ack frames the
/// engine produced for `Doc` and `OrSet<u64>`; the reconciliation frames (hellos with a
/// context, summary, sketch, verdict, digest) of two replicas restored from one snapshot; and
/// standalone value frames of both types.
pub fn valid_frames() -> Vec<(String, Vec<u8>)> {
    let mut frames = Vec::new();
    frames.push(("value_doc".to_owned(), encode(&seeded_doc(1)).unwrap()));
    frames.push(("value_set".to_owned(), encode(&seeded_set(1)).unwrap()));
    frames.push((
        "value_empty_doc".to_owned(),
        encode(&Doc::default()).unwrap(),
    ));
    collect_sync_frames::<Doc>(
        "doc",
        &mut frames,
        |e, i| {
            e.update(|doc, hlc| doc.increment(hlc.replica(), &["n"], i64::from(i) + 1))
                .unwrap();
        },
        seeded_doc(2),
    );
    collect_sync_frames::<OrSet<u64>>(
        "set",
        &mut frames,
        |e, i| {
            e.update(|set, hlc| Ok::<_, deltacrdt::Error>(set.insert(hlc.replica(), u64::from(i))))
                .unwrap();
        },
        seeded_set(2),
    );
    round_frames::<Doc>(
        "doc_round",
        &mut frames,
        |e, i| {
            e.update(|doc, hlc| doc.insert(hlc.replica(), &["tags"], Scalar::Int(i.into())))
                .unwrap();
        },
        seeded_doc(3),
    );
    round_frames::<OrSet<u64>>(
        "set_round",
        &mut frames,
        |e, i| {
            e.update(|set, hlc| {
                Ok::<_, deltacrdt::Error>(set.insert(hlc.replica(), 1_000 + u64::from(i)))
            })
            .unwrap();
        },
        seeded_set(3),
    );
    frames.push(("doc_skew".to_owned(), skew_frame()));
    frames
}

/// A skew frame (format minor 3): the sender's clock reads the fixtures' epoch and it holds a
/// write of ours stamped a second later.
fn skew_frame() -> Vec<u8> {
    let mut f = header(0x0b);
    varint(&mut f, super::EPOCH_MS);
    varint(&mut f, super::EPOCH_MS + 1_000);
    seal(&mut f);
    f
}

/// Runs replica 2 (restored with `initial`, so it ships a full state first) against a fresh
/// replica 1, once with a small frame limit so the state travels in chunks and once without,
/// and keeps the first frame of each kind, plus a state re-sent as a single chunk.
fn collect_sync_frames<T>(
    tag: &str,
    out: &mut Vec<(String, Vec<u8>)>,
    mutate: impl Fn(&mut SyncEngine<T>, u8),
    initial: T,
) where
    T: Fixture,
{
    for max_frame_bytes in [256, SyncConfig::default().max_frame_bytes] {
        let config = SyncConfig {
            max_frame_bytes,
            ..SyncConfig::default()
        };
        sync_pair(tag, out, &mutate, initial.clone(), config);
    }
    // A state frame's payload re-sent as one chunk (offset 0, total = its length), so the
    // fuzzer holds a chunk that completes a reassembly on its own.
    let state = out.iter().find(|(name, _)| *name == format!("{tag}_state"));
    if let Some((_, frame)) = state {
        // The payload: after the header and the `seq` and `ack` varints, before the checksum.
        let mut payload = &frame[4..frame.len() - 4];
        for _ in 0..2 {
            let len = payload.iter().position(|b| b & 0x80 == 0).unwrap() + 1;
            payload = &payload[len..];
        }
        let digest = crc32fast::hash(payload);
        let mut chunk = unsealed_chunk(true, 3, digest, payload.len() as u64, 0, payload);
        seal(&mut chunk);
        out.push((format!("{tag}_chunk_whole"), chunk));
    }
}

/// Replicas 1 and 2 restored from one snapshot `initial` (no shared acknowledgements) with
/// seeded nonces, each edited, run to quiescence (hellos with contexts, sketch, verdict, the
/// deltas); then time passes a quiet session's repair interval (digests); then replica 1
/// updates while replica 2's frames are lost, so its capped buffer evicts replica 2 and a new
/// round opens with a summary. Keeps the first hello of each flag and the first frame of each
/// reconciliation kind. Its data frames are left out: their kinds are covered by
/// `collect_sync_frames`, and a bit flip of a round's delta can move a dot the receiver holds to
/// another element, a case the join does not detect yet (see the ignored test
/// `tests/lattice/conflicting_dots.rs`).
fn round_frames<T>(
    tag: &str,
    out: &mut Vec<(String, Vec<u8>)>,
    mutate: impl Fn(&mut SyncEngine<T>, u8),
    initial: T,
) where
    T: Fixture,
{
    let config = |n: u8| SyncConfig {
        retransmit_after_ms: 50,
        repair_after_ms: 100,
        max_buffer_entries: 2,
        nonce_seed: Some([n; 16]),
        ..SyncConfig::default()
    };
    let mut a = SyncEngine::restore(fixed_clock(r(1)), initial.clone(), 3, config(1));
    let mut b = SyncEngine::restore(fixed_clock(r(PEER)), initial, 3, config(2));
    mutate(&mut a, 0);
    mutate(&mut b, 1);
    mutate(&mut b, 2);
    a.connect(b.id());
    b.connect(a.id());
    let mut seen = BTreeSet::new();
    let mut now = 0;
    // Exchanges frames until quiet; `lose_b` drops replica 2's.
    let mut exchange = |a: &mut SyncEngine<T>, b: &mut SyncEngine<T>, lose_b: bool| {
        for _ in 0..50 {
            let mut quiet = true;
            while let Some(t) = a.poll_transmit() {
                quiet = false;
                keep_round(tag, &t.bytes, &mut seen, out);
                let _ = b.receive(a.id(), &t.bytes).unwrap();
            }
            while let Some(t) = b.poll_transmit() {
                quiet = false;
                keep_round(tag, &t.bytes, &mut seen, out);
                if !lose_b {
                    let _ = a.receive(b.id(), &t.bytes).unwrap();
                }
            }
            if quiet {
                break;
            }
        }
    };
    exchange(&mut a, &mut b, false);
    assert_eq!(a.state(), b.state(), "{tag}: the round did not converge");
    for _ in 0..3 {
        now += 150;
        a.tick(now);
        b.tick(now);
        exchange(&mut a, &mut b, false);
    }
    for i in 0..4 {
        mutate(&mut a, 10 + i);
        exchange(&mut a, &mut b, true);
    }
    for _ in 0..4 {
        now += 150;
        a.tick(now);
        b.tick(now);
        exchange(&mut a, &mut b, false);
    }
    assert_eq!(a.state(), b.state(), "{tag}: the replicas did not converge");
    for kind in [0x06u8, 0x07, 0x08, 0x09] {
        assert!(
            seen.contains(&(kind, 0)),
            "{tag}: no frame of kind {kind:#04x} was produced"
        );
    }
}

/// The start of a chunk frame, up to its `offset`: flag, `seq`, payload digest, `total`.
fn chunk_head(full: bool, seq: u64, digest: u32, total: u64, offset: u64) -> Vec<u8> {
    let mut f = header(0x04);
    f.push(u8::from(full));
    varint(&mut f, seq);
    f.extend_from_slice(&digest.to_le_bytes());
    varint(&mut f, total);
    varint(&mut f, offset);
    f
}

/// A chunk frame carrying `bytes` at `offset`, not yet sealed.
fn unsealed_chunk(
    full: bool,
    seq: u64,
    digest: u32,
    total: u64,
    offset: u64,
    bytes: &[u8],
) -> Vec<u8> {
    let mut f = chunk_head(full, seq, digest, total, offset);
    varint(&mut f, bytes.len() as u64);
    f.extend_from_slice(bytes);
    f
}

fn sync_pair<T>(
    tag: &str,
    out: &mut Vec<(String, Vec<u8>)>,
    mutate: &impl Fn(&mut SyncEngine<T>, u8),
    initial: T,
    config: SyncConfig,
) where
    T: Fixture,
{
    // Seeded nonces: the corpus written from these frames is the same on every run.
    let seeded = |n: u8| Some([n; 16]);
    let a_config = SyncConfig {
        nonce_seed: seeded(1),
        ..SyncConfig::default()
    };
    let config = SyncConfig {
        nonce_seed: seeded(2),
        ..config
    };
    let mut a = SyncEngine::<T>::with_config(fixed_clock(r(1)), a_config);
    let mut b = SyncEngine::restore(fixed_clock(r(PEER)), initial, 3, config);
    a.connect(b.id());
    b.connect(a.id());
    let mut seen: BTreeSet<(u8, u8)> = out
        .iter()
        .filter(|(name, _)| name.starts_with(tag))
        .map(|(_, f)| (f[3], if f[3] == 0x01 { f[20] } else { 0 }))
        .collect();
    for round in 0..20u8 {
        if round % 3 == 1 {
            mutate(&mut a, round);
            mutate(&mut b, round);
        }
        let mut quiet = true;
        while let Some(t) = a.poll_transmit() {
            quiet = false;
            keep(tag, &t.bytes, &mut seen, out);
            b.receive(a.id(), &t.bytes).unwrap();
        }
        while let Some(t) = b.poll_transmit() {
            quiet = false;
            keep(tag, &t.bytes, &mut seen, out);
            a.receive(b.id(), &t.bytes).unwrap();
        }
        if quiet && round > 10 {
            break;
        }
    }
}

/// [`keep`] for the hellos and the reconciliation frames (kinds 0x06–0x09) only.
fn keep_round(
    tag: &str,
    frame: &[u8],
    seen: &mut BTreeSet<(u8, u8)>,
    out: &mut Vec<(String, Vec<u8>)>,
) {
    if matches!(frame[3], 0x01 | 0x06..=0x09) {
        keep(tag, frame, seen, out);
    }
}

fn keep(tag: &str, frame: &[u8], seen: &mut BTreeSet<(u8, u8)>, out: &mut Vec<(String, Vec<u8>)>) {
    let kind = frame[3];
    // Hellos differ by their reply flag; keep one of each.
    let variant = if kind == 0x01 { frame[20] } else { 0 };
    if seen.insert((kind, variant)) {
        let name = match kind {
            0x01 => format!("{tag}_hello_{variant}"),
            0x02 => format!("{tag}_delta"),
            0x03 => format!("{tag}_state"),
            0x04 => format!("{tag}_chunk"),
            0x05 => format!("{tag}_ack"),
            0x06 => format!("{tag}_summary"),
            0x07 => format!("{tag}_sketch"),
            0x08 => format!("{tag}_verdict"),
            0x09 => format!("{tag}_digest"),
            other => format!("{tag}_kind_{other:02x}"),
        };
        out.push((name, frame.to_vec()));
    }
}

/// Appends `value` as an LEB128 varint.
pub fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A frame header of `kind`.
pub fn header(kind: u8) -> Vec<u8> {
    vec![b'D', b'C', deltacrdt::FORMAT_VERSION, kind]
}

/// Hand-made hostile frames, named, each sealed so it gets past the checksum to the check it
/// aims at: huge declared lengths for every length the format has, deep nesting, chunk totals
/// and offsets out of range, and a chunk whose payload does not match its digest.
pub fn hostile_frames() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut push = |name: &str, mut bytes: Vec<u8>| {
        seal(&mut bytes);
        out.push((name.to_owned(), bytes));
    };
    // A value frame whose replica table claims 2^64-1 and 2^16 entries.
    let mut f = header(0x10);
    varint(&mut f, u64::MAX);
    push("value_table_huge", f);
    let mut f = header(0x10);
    varint(&mut f, 1 << 16);
    f.extend_from_slice(&[0; 64]);
    push("value_table_at_limit_truncated", f);
    // A delta with huge sequence numbers and a table that does not fit.
    let mut f = header(0x02);
    varint(&mut f, u64::MAX);
    varint(&mut f, u64::MAX);
    varint(&mut f, 1000);
    push("delta_huge_seq_table", f);
    // A delta whose first body length (the root map's entry count) is huge.
    let mut f = header(0x02);
    varint(&mut f, 1);
    varint(&mut f, 0);
    varint(&mut f, 0);
    varint(&mut f, u64::MAX >> 1);
    push("delta_body_len_huge", f);
    // A state frame acking far beyond the receiver's sequence.
    let mut f = header(0x03);
    varint(&mut f, 1);
    varint(&mut f, 1 << 40);
    varint(&mut f, 0);
    push("state_ack_out_of_range", f);
    // Chunks (digest 0: these never complete): total past the limit, offset past the total, a
    // byte string longer than the frame.
    push(
        "chunk_total_huge",
        unsealed_chunk(true, 1, 0, u64::MAX, 0, &[0]),
    );
    push(
        "chunk_offset_huge",
        unsealed_chunk(false, 1, 0, 10, u64::MAX - 1, &[0, 0]),
    );
    let mut f = chunk_head(false, 1, 0, 10, 0);
    varint(&mut f, u64::MAX);
    f.extend_from_slice(&[0; 8]);
    push("chunk_bytes_len_huge", f);
    // A whole one-byte payload whose digest is not its CRC-32.
    push(
        "chunk_digest_wrong",
        unsealed_chunk(false, 1, 0, 1, 0, &[0]),
    );
    // An ack with an overlong varint (11 bytes).
    let mut f = header(0x05);
    f.extend_from_slice(&[0xff; 10]);
    f.push(0x01);
    push("ack_overlong_varint", f);
    // A hello with a bad reply flag.
    let mut f = header(0x01);
    f.extend_from_slice(&[7; 16]);
    f.push(2);
    push("hello_bad_flag", f);
    // A value frame holding a register nested 100,000 lists deep (postcard: variant 2, len 1).
    out.push((
        "value_deep_nesting".to_owned(),
        deep_register_frame(100_000),
    ));
    out.push(("value_wide_list".to_owned(), wide_register_frame(60_000)));
    out
}

/// A value frame of a document with one register field `"v"` at the root, written by one
/// replica, whose value is whatever `value` appends: obtained by encoding a real one,
/// replacing its value bytes and resealing it.
fn register_frame(value: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut doc = Doc::default();
    let stamp = fixed_clock(r(1)).now().unwrap();
    let marker = "\u{1}MARKER\u{2}";
    let _ = doc
        .set(stamp, &["v"], Value::Scalar(Scalar::Str(marker.into())))
        .unwrap();
    let bytes = encode(&doc).unwrap();
    // The marker is a `Value::Scalar(Scalar::Str)`: variant 1, variant 3, length, text.
    let mut needle = vec![1u8, 3, marker.len() as u8];
    needle.extend_from_slice(marker.as_bytes());
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("the marker is in the encoding");
    let mut out = bytes[..at].to_vec();
    value(&mut out);
    out.extend_from_slice(&bytes[at + needle.len()..]);
    resealed(&out)
}

/// A register value nested `depth` lists deep.
pub fn deep_register_frame(depth: usize) -> Vec<u8> {
    register_frame(|out| {
        for _ in 0..depth {
            out.extend_from_slice(&[2, 1]);
        }
        out.push(0);
    })
}

/// A register value that is one list of `len` nulls.
pub fn wide_register_frame(len: usize) -> Vec<u8> {
    register_frame(|out| {
        out.push(2);
        varint(out, len as u64);
        out.extend(std::iter::repeat_n(0u8, len));
    })
}

/// A register value of `depth` nested lists, each declaring as many elements as there are
/// bytes left (the most a length may claim and still pass the remaining-bytes check), the
/// innermost padded with `pad` nulls.
pub fn greedy_nested_register_frame(depth: usize, pad: usize) -> Vec<u8> {
    register_frame(|out| {
        let total = depth * 4 + pad;
        for level in 0..depth {
            out.push(2);
            let left = (total - level * 4) as u64;
            let mut v = Vec::new();
            varint(&mut v, left);
            v.resize(3, 0);
            // A padded 3-byte varint so every level takes 4 bytes.
            v[0] |= 0x80;
            v[1] |= 0x80;
            out.extend_from_slice(&v);
        }
        out.extend(std::iter::repeat_n(0u8, pad));
    })
}
