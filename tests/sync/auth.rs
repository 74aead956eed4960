//! The authentication handshake: golden bytes, and every way a peer without the key (or with
//! another protocol) is refused.

use deltacrdt::{AUTH_VERSION, AuthError, AuthKey, HELLO_LEN, Handshake, ReplicaId, Role};

const A: ReplicaId = ReplicaId::from_u128(0x0101_0101_0101_0101_0101_0101_0101_0101);
const B: ReplicaId = ReplicaId::from_u128(0x0202_0202_0202_0202_0202_0202_0202_0202);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pair(key_a: &AuthKey, key_b: &AuthKey) -> (Handshake, Handshake) {
    (
        Handshake::new(key_a, Role::Initiator, A, [0xAA; 32]),
        Handshake::new(key_b, Role::Responder, B, [0xBB; 32]),
    )
}

#[test]
fn golden_handshake_and_sealed_frame() -> Result<(), AuthError> {
    let key = AuthKey::from_passphrase("golden");
    let (i, r) = pair(&key, &key);
    let (hi, hr) = (i.hello().to_vec(), r.hello().to_vec());
    assert_eq!(
        hex(&hi),
        "4443414801\
         01010101010101010101010101010101\
         aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    );
    assert_eq!(hr.len(), HELLO_LEN);
    let (pi, i) = i.read_hello(&hr)?;
    let (pr, r) = r.read_hello(&hi)?;
    assert_eq!(hex(&pi), GOLDEN_PROOF_INITIATOR);
    assert_eq!(hex(&pr), GOLDEN_PROOF_RESPONDER);
    let mut si = i.read_proof(&pr)?;
    let mut sr = r.read_proof(&pi)?;
    assert_eq!((si.peer(), sr.peer()), (B, A));
    let sealed = si.sealer.seal(b"DC");
    assert_eq!(hex(&sealed), GOLDEN_SEALED);
    assert_eq!(sr.opener.open(&sealed)?, b"DC");
    // The other direction has its own key: the initiator's frame does not open there.
    let back = sr.sealer.seal(b"DC");
    assert_ne!(back, sealed);
    assert_eq!(si.opener.open(&back)?, b"DC");
    Ok(())
}

// Computed independently from PROTOCOL.md (Python's hashlib/hmac), not by this crate.
const GOLDEN_PROOF_INITIATOR: &str =
    "fbb13178f208e4b8cc43ce4ce8bf82ad79e29b84523797f7b481eb4f4ab91c6a";
const GOLDEN_PROOF_RESPONDER: &str =
    "9a4b6e7e45a4dd755881d75e3288aa5e3c00b053c35d02572815df4e8e3a2e90";
/// "DC" sealed as the initiator's first frame (counter 0).
const GOLDEN_SEALED: &str = "44431051cc625fa7873c60192402431dde60";

#[test]
fn wrong_key_is_refused_by_both_sides() -> Result<(), AuthError> {
    let (i, r) = pair(
        &AuthKey::from_passphrase("right"),
        &AuthKey::from_passphrase("wrong"),
    );
    let (hi, hr) = (i.hello().to_vec(), r.hello().to_vec());
    let (pi, i) = i.read_hello(&hr)?;
    let (pr, r) = r.read_hello(&hi)?;
    assert_eq!(i.read_proof(&pr).err(), Some(AuthError::BadProof(B)));
    assert_eq!(r.read_proof(&pi).err(), Some(AuthError::BadProof(A)));
    Ok(())
}

#[test]
fn bad_hellos_are_typed_errors() {
    let key = AuthKey::from_passphrase("k");
    let fresh = || Handshake::new(&key, Role::Responder, B, [0xBB; 32]);
    let good = Handshake::new(&key, Role::Initiator, A, [0xAA; 32])
        .hello()
        .to_vec();
    assert_eq!(
        fresh().read_hello(b"GET / HTTP/1.1").err(),
        Some(AuthError::BadMagic)
    );
    assert_eq!(fresh().read_hello(&[]).err(), Some(AuthError::BadMagic));
    let mut v2 = good.clone();
    v2[4] = 2;
    v2.extend_from_slice(&[0; 40]); // a later version may be longer: still named as a version
    assert_eq!(
        fresh().read_hello(&v2).err(),
        Some(AuthError::Incompatible {
            found: 2,
            supported: AUTH_VERSION
        })
    );
    assert!(matches!(
        fresh().read_hello(&good[..30]).err(),
        Some(AuthError::Malformed {
            what: "hello",
            len: 30,
            ..
        })
    ));
    let mut long = good.clone();
    long.push(0);
    assert!(matches!(
        fresh().read_hello(&long).err(),
        Some(AuthError::Malformed { .. })
    ));
    let me = Handshake::new(&key, Role::Initiator, B, [0xAA; 32])
        .hello()
        .to_vec();
    assert_eq!(
        fresh().read_hello(&me).err(),
        Some(AuthError::SelfConnection(B))
    );
    let mirror = Handshake::new(&key, Role::Initiator, A, [0xBB; 32])
        .hello()
        .to_vec();
    assert_eq!(
        fresh().read_hello(&mirror).err(),
        Some(AuthError::Reflected(A))
    );
}

#[test]
fn tampered_replayed_reordered_and_short_frames_are_refused() -> Result<(), AuthError> {
    let key = AuthKey::from_passphrase("k");
    let (i, r) = pair(&key, &key);
    let (hi, hr) = (i.hello().to_vec(), r.hello().to_vec());
    let (pi, i) = i.read_hello(&hr)?;
    let (pr, r) = r.read_hello(&hi)?;
    let (mut si, mut sr) = (i.read_proof(&pr)?, r.read_proof(&pi)?);
    let (f0, f1) = (si.sealer.seal(b"zero"), si.sealer.seal(b"one"));
    assert_eq!(
        sr.opener.open(&f1).err(),
        Some(AuthError::BadTag { counter: 0 })
    );
    let mut altered = f0.clone();
    altered[0] ^= 1;
    assert_eq!(
        sr.opener.open(&altered).err(),
        Some(AuthError::BadTag { counter: 0 })
    );
    assert_eq!(
        sr.opener.open(&f0[..10]).err(),
        Some(AuthError::ShortFrame { len: 10 })
    );
    assert_eq!(sr.opener.open(&f0)?, b"zero");
    assert_eq!(
        sr.opener.open(&f0).err(),
        Some(AuthError::BadTag { counter: 1 })
    );
    assert_eq!(sr.opener.open(&f1)?, b"one");
    // A proof of the wrong length.
    let (i, _) = pair(&key, &key);
    let (_, i) = i.read_hello(&hr)?;
    assert!(matches!(
        i.read_proof(&[0; 31]).err(),
        Some(AuthError::Malformed { what: "proof", .. })
    ));
    Ok(())
}

#[test]
fn keys() {
    assert_eq!(
        AuthKey::from_bytes(&[1; 15]).err(),
        Some(AuthError::KeyTooShort { len: 15, min: 16 })
    );
    assert!(AuthKey::from_bytes(&[1; 16]).is_ok());
    assert_ne!(AuthKey::from_passphrase("a"), AuthKey::from_passphrase("b"));
    assert_eq!(
        format!("{:?}", AuthKey::from_passphrase("secret")),
        "AuthKey(..)"
    );
}
