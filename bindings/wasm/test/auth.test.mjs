// AuthChannel: the native peers' handshake (src/auth/PROTOCOL.md) from JavaScript. A full
// handshake between two channels, every refusal with its code, and the golden bytes of
// tests/sync/auth.rs (read from that file, so there is one source) reproduced byte for byte.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { wasm, Doc, uuid, hex, throwsCode } from './support.mjs';

const { AuthChannel } = wasm;
const here = path.dirname(fileURLToPath(import.meta.url));
const rust = fs.readFileSync(path.join(here, '..', '..', '..', 'tests', 'sync', 'auth.rs'), 'utf8');
/** A `const NAME: &str = "…";` of tests/sync/auth.rs. */
const golden = (name) => rust.match(new RegExp(`const ${name}: &str =\\s*"([0-9a-f]+)"`))[1];
/** ReplicaId::from_u128(0x0101…01) and 0x0202…02, as UUID strings. */
const A = '01010101-0101-0101-0101-010101010101';
const B = '02020202-0202-0202-0202-020202020202';

/** Runs the handshake between two channels; returns the ids each side authenticated. */
function handshake(i, r) {
  const [hi, hr] = [i.hello(), r.hello()];
  const pi = i.readHello(hr);
  const pr = r.readHello(hi);
  return [i.readProof(pr), r.readProof(pi)];
}

test('the golden handshake of tests/sync/auth.rs, byte for byte', () => {
  const i = new AuthChannel('golden', A, 'initiator', { nonce: new Uint8Array(32).fill(0xaa) });
  const r = new AuthChannel('golden', B, 'responder', { nonce: new Uint8Array(32).fill(0xbb) });
  assert.equal(hex(i.hello()), `4443414801${'01'.repeat(16)}${'aa'.repeat(32)}`);
  assert.equal(i.hello().length, 53);
  assert.equal(i.state, 'hello');
  const pi = i.readHello(r.hello());
  const pr = r.readHello(i.hello());
  assert.equal(hex(pi), golden('GOLDEN_PROOF_INITIATOR'));
  assert.equal(hex(pr), golden('GOLDEN_PROOF_RESPONDER'));
  assert.equal(i.state, 'proof');
  assert.equal(i.peerId, undefined, 'not authenticated before the proof');
  assert.equal(i.readProof(pr), B);
  assert.equal(r.readProof(pi), A);
  assert.deepEqual([i.peerId, r.peerId, i.state], [B, A, 'open']);
  const sealed = i.seal(new TextEncoder().encode('DC'));
  assert.equal(hex(sealed), golden('GOLDEN_SEALED'));
  assert.equal(new TextDecoder().decode(r.open(sealed)), 'DC');
  const back = r.seal(new TextEncoder().encode('DC'));
  assert.notEqual(hex(back), hex(sealed), 'each direction has its own key');
  assert.equal(new TextDecoder().decode(i.open(back)), 'DC');
});

test('two Docs sync through two channels; random nonces differ', () => {
  const [a, b] = [new Doc({ replicaId: uuid(1) }), new Doc({ replicaId: uuid(2) })];
  const i = new AuthChannel('shared', a.replicaId, 'initiator');
  const r = new AuthChannel('shared', b.replicaId, 'responder');
  assert.notEqual(hex(i.hello().subarray(21)), hex(r.hello().subarray(21)));
  const [atA, atB] = handshake(i, r);
  assert.deepEqual([atA, atB], [b.replicaId, a.replicaId]);
  a.connect(atA);
  b.connect(atB);
  a.counter('likes').increment(2);
  b.set('tags').add('urgent');
  const chan = new Map([[a, [i, b]], [b, [r, a]]]);
  for (let round = 0, busy = true; busy && round < 50; round++) {
    busy = false;
    for (const [doc, [mine, other]] of chan) {
      for (let t = doc.poll(); t; t = doc.poll()) {
        busy = true;
        const wire = mine.seal(t.bytes); // what crosses the socket
        const theirs = chan.get(other)[0];
        other.receive(doc.replicaId, theirs.open(wire));
      }
    }
  }
  assert.deepEqual(a.toJSON(), { likes: 2, tags: ['urgent'] });
  assert.deepEqual(b.toJSON(), a.toJSON());
});

