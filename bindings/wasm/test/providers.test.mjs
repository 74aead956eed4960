// What of deltacrdt-wasm/indexeddb runs without a browser: `Doc.resumeAs` (which the store uses to
// continue the saved replica from its journal's save), bad options and a host without IndexedDB.
// The store itself is tested in headless Chromium (demo/providers-e2e.mjs).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import { IndexedDbStore } from 'deltacrdt-wasm/indexeddb';
import { BroadcastProvider } from 'deltacrdt-wasm/broadcast';
import { Doc, uuid } from './support.mjs';

const seqOf = (doc) => {
  const peer = uuid(0xfeed);
  doc.connect(peer);
  const p = doc.stats().peers.find((x) => x.peer === peer);
  return p.lag + (p.acked ?? 0);
};

test('Doc.resumeAs: another replica\'s save continued under an id and a sequence number, the same state', () => {
  const journal = new Doc({ replicaId: uuid(1) });
  const writer = new Doc({ replicaId: uuid(2) });
  writer.set('list').add('a');
  writer.counter('n').increment(2);
  writer.register('title').set({ text: 'hi' });
  writer.connect(journal.replicaId);
  journal.connect(writer.replicaId);
  for (let busy = true; busy;) {
    busy = false;
    for (const [from, to] of [[writer, journal], [journal, writer]]) {
      for (let t; (t = from.poll()); busy = true) to.receive(from.replicaId, t.bytes);
    }
  }
  const save = journal.save();
  // An id the state holds dots of (the writer's) and one it has never seen.
  for (const [id, seq] of [[writer.replicaId, 42], [uuid(3), 300], [uuid(4), 2 ** 40]]) {
    const resumed = Doc.resumeAs(save, id, seq);
    assert.equal(resumed.replicaId, id);
    assert.deepEqual(resumed.toJSON(), writer.toJSON());
    assert.equal(seqOf(resumed), seq);
    // It edits on from where the state is: a new dot, which a peer accepts as new.
    resumed.set('list').add('b');
    assert.deepEqual(resumed.set('list').values(), ['a', 'b']);
  }
  // The original is unchanged and still resumes as the journal.
  assert.equal(Doc.resume(save).replicaId, journal.replicaId);
  const code = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };
  assert.equal(code(() => Doc.resumeAs(save, 'not an id', 1)), 'BAD_PEER_ID');
  for (const seq of [-1, 1.5, NaN, 2 ** 54]) assert.equal(code(() => Doc.resumeAs(save, uuid(5), seq)), 'BAD_OPTION', `seq ${seq}`);
  assert.equal(code(() => Doc.resumeAs(save.subarray(0, 10), uuid(5), 1)), 'BAD_SAVE');
});

test('IndexedDbStore.open: bad options are BAD_OPTION, no IndexedDB is STORE_UNSUPPORTED', async () => {
  const code = async (p) => p.then(() => 'resolved', (e) => e.code);
  assert.equal(await code(IndexedDbStore.open('', { Doc })), 'BAD_OPTION');
  assert.equal(await code(IndexedDbStore.open('x', {})), 'BAD_OPTION');
  assert.equal(await code(IndexedDbStore.open('x', { Doc, compactBytes: -1 })), 'BAD_OPTION');
  assert.equal(globalThis.indexedDB, undefined, 'Node has no IndexedDB');
  assert.equal(await code(IndexedDbStore.open('x', { Doc })), 'STORE_UNSUPPORTED');
});

test('the providers: import and require give one module each', () => {
  const require = createRequire(import.meta.url);
  assert.equal(require('deltacrdt-wasm/indexeddb').IndexedDbStore, IndexedDbStore);
  assert.equal(require('deltacrdt-wasm/broadcast').BroadcastProvider, BroadcastProvider);
});
