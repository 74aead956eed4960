//! Auth protocol 2 (Noise XX): golden bytes in both roles, and every way a peer that is not
//! allowed, an impostor, another protocol or a tamperer is refused.

use deltacrdt::{
    AUTH_VERSION, AllowList, AuthError, Handshake, MAX_FRAME_BYTES, MESSAGE1_LEN, MESSAGE2_LEN,
    MESSAGE3_LEN, PeerKey, PublicKey, ReplicaId, Session,
};

// Computed independently of this crate and of snow by tests/golden/noise_xx.py (Noise
// written out from its specification on pyca/cryptography); npm's auth.test.mjs reads them too.
const SECRET_I: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const SECRET_R: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const EPHEMERAL_I: &str = "3333333333333333333333333333333333333333333333333333333333333333";
const EPHEMERAL_R: &str = "4444444444444444444444444444444444444444444444444444444444444444";
const PUBLIC_I: &str = "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13";
const PUBLIC_R: &str = "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20";
const ID_I: &str = "524629abe9ad8763b1ba010101010101";
const ID_R: &str = "daa8d6b3c01d81569012020202020202";
const GOLDEN_MSG1: &str =
    "44434148027b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b14";
const GOLDEN_MSG2: &str = "ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b2cd2b7e677cf335563c62b7430218e13457b9617ae068cb83bb09b6b98e9a5282e0ddd4d1f00771899d420d53eb6338f70d994cf8242b26b50a73499e163374ce6a62846afb81976a26ce0da56ca3d44";
const GOLDEN_MSG3: &str = "4b4304a1ce0fa0831c0d5086a53d113c80569e488157087563fafa69d1792d9a0478548571bf9c689be2d3878a258a63402d6b1371c576fe5a436f55b13ee46e560d1427ee1220b0124253f819233e7d";
const GOLDEN_SEALED_I: &str = "18ce7efeb7f1e330f433d30ef318b163c85d";
const GOLDEN_SEALED_R: &str = "f635e40f3868f7554612e30642632a5f2221";

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn secret(text: &str) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(&unhex(text));
    out
}

fn id(text: &str) -> ReplicaId {
    ReplicaId::try_from_slice(&unhex(text)).unwrap_or_default()
}

/// A peer: its key and a replica id the key owns.
struct Peer {
    key: PeerKey,
    id: ReplicaId,
}

fn peer(n: u128) -> Peer {
    Peer {
        key: crate::peers::key(n),
        id: crate::peers::id(n),
    }
}

/// Runs the whole handshake from initiator `i` to responder `r`, each allowing `allow_*`.
fn handshake(
    (i, allow_i): (&Peer, &AllowList),
    (r, allow_r): (&Peer, &AllowList),
) -> std::result::Result<(Session, Session), AuthError> {
    let (dialer, m1) = Handshake::new(&i.key, allow_i, i.id).initiate()?;
    let (m2, listener) = Handshake::new(&r.key, allow_r, r.id)
        .respond()
        .read_hello(&m1)?;
    let (m3, at_i) = dialer.read_response(&m2)?;
    Ok((at_i, listener.read_final(&m3)?))
}

#[test]
fn golden_handshake_and_sealed_frames_in_both_roles() -> Result {
    let (ki, kr) = (
        PeerKey::from_secret(secret(SECRET_I)),
        PeerKey::from_secret(secret(SECRET_R)),
    );
    assert_eq!(ki.public().to_string(), PUBLIC_I);
    assert_eq!(kr.public().to_string(), PUBLIC_R);
    let (id_i, id_r) = (id(ID_I), id(ID_R));
    assert!(ki.public().owns(id_i) && kr.public().owns(id_r));
    assert_eq!(ki.public().replica_id([1; 6]), id_i, "the family prefix");
    let (allow_i, allow_r) = (AllowList::of([kr.public()]), AllowList::of([ki.public()]));
    let (dialer, m1) = Handshake::new(&ki, &allow_i, id_i)
        .fixed_ephemeral_for_testing_only(secret(EPHEMERAL_I))
        .initiate()?;
    assert_eq!(hex(&m1), GOLDEN_MSG1);
    let (m2, listener) = Handshake::new(&kr, &allow_r, id_r)
        .fixed_ephemeral_for_testing_only(secret(EPHEMERAL_R))
        .respond()
        .read_hello(&m1)?;
    assert_eq!(hex(&m2), GOLDEN_MSG2);
    let (m3, mut si) = dialer.read_response(&m2)?;
    assert_eq!(hex(&m3), GOLDEN_MSG3);
    let mut sr = listener.read_final(&m3)?;
    assert_eq!((si.peer(), sr.peer()), (id_r, id_i));
    assert_eq!((si.peer_key(), sr.peer_key()), (kr.public(), ki.public()));
    assert_eq!(
        (m1.len(), m2.len(), m3.len()),
        (MESSAGE1_LEN, MESSAGE2_LEN, MESSAGE3_LEN)
    );
    let sealed = si.sealer.seal(b"DC")?;
    assert_eq!(hex(&sealed), GOLDEN_SEALED_I);
    assert_eq!(sr.opener.open(&sealed)?, b"DC");
    let back = sr.sealer.seal(b"DC")?;
    assert_eq!(
        hex(&back),
        GOLDEN_SEALED_R,
        "each direction has its own key"
    );
    assert_eq!(si.opener.open(&back)?, b"DC");
    Ok(())
}

