// SecureChannel (deltacrdt-wasm/channel): auth protocol 2 (src/auth/PROTOCOL.md) in JavaScript
// over WebCrypto. The golden bytes of tests/sync/auth.rs (read from that file, so there is one
// source) reproduced in both roles, a full handshake carrying two Docs' sync, every refusal with
// its code, and the ordering of concurrent seal/open calls.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Doc, hex, prng, seed, unhex } from './support.mjs';
import {
  MAX_FRAME_BYTES, SecureChannel, belongsTo, fingerprint, generateIdentity, identityFromSecret,
  parseAllowList, replicaIdFor,
} from '../channel/index.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const rust = fs.readFileSync(path.join(here, '..', '..', '..', 'tests', 'sync', 'auth.rs'), 'utf8');
/** A `const NAME: &str = "…";` of tests/sync/auth.rs (a `\`-continued literal is joined). */
function golden(name) {
  const m = rust.match(new RegExp(`const ${name}: &str =\\s*"([0-9a-f\\\\\\s]+)"`));
  assert.ok(m, `tests/sync/auth.rs has no const ${name}`);
  return m[1].replace(/\\\s*/g, '');
}
const uuidOf = (h) => h.replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
const text = (s) => new TextEncoder().encode(s);

/** Rejects with `code`; returns the error. */
async function rejectsCode(promise, code) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Error, `expected a rejection with ${code}`);
  assert.equal(err.code, code, `wrong code (message: ${err.message})`);
  return err;
}

const throwsCode = (f, code) => assert.throws(f, (e) => e instanceof Error && e.code === code, code);

/** Two identities and ids of their own, generated once. */
const [alice, bob, carol] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()]);
const ids = new Map(await Promise.all([alice, bob, carol].map(async (k) => [k, await replicaIdFor(k.publicKey)])));

/** A channel for `identity` (its own id unless given), allowing `allow` (default: everyone here). */
const channel = (identity, role, options = {}) => new SecureChannel({
  identity, role, replicaId: ids.get(identity), allow: [alice, bob, carol].map((k) => k.publicKey), ...options,
});

/** Runs a handshake; resolves to the three messages. */
async function handshake(i, r) {
  const m1 = await i.start();
  const m2 = await r.read(m1);
  const m3 = await i.read(m2);
  assert.equal(await r.read(m3), null);
  return [m1, m2, m3];
}

async function openPair() {
  const [i, r] = [channel(alice, 'initiator'), channel(bob, 'responder')];
  await handshake(i, r);
  return [i, r];
}

test('the golden handshake of tests/sync/auth.rs, byte for byte, in both roles', async () => {
  const [I, R] = await Promise.all([identityFromSecret(golden('SECRET_I')), identityFromSecret(golden('SECRET_R'))]);
  const i = new SecureChannel({
    identity: I, replicaId: uuidOf(golden('ID_I')), role: 'initiator', allow: [R.publicKey],
    testing: { ephemeralSecret: golden('EPHEMERAL_I') },
  });
  const r = new SecureChannel({
    identity: R, replicaId: uuidOf(golden('ID_R')), role: 'responder', allow: [I.publicKey],
    testing: { ephemeralSecret: unhex(golden('EPHEMERAL_R')) },
  });
  const m1 = await i.start();
  assert.equal(hex(m1), golden('GOLDEN_MSG1'));
  assert.equal(m1.length, 37);
  // Each side answers the Rust side's bytes (not only its JS partner's).
  const m2 = await r.read(unhex(golden('GOLDEN_MSG1')));
  assert.equal(hex(m2), golden('GOLDEN_MSG2'));
  assert.equal(m2.length, 112);
  assert.equal(i.peerId, undefined, 'not authenticated before the channel is open');
  const m3 = await i.read(unhex(golden('GOLDEN_MSG2')));
  assert.equal(hex(m3), golden('GOLDEN_MSG3'));
  assert.equal(m3.length, 80);
  assert.equal(await r.read(unhex(golden('GOLDEN_MSG3'))), null);
  assert.deepEqual([i.state, r.state], ['open', 'open']);
  assert.deepEqual([i.peerId, r.peerId], [uuidOf(golden('ID_R')), uuidOf(golden('ID_I'))]);
  assert.deepEqual([i.peerKey, r.peerKey], [R.publicKey, I.publicKey]);
  assert.equal(hex(await i.seal(text('DC'))), golden('GOLDEN_SEALED_I'));
  assert.equal(hex(await r.seal(text('DC'))), golden('GOLDEN_SEALED_R'));
  assert.equal(new TextDecoder().decode(await r.open(unhex(golden('GOLDEN_SEALED_I')))), 'DC');
  assert.equal(new TextDecoder().decode(await i.open(unhex(golden('GOLDEN_SEALED_R')))), 'DC');
});

