//! Hostile bytes at every step of auth protocol 2: as message 1 to a responder, as message 3
//! after it, as message 2 to an initiator, and as sealed frames on an open session. Every
//! outcome is a typed error, never a panic; nothing forged opens, and an honest frame still
//! does afterwards.
#![no_main]

use deltacrdt::{AllowList, Handshake, MESSAGE2_LEN, PeerKey};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (a, b) = (PeerKey::from_secret([1; 32]), PeerKey::from_secret([2; 32]));
    let (ia, ib) = (a.public().replica_id([1; 6]), b.public().replica_id([2; 6]));
    let allow = AllowList::of([a.public(), b.public()]);
    if let Ok((m2, listener)) = Handshake::new(&b, &allow, ib).respond().read_hello(data) {
        assert_eq!(m2.len(), MESSAGE2_LEN);
        assert!(listener.read_final(data).is_err());
    }
    if let Ok((dialer, _)) = Handshake::new(&a, &allow, ia).initiate() {
        assert!(dialer.read_response(data).is_err());
    }
    let Ok((dialer, m1)) = Handshake::new(&a, &allow, ia).initiate() else {
        return;
    };
    let Ok((m2, listener)) = Handshake::new(&b, &allow, ib).respond().read_hello(&m1) else {
        return;
    };
    let (m3, mut at_a) = dialer.read_response(&m2).expect("an honest message 2");
    let mut at_b = listener.read_final(&m3).expect("an honest message 3");
    // The data as frames, each prefixed by a length byte.
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let (frame, tail) = tail.split_at(usize::from(len).min(tail.len()));
        assert!(at_b.opener.open(frame).is_err(), "a forged frame opened");
        rest = tail;
    }
    let sealed = at_a.sealer.seal(b"honest").expect("a small frame seals");
    assert_eq!(at_b.opener.open(&sealed).expect("opens"), b"honest");
});