#[test]
fn sealed_frames_hide_the_plaintext() -> Result {
    let (a, b) = (peer(1), peer(2));
    let allow = AllowList::of([a.key.public(), b.key.public()]);
    let (mut sa, mut sb) = handshake((&a, &allow), (&b, &allow))?;
    let secret = b"PASSWORD=hunter2 title: launch plan; tags: urgent";
    let sealed = sa.sealer.seal(secret)?;
    assert_eq!(sealed.len(), secret.len() + 16);
    for window in [&secret[..8], &secret[9..17], b"PASSWORD", b"launch"] {
        assert!(
            !sealed.windows(window.len()).any(|w| w == window),
            "plaintext on the wire"
        );
    }
    // The same plaintext twice seals differently (the nonce counts).
    assert_ne!(sa.sealer.seal(secret)?, sealed);
    assert_eq!(sb.opener.open(&sealed)?, secret);
    Ok(())
}

#[test]
fn keys_not_on_the_allow_list_are_refused_by_either_side() -> Result {
    let (a, b) = (peer(1), peer(2));
    let (only_a, only_b) = (
        AllowList::of([a.key.public()]),
        AllowList::of([b.key.public()]),
    );
    // The responder is not allowed: the initiator stops before message 3, so the responder
    // never learns who dialled.
    let (dialer, m1) = Handshake::new(&a.key, &AllowList::new(), a.id).initiate()?;
    let (m2, _) = Handshake::new(&b.key, &only_a, b.id)
        .respond()
        .read_hello(&m1)?;
    assert_eq!(
        dialer.read_response(&m2).err(),
        Some(AuthError::NotAllowed {
            key: b.key.public()
        })
    );
    // The initiator is not allowed.
    assert_eq!(
        handshake((&a, &only_b), (&b, &AllowList::new())).err(),
        Some(AuthError::NotAllowed {
            key: a.key.public()
        })
    );
    // An allow-list is read at each handshake: a key added later gets in.
    let later = AllowList::new();
    assert!(handshake((&a, &only_b), (&b, &later)).is_err());
    later.insert(a.key.public(), Some("alice".into()));
    assert!(handshake((&a, &only_b), (&b, &later)).is_ok());
    assert!(later.remove(&a.key.public()));
    assert!(handshake((&a, &only_b), (&b, &later)).is_err());
    Ok(())
}

#[test]
fn an_allowed_key_cannot_speak_for_another_keys_replica() -> Result {
    let (a, b, mallory) = (peer(1), peer(2), peer(3));
    let allow = AllowList::of([a.key.public(), b.key.public(), mallory.key.public()]);
    // Mallory holds an allowed key but claims a's replica id, as initiator and as responder.
    let impostor = Peer {
        key: mallory.key.clone(),
        id: a.id,
    };
    let foreign = Some(AuthError::ForeignReplicaId {
        replica: a.id,
        key: mallory.key.public(),
    });
    assert_eq!(handshake((&impostor, &allow), (&b, &allow)).err(), foreign);
    assert_eq!(handshake((&b, &allow), (&impostor, &allow)).err(), foreign);
    // An id made without a key (random, or from_u128) belongs to no key.
    let keyless = Peer {
        key: mallory.key.clone(),
        id: ReplicaId::from_u128(7),
    };
    assert!(matches!(
        handshake((&keyless, &allow), (&b, &allow)).err(),
        Some(AuthError::ForeignReplicaId { .. })
    ));
    // A fork keeps its family: the forked replica still speaks with its key.
    let forked = Peer {
        key: a.key.clone(),
        id: a.id.fork([0x5a; 16]),
    };
    assert_ne!(forked.id, a.id);
    assert!(a.key.public().owns(forked.id));
    let (_, at_b) = handshake((&forked, &allow), (&b, &allow))?;
    assert_eq!(at_b.peer(), forked.id);
    // A peer claiming this side's own id (a copy of its data directory) is refused.
    let copy = Peer {
        key: b.key.clone(),
        id: b.id,
    };
    assert_eq!(
        handshake((&copy, &allow), (&b, &allow)).err(),
        Some(AuthError::SelfConnection(b.id))
    );
    Ok(())
}