test('identities: generate, restore from the secret, fingerprints, key-bound replica ids', async () => {
  const again = await identityFromSecret(`${alice.secretKey.toUpperCase()}\n`);
  assert.deepEqual(again, alice, 'the secret (as a key file holds it) gives the same identity');
  assert.match(alice.publicKey, /^[0-9a-f]{64}$/);
  assert.notEqual(alice.publicKey, bob.publicKey);
  assert.equal(fingerprint(alice.publicKey), alice.publicKey.slice(0, 8));
  const [a1, a2] = [await replicaIdFor(alice.publicKey), await replicaIdFor(alice.publicKey)];
  assert.notEqual(a1, a2, 'fresh ids');
  assert.equal(a1.slice(0, 23), a2.slice(0, 23), 'one family: the first 10 bytes');
  assert.match(a1, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'UUID version 8, RFC 9562 variant');
  assert.equal(await belongsTo(a1, alice.publicKey), true);
  assert.equal(await belongsTo(a1, bob.publicKey), false);
  assert.equal(await belongsTo(a1.toUpperCase(), alice.publicKey), true);
  for (const bad of ['', 'abc', 'g'.repeat(64), alice.publicKey.slice(1), 42]) {
    await rejectsCode(identityFromSecret(bad), 'AUTH_KEY');
    await rejectsCode(replicaIdFor(bad), 'AUTH_KEY');
    throwsCode(() => fingerprint(bad), 'AUTH_KEY');
  }
  await rejectsCode(belongsTo('not-a-uuid', alice.publicKey), 'BAD_PEER_ID');
});

test('allow-list files: keys, names, comments, blank lines; a bad line is named', () => {
  const list = parseAllowList(`# the team\n${alice.publicKey}  alice laptop\r\n\n   ${bob.publicKey.toUpperCase()} # bob\n${carol.publicKey}\n`);
  assert.deepEqual([...list], [[alice.publicKey, 'alice laptop'], [bob.publicKey, ''], [carol.publicKey, '']]);
  assert.equal(parseAllowList('# nobody\n\n').size, 0);
  assert.throws(() => parseAllowList(`${alice.publicKey}\nnot-a-key alice\n`), (e) => e.code === 'AUTH_KEY' && e.line === 2);
  assert.throws(() => parseAllowList(`${alice.publicKey.slice(2)}\n`), /line 1/);
  throwsCode(() => parseAllowList(7), 'AUTH_KEY');
  // A Map from parseAllowList is an `allow` as it is.
  assert.equal(channel(alice, 'initiator', { allow: list }).state, 'handshake');
});

test('two Docs sync through sealed frames, a state larger than one frame included', async () => {
  const [i, r] = await openPair();
  const a = new Doc({ replicaId: ids.get(alice) });
  const b = new Doc({ replicaId: ids.get(bob) });
  assert.deepEqual([i.peerId, r.peerId], [b.replicaId, a.replicaId], 'each side learns the other\'s id from the handshake');
  a.connect(i.peerId);
  b.connect(r.peerId);
  a.counter('likes').increment(2);
  b.set('tags').add('urgent');
  a.register('notes').set('x'.repeat(200_000)); // chunked: every frame fits a sealed frame
  const ends = [[a, i, b, r], [b, r, a, i]];
  let sealedBytes = 0;
  for (let round = 0, busy = true; busy && round < 50; round++) {
    busy = false;
    for (const [doc, mine, other, theirs] of ends) {
      for (let t = doc.poll(); t; t = doc.poll()) {
        busy = true;
        assert.ok(t.bytes.length <= MAX_FRAME_BYTES, `frame of ${t.bytes.length} B`);
        const wire = await mine.seal(t.bytes); // what crosses the socket
        sealedBytes += wire.length;
        other.receive(theirs.peerId, await theirs.open(wire));
      }
    }
  }
  assert.deepEqual(b.toJSON(), a.toJSON());
  assert.equal(a.toJSON().likes, 2);
  assert.deepEqual(a.toJSON().tags, ['urgent']);
  assert.ok(sealedBytes > 200_000);
});

