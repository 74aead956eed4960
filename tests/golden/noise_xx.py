#!/usr/bin/env python3
"""Auth protocol 2's golden vectors (src/auth/PROTOCOL.md), computed independently of the
crate and of snow: Noise_XX_25519_AESGCM_SHA256 written out from the Noise specification
(revision 34) on pyca/cryptography's X25519 and AES-GCM. Prints the constants of
tests/sync/auth.rs.  Run: python3 tests/golden/noise_xx.py [--check tests/sync/auth.rs]
(--check: exit 1 unless every constant is in that file, as .ci/run does)."""
import hashlib, hmac, re, sys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import serialization

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw

def pub(secret):
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes(*RAW)

def dh(secret, public):
    return X25519PrivateKey.from_private_bytes(secret).exchange(X25519PublicKey.from_public_bytes(public))

def hkdf(ck, ikm, n):
    temp = hmac.new(ck, ikm, hashlib.sha256).digest()
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = hmac.new(temp, prev + bytes([i]), hashlib.sha256).digest()
        out.append(prev)
    return out

def nonce(n):
    return b"\0" * 4 + n.to_bytes(8, "big")

class Symmetric:
    def __init__(self, name, prologue):
        self.h = name.ljust(32, b"\0") if len(name) <= 32 else hashlib.sha256(name).digest()
        self.ck, self.k, self.n = self.h, None, 0
        self.mix_hash(prologue)
    def mix_hash(self, data):
        self.h = hashlib.sha256(self.h + data).digest()
    def mix_key(self, ikm):
        self.ck, k = hkdf(self.ck, ikm, 2)
        self.k, self.n = k, 0
    def encrypt_and_hash(self, plain):
        if self.k is None:
            out = plain
        else:
            out = AESGCM(self.k).encrypt(nonce(self.n), plain, self.h)
            self.n += 1
        self.mix_hash(out)
        return out
    def split(self):
        return hkdf(self.ck, b"", 2)

def family(public):
    d = bytearray(hashlib.sha256(b"deltacrdt-auth/2 replica family" + public).digest()[:10])
    d[6] = (d[6] & 0x0F) | 0x80
    d[8] = (d[8] & 0x3F) | 0x80
    return bytes(d)

s_i, s_r = bytes([0x11] * 32), bytes([0x22] * 32)
e_i, e_r = bytes([0x33] * 32), bytes([0x44] * 32)
id_i = family(pub(s_i)) + bytes([1] * 6)
id_r = family(pub(s_r)) + bytes([2] * 6)

# Both sides run the same transcript; one SymmetricState suffices for the vectors.
st = Symmetric(b"Noise_XX_25519_AESGCM_SHA256", b"deltacrdt-auth/2")
# -> e
st.mix_hash(pub(e_i))
msg1 = b"DCAH\x02" + pub(e_i) + st.encrypt_and_hash(b"")
# <- e, ee, s, es
st.mix_hash(pub(e_r))
st.mix_key(dh(e_r, pub(e_i)))
enc_s = st.encrypt_and_hash(pub(s_r))
st.mix_key(dh(s_r, pub(e_i)))
msg2 = pub(e_r) + enc_s + st.encrypt_and_hash(id_r)
# -> s, se
enc_s = st.encrypt_and_hash(pub(s_i))
st.mix_key(dh(s_i, pub(e_r)))
msg3 = enc_s + st.encrypt_and_hash(id_i)
k1, k2 = st.split()
sealed_i = AESGCM(k1).encrypt(nonce(0), b"DC", b"")
sealed_r = AESGCM(k2).encrypt(nonce(0), b"DC", b"")
assert (len(msg1), len(msg2), len(msg3)) == (37, 112, 80)

vectors = [("SECRET_I", s_i), ("SECRET_R", s_r), ("EPHEMERAL_I", e_i), ("EPHEMERAL_R", e_r),
           ("PUBLIC_I", pub(s_i)), ("PUBLIC_R", pub(s_r)), ("ID_I", id_i), ("ID_R", id_r),
           ("GOLDEN_MSG1", msg1), ("GOLDEN_MSG2", msg2), ("GOLDEN_MSG3", msg3),
           ("GOLDEN_SEALED_I", sealed_i), ("GOLDEN_SEALED_R", sealed_r)]
if len(sys.argv) == 3 and sys.argv[1] == "--check":
    text = open(sys.argv[2]).read()
    wrong = [n for n, v in vectors
             if not re.search(rf'const {n}: &str =\s*"{v.hex()}";', text)]
    if wrong:
        sys.exit(f"{sys.argv[2]}: constants not as computed here: {', '.join(wrong)}")
    print(f"{len(vectors)} golden constants of {sys.argv[2]} recomputed independently")
else:
    for name, value in vectors:
        print(f'const {name}: &str = "{value.hex()}";')
