// deltacrdt-wasm/broadcast in Node (which has BroadcastChannel): two Docs in one process, a Doc
// in a worker thread, leaving, refused frames and bad options.
import assert from 'node:assert/strict';
import test from 'node:test';
import { Worker } from 'node:worker_threads';
import { BroadcastProvider } from 'deltacrdt-wasm/broadcast';
import { Doc, throwsCode } from './support.mjs';

/** Resolves when `pred()` holds, checked after every change of `doc` (rejects after `ms`). */
function until(doc, pred, ms = 5000) {
  return new Promise((resolve, reject) => {
    if (pred()) return resolve();
    const timer = setTimeout(() => { off(); reject(new Error(`timed out; now ${JSON.stringify(doc.toJSON())}`)); }, ms);
    const off = doc.subscribe(() => { if (pred()) { clearTimeout(timer); off(); resolve(); } });
  });
}
const event = (target, type) => new Promise((resolve) => target.addEventListener(type, (e) => resolve(e.detail), { once: true }));
let names = 0;
const fresh = () => `test-${process.pid}-${names++}`;

test('two Docs in one process share a set over a BroadcastChannel, both ways', async () => {
  const name = fresh();
  const a = new Doc(), b = new Doc();
  a.set('list').add('from a');
  const pa = new BroadcastProvider(a, { name });
  const pb = new BroadcastProvider(b, { name });
  b.set('list').add('from b');
  await until(a, () => a.set('list').values().length === 2);
  await until(b, () => b.set('list').values().length === 2);
  assert.deepEqual(a.toJSON(), b.toJSON());
  assert.deepEqual(pa.peers, [b.replicaId]);
  assert.deepEqual(pb.peers, [a.replicaId]);
  // Later edits flow too (the driver drains poll() after each change, no interval).
  a.counter('likes').increment(3);
  await until(b, () => b.counter('likes').value === 3);
  pa.close(); pb.close();
});

test('a tab that leaves is forgotten; another name does not mix in', async () => {
  const name = fresh();
  const a = new Doc(), b = new Doc(), stranger = new Doc();
  const pa = new BroadcastProvider(a, { name });
  const ps = new BroadcastProvider(stranger, { name: fresh() });
  stranger.set('list').add('elsewhere');
  const joined = event(pa, 'peer');
  const pb = new BroadcastProvider(b, { name });
  assert.deepEqual(await joined, { peer: b.replicaId, joined: true });
  const left = event(pa, 'peer');
  pb.close();
  assert.equal(pb.closed, true);
  assert.deepEqual(await left, { peer: b.replicaId, joined: false });
  assert.deepEqual(pa.peers, []);
  b.set('list').add('after leaving');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(a.set('list').values(), [], 'nothing from a closed provider or another name');
  pa.close(); ps.close();
});

test('a Doc in a worker thread syncs with one in the main thread', async () => {
  const name = fresh();
  const main = new Doc();
  const p = new BroadcastProvider(main, { name });
  main.set('list').add('main');
  const worker = new Worker(new URL('./broadcast-worker.mjs', import.meta.url), { workerData: { name } });
  try {
    await until(main, () => main.set('list').values().includes('worker'), 10000);
    const answer = new Promise((resolve) => worker.once('message', resolve));
    worker.postMessage('report');
    const seen = await answer;
    assert.deepEqual(seen.list, ['main', 'worker']);
    assert.notEqual(seen.replicaId, main.replicaId);
  } finally {
    await worker.terminate();
    p.close();
  }
});

test('a refused frame is an error event with its code; the Doc is unchanged', async () => {
  const name = fresh();
  const a = new Doc();
  a.set('list').add('x');
  const before = a.save();
  const pa = new BroadcastProvider(a, { name });
  const hostile = new BroadcastChannel(`deltacrdt:${name}`);
  const failed = event(pa, 'error');
  const evil = new Doc().replicaId;
  hostile.postMessage({ t: 'frame', from: evil, to: a.replicaId, bytes: new Uint8Array([0x44, 0x43, 1, 2, 9, 9]) });
  const { peer, error } = await failed;
  assert.equal(peer, evil);
  assert.equal(error.code, 'DECODE');
  assert.deepEqual(a.save(), before);
  hostile.close(); pa.close();
});

test('bad options: BAD_OPTION; no BroadcastChannel: BROADCAST_UNSUPPORTED', () => {
  throwsCode(assert, () => new BroadcastProvider(new Doc(), {}), 'BAD_OPTION');
  throwsCode(assert, () => new BroadcastProvider(new Doc(), { name: '' }), 'BAD_OPTION');
  throwsCode(assert, () => new BroadcastProvider({}, { name: 'x' }), 'BAD_OPTION');
  const saved = globalThis.BroadcastChannel;
  delete globalThis.BroadcastChannel;
  try {
    throwsCode(assert, () => new BroadcastProvider(new Doc(), { name: 'x' }), 'BROADCAST_UNSUPPORTED');
  } finally {
    globalThis.BroadcastChannel = saved;
  }
});