test('a sealed frame hides its plaintext; frames of up to MAX_FRAME_BYTES', async () => {
  const [i, r] = await openPair();
  const plain = text('the quick brown fox jumps over the lazy dog, '.repeat(40));
  const wire = await i.seal(plain);
  assert.equal(wire.length, plain.length + 16);
  const h = hex(wire);
  for (let at = 0; at + 8 <= plain.length; at += 8) assert.ok(!h.includes(hex(plain.subarray(at, at + 8))), `plaintext at ${at} visible`);
  assert.ok(!Buffer.from(wire).includes(Buffer.from('quick')));
  assert.deepEqual(await r.open(wire), plain);
  const max = new Uint8Array(MAX_FRAME_BYTES).fill(7);
  assert.deepEqual(await r.open(await i.seal(max)), max);
  assert.deepEqual(await r.open(await i.seal(new Uint8Array(0))), new Uint8Array(0));
  await rejectsCode(i.seal(new Uint8Array(MAX_FRAME_BYTES + 1)), 'AUTH_TOO_LARGE');
  assert.equal(i.state, 'failed', 'any error fails the channel');
});

test('concurrent seals and opens resolve in call order, each counter once', async () => {
  const [i, r] = await openPair();
  const frames = Array.from({ length: 64 }, (_, n) => new Uint8Array(1 + ((n * 977) % 3000)).fill(n));
  const sealed = await Promise.all(frames.map((f) => i.seal(f)));
  // Of different lengths, they may finish out of order inside WebCrypto; they resolve in order.
  const order = [];
  const opened = await Promise.all(sealed.map((w, n) => r.open(w).then((p) => { order.push(n); return p; })));
  assert.deepEqual(opened, frames);
  assert.deepEqual(order, frames.map((_, n) => n));
  // The caller's buffer may be reused at once: the frame was taken when seal was called.
  const buf = new Uint8Array([1, 2, 3]);
  const p = i.seal(buf);
  buf.fill(9);
  assert.deepEqual(await r.open(await p), new Uint8Array([1, 2, 3]));
});

test('replayed, reordered, altered, truncated and reflected frames: AUTH_BAD_TAG, then failed', async () => {
  let [i, r] = await openPair();
  const f0 = await i.seal(text('one'));
  assert.deepEqual(await r.open(f0), text('one'));
  await rejectsCode(r.open(f0), 'AUTH_BAD_TAG'); // replay
  assert.equal(r.state, 'failed');
  await rejectsCode(r.open(await i.seal(text('two'))), 'AUTH_STATE'); // failed for good
  await rejectsCode(r.seal(text('x')), 'AUTH_STATE');

  [i, r] = await openPair();
  await i.seal(text('lost'));
  await rejectsCode(r.open(await i.seal(text('next'))), 'AUTH_BAD_TAG'); // reordered (a frame skipped)

  for (let bit = 0; bit < 8 * 18; bit += 7) {
    [i, r] = await openPair();
    const w = await i.seal(text('DC'));
    w[bit >> 3] ^= 1 << (bit & 7);
    await rejectsCode(r.open(w), 'AUTH_BAD_TAG'); // altered: any bit, frame or tag
  }
  [i, r] = await openPair();
  const w = await i.seal(text('DC'));
  await rejectsCode(r.open(w.subarray(0, w.length - 1)), 'AUTH_BAD_TAG'); // truncated
  [i, r] = await openPair();
  await rejectsCode(r.open(new Uint8Array(10)), 'AUTH_BAD_TAG'); // shorter than a tag
  [i, r] = await openPair();
  await rejectsCode(r.open(await r.seal(text('DC'))), 'AUTH_BAD_TAG'); // reflected: own key
  // Frames queued behind a bad one are refused too, in order.
  [i, r] = await openPair();
  const [g0, g1] = [await i.seal(text('a')), await i.seal(text('b'))];
  const results = await Promise.allSettled([r.open(g1), r.open(g0)]);
  assert.deepEqual(results.map((x) => x.reason?.code), ['AUTH_BAD_TAG', 'AUTH_STATE']);
});

