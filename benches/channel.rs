//! The channel's cost: handshakes per second and frames sealed and opened per second, auth
//! protocol 2 (Noise XX, X25519 + AES-256-GCM) against protocol 1 (HMAC-SHA256 challenge and
//! tags, no encryption; replaced in 0.1 and re-implemented here from its PROTOCOL.md as the
//! baseline), measured alternately in the same run; medians.
//!
//! Run with `cargo bench --features auth --bench channel` (`DELTACRDT_BENCH_QUICK=1`: fewer
//! rounds, the figures CI prints).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    reason = "a report printer"
)]

use std::hint::black_box;
use std::time::Instant;

use deltacrdt::{AllowList, Handshake, PeerKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn quick() -> bool {
    std::env::var_os("DELTACRDT_BENCH_QUICK").is_some_and(|v| v != "0")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs `f` `n` times; per second.
fn rate(n: u64, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// Protocol 1's handshake, both sides: two hellos, two proofs made and checked, four keys.
fn v1_handshake(key: &[u8; 32]) {
    let (hi, hr) = ([1u8; 53], [2u8; 53]);
    let t: Vec<u8> = hi.iter().chain(&hr).copied().collect();
    for label in [&b"proof initiator"[..], b"proof responder"] {
        let made = mac(key, &[label, &t]);
        let checked = mac(key, &[label, &t]);
        assert_eq!(made, checked);
    }
    for label in [&b"frames initiator"[..], b"frames responder"] {
        black_box(mac(key, &[label, &t]));
        black_box(mac(key, &[label, &t]));
    }
}

/// Protocol 1's frame: tagged by the sender, the tag checked by the receiver.
fn v1_frame(key: &[u8; 32], n: u64, frame: &[u8]) {
    let mut sealed = frame.to_vec();
    sealed.extend_from_slice(&mac(key, &[&n.to_be_bytes(), frame])[..16]);
    let (body, tag) = sealed.split_at(frame.len());
    assert_eq!(&mac(key, &[&n.to_be_bytes(), body])[..16], tag);
}

fn main() {
    let rounds = if quick() { 3 } else { 7 };
    let (ka, kb) = (PeerKey::from_secret([1; 32]), PeerKey::from_secret([2; 32]));
    let (a, b) = (ka.public().replica_id([1; 6]), kb.public().replica_id([2; 6]));
    let allow = AllowList::of([ka.public(), kb.public()]);
    let v2_handshake = || {
        let (dialer, m1) = Handshake::new(&ka, &allow, a).initiate().unwrap();
        let (m2, listener) = Handshake::new(&kb, &allow, b)
            .respond()
            .read_hello(&m1)
            .unwrap();
        let (m3, s) = dialer.read_response(&m2).unwrap();
        black_box((s, listener.read_final(&m3).unwrap()));
    };
    let v1_key = [7u8; 32];
    let n = if quick() { 200 } else { 1_000 };
    let (mut v1, mut v2) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        v1.push(rate(n * 20, || v1_handshake(&v1_key)));
        v2.push(rate(n, v2_handshake));
    }
    let (h1, h2) = (median(v1), median(v2));
    println!(
        "handshakes/s, both sides: protocol 2 (Noise XX) {h2:.0}, protocol 1 (HMAC) {h1:.0} = {:.3}x",
        h2 / h1
    );

    let (dialer, m1) = Handshake::new(&ka, &allow, a).initiate().unwrap();
    let (m2, listener) = Handshake::new(&kb, &allow, b)
        .respond()
        .read_hello(&m1)
        .unwrap();
    let (m3, mut at_a) = dialer.read_response(&m2).unwrap();
    let mut at_b = listener.read_final(&m3).unwrap();
    for size in [64usize, 1024, 60 * 1024] {
        let frame = vec![0xA5; size];
        let count = ((if quick() { 8 } else { 64 }) << 20) / size as u64;
        let (mut v1, mut v2) = (Vec::new(), Vec::new());
        let mut counter = 0;
        for _ in 0..rounds {
            v1.push(rate(count, || {
                counter += 1;
                v1_frame(&v1_key, counter, &frame);
            }));
            v2.push(rate(count, || {
                let sealed = at_a.sealer.seal(&frame).unwrap();
                black_box(at_b.opener.open(&sealed).unwrap());
            }));
        }
        let mb = |r: f64| r * size as f64 / 1e6;
        let (r1, r2) = (median(v1), median(v2));
        println!(
            "{size:>6} B frames sealed and opened: protocol 2 {:.0} MB/s ({r2:.0}/s), protocol 1 \
             {:.0} MB/s ({r1:.0}/s) = {:.2}x",
            mb(r2),
            mb(r1),
            r2 / r1
        );
    }
}