#[test]
fn malformed_and_foreign_first_messages_are_typed_errors() -> Result {
    let b = peer(2);
    let allow = AllowList::of([peer(1).key.public()]);
    let read = |m: &[u8]| {
        Handshake::new(&b.key, &allow, b.id)
            .respond()
            .read_hello(m)
            .err()
    };
    let (_, good) = Handshake::new(&peer(1).key, &allow, peer(1).id).initiate()?;
    assert_eq!(read(b"GET / HTTP/1.1\r\n"), Some(AuthError::BadMagic));
    assert_eq!(read(&[]), Some(AuthError::BadMagic));
    assert_eq!(read(b"DCA"), Some(AuthError::BadMagic));
    // Version 1's hello (53 bytes), and a later version of any length, name their version.
    let mut v1 = b"DCAH\x01".to_vec();
    v1.extend_from_slice(&[7; 48]);
    let incompatible = |found| {
        Some(AuthError::Incompatible {
            found,
            supported: AUTH_VERSION,
        })
    };
    assert_eq!(read(&v1), incompatible(1));
    let mut v3 = good.clone();
    v3[4] = 3;
    v3.extend_from_slice(&[0; 40]);
    assert_eq!(read(&v3), incompatible(3));
    assert!(matches!(
        read(b"DCAH"),
        Some(AuthError::Malformed { len: 4, .. })
    ));
    assert!(matches!(
        read(&good[..30]),
        Some(AuthError::Malformed {
            what: "message 1",
            len: 30,
            ..
        })
    ));
    let mut long = good.clone();
    long.push(0);
    assert!(matches!(read(&long), Some(AuthError::Malformed { .. })));
    // An initiator that meets a version 1 peer says so.
    let (dialer, _) = Handshake::new(&peer(1).key, &allow, peer(1).id).initiate()?;
    assert_eq!(dialer.read_response(&v1).err(), incompatible(1));
    Ok(())
}

#[test]
fn a_flipped_bit_in_any_handshake_message_fails_it() -> Result {
    let (a, b) = (peer(1), peer(2));
    let allow = AllowList::of([a.key.public(), b.key.public()]);
    let start = || -> std::result::Result<_, AuthError> {
        let (dialer, m1) = Handshake::new(&a.key, &allow, a.id).initiate()?;
        let listener = Handshake::new(&b.key, &allow, b.id).respond();
        Ok((dialer, m1, listener))
    };
    for bit in [5 * 8, 20 * 8 + 3, 36 * 8 + 7] {
        // Message 1 is a bare public key: the flip shows when message 2 does not decrypt.
        let (dialer, mut m1, listener) = start()?;
        m1[bit / 8] ^= 1 << (bit % 8);
        let (m2, _) = listener.read_hello(&m1)?;
        assert_eq!(
            dialer.read_response(&m2).err(),
            Some(AuthError::BadMessage { what: "message 2" }),
            "message 1 bit {bit}"
        );
    }
    for bit in [0, 33 * 8, 80 * 8 + 1, 111 * 8 + 7] {
        let (dialer, m1, listener) = start()?;
        let (mut m2, _) = listener.read_hello(&m1)?;
        m2[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            dialer.read_response(&m2).err(),
            Some(AuthError::BadMessage { what: "message 2" }),
            "message 2 bit {bit}"
        );
    }
    for bit in [0, 47 * 8 + 2, 48 * 8, 79 * 8 + 7] {
        let (dialer, m1, listener) = start()?;
        let (m2, listener) = listener.read_hello(&m1)?;
        let (mut m3, _) = dialer.read_response(&m2)?;
        m3[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            listener.read_final(&m3).err(),
            Some(AuthError::BadMessage { what: "message 3" }),
            "message 3 bit {bit}"
        );
    }
    // A message 3 of another handshake (replayed) does not decrypt either.
    let (d1, m1, l1) = start()?;
    let (m2, _) = l1.read_hello(&m1)?;
    let (old_m3, _) = d1.read_response(&m2)?;
    let (_, m1, l2) = start()?;
    let (_, l2) = l2.read_hello(&m1)?;
    assert_eq!(
        l2.read_final(&old_m3).err(),
        Some(AuthError::BadMessage { what: "message 3" })
    );
    Ok(())
}