test('a bad frame behind one still being opened is not an unhandled rejection', async () => {
  // Regression: the short frame's refusal came while the large frame was still in WebCrypto,
  // before anything handled it, and Node ended the process.
  const [i, r] = await openPair();
  const big = await i.seal(new Uint8Array(MAX_FRAME_BYTES));
  const results = await Promise.allSettled([r.open(big), r.open(new Uint8Array(3)), r.open(big)]);
  assert.deepEqual(results.map((x) => x.status), ['fulfilled', 'rejected', 'rejected']);
  assert.deepEqual(results.slice(1).map((x) => x.reason.code), ['AUTH_BAD_TAG', 'AUTH_STATE']);
});

test('allow-lists: each side refuses a key it does not list, the initiator before message 3', async () => {
  // The initiator does not allow the responder: read(message 2) refuses, nothing to send.
  let i = channel(alice, 'initiator', { allow: [carol.publicKey] });
  let r = channel(bob, 'responder');
  const err = await rejectsCode(i.read(await r.read(await i.start())), 'AUTH_NOT_ALLOWED');
  assert.match(err.message, new RegExp(fingerprint(bob.publicKey)));
  assert.equal(i.state, 'failed');
  assert.equal(i.peerId, undefined);
  // The responder does not allow the initiator: read(message 3) refuses.
  i = channel(alice, 'initiator');
  r = channel(bob, 'responder', { allow: new Set([carol.publicKey]) });
  const m3 = await i.read(await r.read(await i.start()));
  await rejectsCode(r.read(m3), 'AUTH_NOT_ALLOWED');
  assert.deepEqual([r.state, r.peerId], ['failed', undefined]);
  // Nobody allowed.
  r = channel(bob, 'responder', { allow: [] });
  i = channel(alice, 'initiator');
  await rejectsCode(r.read(await i.read(await r.read(await i.start()))), 'AUTH_NOT_ALLOWED');
});

test('a replica id its key does not own is AUTH_FOREIGN_ID on either side; our own id is AUTH_SELF_CONNECTION', async () => {
  // The responder claims carol's id.
  let i = channel(alice, 'initiator');
  let r = channel(bob, 'responder', { replicaId: ids.get(carol) });
  await rejectsCode(i.read(await r.read(await i.start())), 'AUTH_FOREIGN_ID');
  // The initiator claims a random id (not made with replicaIdFor).
  i = channel(alice, 'initiator', { replicaId: crypto.randomUUID() });
  r = channel(bob, 'responder');
  await rejectsCode(r.read(await i.read(await r.read(await i.start()))), 'AUTH_FOREIGN_ID');
  // A copy of this replica (same key, same id) answering: the initiator refuses before message 3.
  i = channel(alice, 'initiator');
  r = channel(alice, 'responder');
  await rejectsCode(i.read(await r.read(await i.start())), 'AUTH_SELF_CONNECTION');
  // The same key with another id of its family is another replica of the same owner: accepted.
  i = channel(alice, 'initiator');
  r = channel(alice, 'responder', { replicaId: await replicaIdFor(alice.publicKey) });
  await handshake(i, r);
  assert.equal(i.peerKey, alice.publicKey);
});