test('a wrong key is refused with AUTH_BAD_PROOF on both sides', () => {
  const i = new AuthChannel('right', A, 'initiator');
  const r = new AuthChannel('wrong', B, 'responder');
  const pi = i.readHello(r.hello());
  const pr = r.readHello(i.hello());
  throwsCode(assert, () => i.readProof(pr), 'AUTH_BAD_PROOF');
  throwsCode(assert, () => r.readProof(pi), 'AUTH_BAD_PROOF');
  assert.equal(i.state, 'failed');
  assert.equal(i.peerId, undefined);
  throwsCode(assert, () => i.seal(new Uint8Array([1])), 'AUTH_STATE');
});

test('tampered, replayed, reordered and short frames are refused with AUTH_BAD_TAG', () => {
  const open = () => {
    const i = new AuthChannel('k', A, 'initiator');
    const r = new AuthChannel('k', B, 'responder');
    handshake(i, r);
    return [i, r];
  };
  let [i, r] = open();
  const f0 = i.seal(new Uint8Array([1, 2, 3]));
  assert.deepEqual([...r.open(f0)], [1, 2, 3]);
  throwsCode(assert, () => r.open(f0), 'AUTH_BAD_TAG'); // replay
  throwsCode(assert, () => r.open(i.seal(new Uint8Array([4]))), 'AUTH_STATE'); // failed for good
  [i, r] = open();
  const t0 = i.seal(new Uint8Array([1, 2, 3]));
  t0[0] ^= 1;
  throwsCode(assert, () => r.open(t0), 'AUTH_BAD_TAG'); // tampered
  [i, r] = open();
  i.seal(new Uint8Array([0]));
  throwsCode(assert, () => r.open(i.seal(new Uint8Array([1]))), 'AUTH_BAD_TAG'); // reordered
  [i, r] = open();
  throwsCode(assert, () => r.open(new Uint8Array(10)), 'AUTH_BAD_TAG'); // shorter than a tag
  [i, r] = open();
  throwsCode(assert, () => r.open(r.seal(new Uint8Array([1]))), 'AUTH_BAD_TAG'); // reflected
});

test('bad hellos, bad proofs and out-of-order calls have stable codes', () => {
  const fresh = () => new AuthChannel('k', B, 'responder', { nonce: new Uint8Array(32).fill(0xbb) });
  const good = new AuthChannel('k', A, 'initiator', { nonce: new Uint8Array(32).fill(0xaa) }).hello();
  throwsCode(assert, () => fresh().readHello(new TextEncoder().encode('GET / HTTP/1.1')), 'AUTH_BAD_MAGIC');
  const v2 = new Uint8Array([...good, ...new Uint8Array(40)]);
  v2[4] = 2;
  const err = throwsCode(assert, () => fresh().readHello(v2), 'AUTH_INCOMPATIBLE');
  assert.match(err.message, /version 2/);
  throwsCode(assert, () => fresh().readHello(good.subarray(0, 30)), 'AUTH_MALFORMED');
  throwsCode(assert, () => fresh().readHello(fresh().hello()), 'AUTH_SELF_CONNECTION');
  const mirror = new AuthChannel('k', A, 'initiator', { nonce: new Uint8Array(32).fill(0xbb) }).hello();
  throwsCode(assert, () => fresh().readHello(mirror), 'AUTH_REFLECTED');
  const r = fresh();
  r.readHello(good);
  throwsCode(assert, () => r.readHello(good), 'AUTH_STATE');
  assert.equal(r.state, 'proof', 'an out-of-order call changes nothing');
  throwsCode(assert, () => r.readProof(new Uint8Array(31)), 'AUTH_MALFORMED');
  throwsCode(assert, () => fresh().open(new Uint8Array(20)), 'AUTH_STATE');
});

test('bad arguments are BAD_OPTION / BAD_PEER_ID', () => {
  throwsCode(assert, () => new AuthChannel('k', 'not-a-uuid', 'initiator'), 'BAD_PEER_ID');
  throwsCode(assert, () => new AuthChannel('k', A, 'dialer'), 'BAD_OPTION');
  throwsCode(assert, () => new AuthChannel('k', A, 'initiator', { nonce: new Uint8Array(31) }), 'BAD_OPTION');
  throwsCode(assert, () => new AuthChannel('k', A, 'initiator', { nonce: [1, 2] }), 'BAD_OPTION');
  throwsCode(assert, () => new AuthChannel('k', A, 'initiator', 7), 'BAD_OPTION');
});
