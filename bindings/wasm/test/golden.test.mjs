// Interop with the native build: the golden vectors of tests/golden/vectors.json (the same file
// tests/golden.rs reads) decode in the wasm build, and the same operations under the same
// deterministic clock (option nowMs) and replica ids give the same bytes.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Doc, uuid, hex, unhex } from './support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const V = JSON.parse(fs.readFileSync(path.join(here, '..', '..', '..', 'tests', 'golden', 'vectors.json'), 'utf8'));

// The npm module is built without the `reconcile` feature (its size budget): it speaks minor
// version 0 of the format, whose hellos carry no nonce and no context, and reads the native
// minor-1 hellos by skipping the fields it does not know.

test('a Doc session produces the native frames byte for byte', () => {
  const opts = (n) => ({ replicaId: uuid(n), nowMs: V.t0_ms });
  const a = new Doc(opts(1));
  const b = new Doc(opts(2));
  a.connect(uuid(2));
  const hello = a.poll();
  assert.equal(hello.to, uuid(2));
  assert.equal(hex(hello.bytes), V.hello_minor0);
  b.receive(uuid(1), hello.bytes);
  const reply = b.poll();
  assert.equal(hex(reply.bytes), V.hello_reply_minor0);
  a.receive(uuid(2), reply.bytes);
  a.counter('likes').increment(3);
  const delta = a.poll();
  assert.equal(hex(delta.bytes), V.doc_delta);
  b.receive(uuid(1), delta.bytes);
  assert.equal(hex(b.poll().bytes), V.ack);
  assert.equal(hex(b.stateBytes()), V.doc);
  assert.equal(hex(a.stateBytes()), V.doc);
});

test('the native frames decode in wasm: a replica fed only golden bytes gets the state', () => {
  const b = new Doc({ replicaId: uuid(2), nowMs: V.t0_ms });
  b.receive(uuid(1), unhex(V.hello));
  assert.equal(hex(b.poll().bytes), V.hello_reply_minor0);
  b.receive(uuid(1), unhex(V.doc_delta));
  assert.deepEqual(b.toJSON(), { likes: 3 });
  assert.equal(hex(b.poll().bytes), V.ack);
  const a = new Doc({ replicaId: uuid(1), nowMs: V.t0_ms });
  a.connect(uuid(2));
  a.poll();
  a.receive(uuid(2), unhex(V.hello_reply));
  a.counter('likes').increment(3);
  a.poll();
  a.receive(uuid(2), unhex(V.ack));
  assert.equal(a.stats().peers[0].acked, 1);
});

test('the native document value decodes and re-encodes identically', () => {
  assert.deepEqual(Doc.decodeState(unhex(V.doc)), { likes: 3 });
  const d = new Doc({ replicaId: uuid(1), nowMs: V.t0_ms });
  d.counter('likes').increment(3);
  assert.equal(hex(d.stateBytes()), V.doc);
});

test('vectors of other types are refused as documents with coded errors', () => {
  // or_set and lww are values of other types: the Doc decoder must refuse, not misread them.
  for (const name of ['or_set', 'lww']) {
    assert.throws(() => Doc.decodeState(unhex(V[name])), (e) => e.code === 'DECODE', name);
  }
});