test('first messages: bad magic, other versions, wrong lengths', async () => {
  const m1 = await channel(alice, 'initiator').start();
  const responderReads = (bytes) => channel(bob, 'responder').read(bytes);
  await rejectsCode(responderReads(text('GET / HTTP/1.1\r\n')), 'AUTH_BAD_MAGIC');
  await rejectsCode(responderReads(new Uint8Array(0)), 'AUTH_BAD_MAGIC');
  await rejectsCode(responderReads(text('DC')), 'AUTH_BAD_MAGIC');
  await rejectsCode(responderReads(text('DCAH')), 'AUTH_MALFORMED');
  const v1 = new Uint8Array(53);
  v1.set([0x44, 0x43, 0x41, 0x48, 0x01]);
  await rejectsCode(responderReads(v1), 'AUTH_INCOMPATIBLE');
  const v3 = Uint8Array.from([...m1, 0, 0, 0]);
  v3[4] = 3;
  const err = await rejectsCode(responderReads(v3), 'AUTH_INCOMPATIBLE'); // whatever the length
  assert.match(err.message, /version 3/);
  await rejectsCode(responderReads(m1.subarray(0, 36)), 'AUTH_MALFORMED');
  await rejectsCode(responderReads(Uint8Array.from([...m1, 0])), 'AUTH_MALFORMED');
  // An initiator dialing a version-1 peer gets its 53-byte hello back.
  const i = channel(alice, 'initiator');
  await i.start();
  await rejectsCode(i.read(v1), 'AUTH_INCOMPATIBLE');
});

test('messages 2 and 3 of the wrong length are AUTH_MALFORMED', async () => {
  for (const delta of [-1, 1, -80]) {
    const [i, r] = [channel(alice, 'initiator'), channel(bob, 'responder')];
    const m2 = await r.read(await i.start());
    await rejectsCode(i.read(new Uint8Array(m2.length + delta)), 'AUTH_MALFORMED');
    const [i2, r2] = [channel(alice, 'initiator'), channel(bob, 'responder')];
    const m3 = await i2.read(await r2.read(await i2.start()));
    await rejectsCode(r2.read(new Uint8Array(m3.length + delta)), 'AUTH_MALFORMED');
  }
});

test('a flipped bit anywhere in a handshake message is AUTH_BAD_MESSAGE', async () => {
  const flip = (m, at) => { const c = m.slice(); c[at] ^= 1 << (at % 8); return c; };
  // Message 1's ephemeral key (after the 5-byte header): the responder cannot tell, the
  // initiator finds message 2 does not decrypt under the key it really sent.
  for (let at = 5; at < 37; at++) {
    const [i, r] = [channel(alice, 'initiator'), channel(bob, 'responder')];
    const m2 = await r.read(flip(await i.start(), at));
    await rejectsCode(i.read(m2), 'AUTH_BAD_MESSAGE');
  }
  for (let at = 0; at < 112; at++) {
    const [i, r] = [channel(alice, 'initiator'), channel(bob, 'responder')];
    const m2 = await r.read(await i.start());
    await rejectsCode(i.read(flip(m2, at)), 'AUTH_BAD_MESSAGE');
    assert.equal(i.state, 'failed');
  }
  for (let at = 0; at < 80; at++) {
    const [i, r] = [channel(alice, 'initiator'), channel(bob, 'responder')];
    const m3 = await i.read(await r.read(await i.start()));
    await rejectsCode(r.read(flip(m3, at)), 'AUTH_BAD_MESSAGE');
    assert.deepEqual([r.state, r.peerId], ['failed', undefined]);
  }
  // Messages of another handshake (the same peers, new ephemeral keys) do not fit either.
  const [i, r] = [channel(alice, 'initiator'), channel(bob, 'responder')];
  const [i2, r2] = [channel(alice, 'initiator'), channel(bob, 'responder')];
  await r.read(await i.start());
  const other = await r2.read(await i2.start());
  await rejectsCode(i.read(other), 'AUTH_BAD_MESSAGE');
});

test('calls out of order are AUTH_STATE and fail the channel', async () => {
  await rejectsCode(channel(bob, 'responder').start(), 'AUTH_STATE');
  await rejectsCode(channel(alice, 'initiator').read(new Uint8Array(112)), 'AUTH_STATE'); // before start
  const twice = channel(alice, 'initiator');
  await twice.start();
  await rejectsCode(twice.start(), 'AUTH_STATE');
  assert.equal(twice.state, 'failed');
  await rejectsCode(channel(alice, 'initiator').seal(text('x')), 'AUTH_STATE');
  await rejectsCode(channel(bob, 'responder').open(new Uint8Array(20)), 'AUTH_STATE');
  // Two reads at once: the second fails the channel, and the first finds it failed.
  const [i, r] = [channel(alice, 'initiator'), channel(bob, 'responder')];
  const m1 = await i.start();
  const results = await Promise.allSettled([r.read(m1), r.read(m1)]);
  assert.deepEqual(results.map((x) => x.reason?.code), ['AUTH_STATE', 'AUTH_STATE']);
  assert.equal(r.state, 'failed');
  // After the handshake: no more handshake messages.
  const [oi, or] = await openPair();
  await rejectsCode(oi.read(new Uint8Array(80)), 'AUTH_STATE');
  await rejectsCode(or.read(new Uint8Array(80)), 'AUTH_STATE');
  assert.deepEqual([oi.state, or.state], ['failed', 'failed']);
});

