// Hostile input to `receive` and `load`: every refusal is a coded Error and leaves the
// document exactly as it was (toJSON() and save() bytes compared before/after).
import test from 'node:test';
import assert from 'node:assert/strict';
import { Doc, prng, seed, pump, mesh } from './support.mjs';

const CODES = new Set(['DECODE', 'INCOMPATIBLE', 'CLOCK_DRIFT', 'PEER_MISMATCH', 'SELF_ID', 'TOO_MANY_PEERS', 'PROTOCOL', 'SYNC']);

/** A synced pair plus a few real frames (hello, delta, state, ack) to mutate. */
function setup() {
  const a = new Doc();
  const b = new Doc();
  a.counter('likes').increment(3);
  a.map('task').register('title').set({ text: 'hostile', tags: ['x', 1, true] });
  a.set('s').add('e');
  const frames = [];
  a.connect(b.replicaId);
  b.connect(a.replicaId);
  for (let round = 0; round < 10; round++) {
    for (let t = a.poll(); t; t = a.poll()) { frames.push(t.bytes); b.receive(a.replicaId, t.bytes); }
    for (let t = b.poll(); t; t = b.poll()) { frames.push(t.bytes); a.receive(b.replicaId, t.bytes); }
  }
  a.flag('f').enable();
  const delta = a.poll();
  frames.push(delta.bytes);
  const victim = new Doc();
  victim.counter('mine').increment();
  victim.connect(a.replicaId);
  return { a, victim, frames };
}

/** Feeds `bytes` to `doc` from `peer`: must succeed or throw a coded Error; if it throws, the
 * document must be byte-for-byte unchanged. Returns the code or 'ok'. */
function feed(doc, peer, bytes) {
  const json = JSON.stringify(doc.toJSON());
  const saved = Buffer.from(doc.save()).toString('hex');
  try {
    doc.receive(peer, bytes);
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof Error, 'not an Error');
    assert.ok(CODES.has(e.code), `unexpected code ${e.code}: ${e.message}`);
    assert.equal(JSON.stringify(doc.toJSON()), json, 'toJSON changed after a refused frame');
    assert.equal(Buffer.from(doc.save()).toString('hex'), saved, 'save() changed after a refused frame');
    return e.code;
  }
}

test('random bytes: coded errors, doc unchanged', () => {
  const rand = prng(seed('random bytes'));
  const { a, victim } = setup();
  const codes = {};
  for (let i = 0; i < 500; i++) {
    const len = Math.floor(rand() * 200);
    const bytes = new Uint8Array(len);
    for (let j = 0; j < len; j++) bytes[j] = Math.floor(rand() * 256);
    if (rand() < 0.5 && len >= 3) { bytes[0] = 0x44; bytes[1] = 0x43; bytes[2] = 1; } // past the magic
    const code = feed(victim, a.replicaId, bytes);
    codes[code] = (codes[code] || 0) + 1;
  }
  console.log('random bytes:', JSON.stringify(codes));
  assert.equal(codes.ok ?? 0, 0);
});

test('every truncation of every real frame: coded errors, doc unchanged', () => {
  const { a, victim, frames } = setup();
  let refused = 0;
  for (const f of frames) {
    for (let cut = 0; cut < f.length; cut++) {
      assert.notEqual(feed(victim, a.replicaId, f.slice(0, cut)), 'ok', `a truncation to ${cut} bytes was accepted`);
      refused++;
    }
  }
  console.log(`truncations: ${refused} of ${frames.length} frames, all refused`);
});

test('wrong versions: INCOMPATIBLE, doc unchanged', () => {
  const { a, victim, frames } = setup();
  for (const f of frames) {
    for (const v of [0, 2, 9, 255]) {
      const g = f.slice();
      g[2] = v;
      assert.equal(feed(victim, a.replicaId, g), 'INCOMPATIBLE');
    }
  }
});

test('bit flips and byte mutations of real frames: coded errors, doc unchanged', () => {
  const rand = prng(seed('bit flips'));
  const { a, victim, frames } = setup();
  const codes = {};
  for (let i = 0; i < 1000; i++) {
    const g = frames[Math.floor(rand() * frames.length)].slice();
    const flips = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < flips; k++) g[Math.floor(rand() * g.length)] ^= 1 << Math.floor(rand() * 8);
    const code = feed(victim, a.replicaId, g);
    codes[code] = (codes[code] || 0) + 1;
  }
  console.log('bit flips:', JSON.stringify(codes));
});

test('huge declared lengths do not allocate unboundedly', () => {
  const { a, victim } = setup();
  // Magic, version, kind, then a varint claiming ~2^63 of everything.
  for (const kind of [1, 2, 3, 4, 5, 0x10]) {
    const bytes = new Uint8Array([0x44, 0x43, 1, kind, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
    assert.notEqual(feed(victim, a.replicaId, bytes), 'ok');
  }
  const big = new Uint8Array(8 << 20); // 8 MiB of zeros: over the frame limit
  big.set([0x44, 0x43, 1, 2]);
  assert.equal(feed(victim, a.replicaId, big), 'DECODE');
});

test('after all that, the victim still syncs', () => {
  const { a, victim } = setup();
  const rand = prng(1);
  for (let i = 0; i < 50; i++) {
    const bytes = new Uint8Array(20).map(() => Math.floor(rand() * 256));
    feed(victim, a.replicaId, bytes);
  }
  mesh([a, victim]);
  pump([a, victim]);
  assert.deepEqual(victim.toJSON(), a.toJSON());
  assert.ok(victim.stats().decodeErrors >= 1);
});

test('hostile saves: BAD_SAVE, never a crash', () => {
  const rand = prng(seed('hostile saves'));
  const d = new Doc();
  d.counter('x').increment();
  d.map('m').set('s').add('v');
  const bytes = d.save();
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.throws(() => Doc.load(bytes.slice(0, cut)), (e) => e.code === 'BAD_SAVE');
  }
  for (let i = 0; i < 300; i++) {
    const g = bytes.slice();
    g[Math.floor(rand() * g.length)] ^= 1 << Math.floor(rand() * 8);
    assert.throws(() => Doc.load(g), (e) => e.code === 'BAD_SAVE');
  }
});