#[test]
fn tampered_replayed_reordered_short_and_oversized_frames_are_refused() -> Result {
    let (a, b) = (peer(1), peer(2));
    let allow = AllowList::of([a.key.public(), b.key.public()]);
    let (mut sa, mut sb) = handshake((&a, &allow), (&b, &allow))?;
    let (f0, f1) = (sa.sealer.seal(b"zero")?, sa.sealer.seal(b"one")?);
    let bad = |counter| Some(AuthError::BadTag { counter });
    assert_eq!(sb.opener.open(&f1).err(), bad(0), "reordered");
    for i in [0, 3, f0.len() - 1] {
        let mut altered = f0.clone();
        altered[i] ^= 0x80;
        assert_eq!(sb.opener.open(&altered).err(), bad(0), "altered byte {i}");
    }
    assert_eq!(
        sb.opener.open(&f0[..10]).err(),
        Some(AuthError::ShortFrame { len: 10 })
    );
    assert_eq!(
        sb.opener.open(&f0[..f0.len() - 1]).err(),
        bad(0),
        "truncated"
    );
    assert_eq!(sb.opener.open(&f0)?, b"zero");
    assert_eq!(sb.opener.open(&f0).err(), bad(1), "replayed");
    assert_eq!(sb.opener.open(&f1)?, b"one");
    // A frame of the other direction does not open here.
    let mine = sb.sealer.seal(b"two")?;
    assert_eq!(sb.opener.open(&mine).err(), bad(2), "reflected");
    // Frames of a session between the same two peers do not open in another.
    let (mut sa2, _) = handshake((&a, &allow), (&b, &allow))?;
    let other = sa2.sealer.seal(b"two")?;
    assert_eq!(sb.opener.open(&other).err(), bad(2), "from another session");
    assert!(sa.sealer.seal(&vec![0; MAX_FRAME_BYTES]).is_ok());
    assert_eq!(
        sa.sealer.seal(&vec![0; MAX_FRAME_BYTES + 1]).err(),
        Some(AuthError::FrameTooLarge {
            len: MAX_FRAME_BYTES + 1,
            max: MAX_FRAME_BYTES
        })
    );
    Ok(())
}

#[test]
fn keys_and_allow_lists_in_text_and_files() -> Result {
    let key = PeerKey::generate()?;
    assert_ne!(key.public(), PeerKey::generate()?.public());
    assert!(
        !format!("{key:?}").contains(&key.secret_hex()),
        "Debug hides the secret"
    );
    let text = key.public().to_string();
    assert_eq!(text.len(), 64);
    assert_eq!(text.parse::<PublicKey>()?, key.public());
    assert_eq!(text.to_uppercase().parse::<PublicKey>()?, key.public());
    assert_eq!(key.public().fingerprint(), text[..8]);
    for bad in [
        "",
        "abc",
        &text[1..],
        &format!("{text}0"),
        &format!("+{}", &text[1..]),
    ] {
        assert!(
            bad.parse::<PublicKey>()
                .is_err_and(|e| e.why.contains("hex")),
            "{bad:?}"
        );
    }
    let dir = std::env::temp_dir().join(format!("deltacrdt-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("peer.key");
    let _ = std::fs::remove_file(&path);
    key.save(&path)?;
    assert_eq!(PeerKey::load(&path)?, key);
    assert!(
        matches!(key.save(&path), Err(AuthError::File { .. })),
        "never overwritten"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a key file is its owner's only");
    }
    assert!(matches!(
        PeerKey::load(dir.join("missing")),
        Err(AuthError::File { .. })
    ));
    let (a, b) = (peer(1).key.public(), peer(2).key.public());
    let list_path = dir.join("allow");
    std::fs::write(&list_path, format!("# team\n\n{a} alice # laptop\n  {b}\n"))?;
    let allow = AllowList::load(&list_path)?;
    assert_eq!(allow.keys().len(), 2);
    assert_eq!(allow.name(&a).as_deref(), Some("alice"));
    assert_eq!(allow.name(&b), None);
    // Reloading replaces the keys in every clone; a bad file leaves them as they were.
    let shared = allow.clone();
    std::fs::write(&list_path, format!("{b}\n"))?;
    allow.reload(&list_path)?;
    assert!(!shared.contains(&a) && shared.contains(&b));
    std::fs::write(&list_path, format!("{a}\nnot a key\n"))?;
    assert!(matches!(
        allow.reload(&list_path),
        Err(AuthError::AllowList { line: 2, .. })
    ));
    assert!(shared.contains(&b) && !shared.contains(&a) && shared.len() == 1);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