test('bad options and arguments have stable codes', async () => {
  throwsCode(() => new SecureChannel(), 'BAD_OPTION');
  throwsCode(() => channel(alice, 'dialer'), 'BAD_OPTION');
  throwsCode(() => channel(alice, 'initiator', { identity: undefined }), 'BAD_OPTION');
  throwsCode(() => channel(alice, 'initiator', { allow: undefined }), 'BAD_OPTION');
  throwsCode(() => channel(alice, 'initiator', { allow: alice.publicKey }), 'BAD_OPTION'); // a file's text: parseAllowList
  throwsCode(() => channel(alice, 'initiator', { allow: [alice.publicKey, 'nope'] }), 'AUTH_KEY');
  throwsCode(() => channel({ publicKey: alice.publicKey, secretKey: 'x' }, 'initiator', { replicaId: ids.get(alice) }), 'AUTH_KEY');
  throwsCode(() => channel(alice, 'initiator', { replicaId: 'not-a-uuid' }), 'BAD_PEER_ID');
  throwsCode(() => channel(alice, 'initiator', { testing: { ephemeralSecret: new Uint8Array(31) } }), 'BAD_OPTION');
  throwsCode(() => channel(alice, 'initiator', { testing: { ephemeralSecret: 'ab' } }), 'AUTH_KEY');
  // Halves of two identities: refused when the handshake starts.
  const mixed = { publicKey: alice.publicKey, secretKey: bob.secretKey };
  await rejectsCode(channel(mixed, 'initiator', { replicaId: ids.get(alice) }).start(), 'AUTH_KEY');
  await rejectsCode(channel(mixed, 'responder', { replicaId: ids.get(alice) }).read(await channel(bob, 'initiator').start()), 'AUTH_KEY');
  // Not bytes.
  await rejectsCode(channel(bob, 'responder').read('hello'), 'BAD_VALUE');
  const [i] = await openPair();
  await rejectsCode(i.seal([1, 2, 3]), 'BAD_VALUE');
});

test('random bytes at every step are refused with a documented code, never an uncoded error', async () => {
  const codes = new Set(['AUTH_BAD_MAGIC', 'AUTH_INCOMPATIBLE', 'AUTH_MALFORMED', 'AUTH_BAD_MESSAGE', 'AUTH_BAD_TAG']);
  const rand = prng(seed('channel hostile'));
  const bytes = (n) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
  const lengths = () => [0, 1, 4, 5, 16, 36, 37, 38, 53, 79, 80, 81, 111, 112, 113, 200].concat(Math.floor(rand() * 70_000));
  for (const n of lengths()) {
    const m = bytes(n);
    if (rand() < 0.5 && n >= 5) m.set([0x44, 0x43, 0x41, 0x48, 2]); // past the header, sometimes
    const steps = [
      () => channel(bob, 'responder').read(m),
      async () => { const i = channel(alice, 'initiator'); await i.start(); return i.read(m); },
      async () => { const [i, r] = [channel(alice, 'initiator'), channel(bob, 'responder')]; await i.read(await r.read(await i.start())); return r.read(m); },
      async () => (await openPair())[1].open(m),
    ];
    for (const [k, step] of steps.entries()) {
      const out = await step().then((reply) => ({ reply }), (e) => e);
      if (k === 0 && n === 37 && hex(m.subarray(0, 5)) === '4443414802') {
        // Message 1 is not authenticated: any ephemeral key is answered, with a message 2.
        assert.equal(out.reply?.length, 112);
        continue;
      }
      assert.ok(out instanceof Error && codes.has(out.code), `step ${k}, ${n} random bytes: ${out?.code} ${out?.message}`);
    }
  }
});
