// Every method of the JS API, one or more tests each.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Doc, uuid, T0, pump, mesh, throwsCode } from './support.mjs';

test('constructor: random UUID ids, given ids, options checked', () => {
  const a = new Doc();
  const b = new Doc({});
  assert.match(a.replicaId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a.replicaId, b.replicaId);
  assert.equal(new Doc({ replicaId: uuid(7) }).replicaId, uuid(7));
  assert.equal(new Doc({ maxDriftMs: 5000, nowMs: T0 }).toJSON().constructor, Object);
  throwsCode(assert, () => new Doc({ replicaId: 'not-a-uuid' }), 'BAD_PEER_ID');
  throwsCode(assert, () => new Doc({ replicaId: 42 }), 'BAD_OPTION');
  throwsCode(assert, () => new Doc({ maxDriftMs: -1 }), 'BAD_OPTION');
  throwsCode(assert, () => new Doc({ maxDriftMs: 0.5 }), 'BAD_OPTION');
  throwsCode(assert, () => new Doc({ nowMs: 'soon' }), 'BAD_OPTION');
  throwsCode(assert, () => new Doc(5), 'BAD_OPTION');
});

test('counter: increment, decrement, defaults, value, bad amounts', () => {
  const d = new Doc();
  const c = d.counter('likes');
  assert.equal(c.value, 0);
  c.increment();
  c.increment(5);
  c.decrement();
  c.decrement(2);
  assert.equal(c.value, 3);
  assert.equal(d.counter('likes').value, 3);
  for (const bad of [0.5, NaN, Infinity, 2 ** 60]) {
    throwsCode(assert, () => c.increment(bad), 'BAD_VALUE');
  }
  assert.equal(c.value, 3);
  assert.deepEqual(d.toJSON(), { likes: 3 });
});

test('set: add, delete, has, values, element types', () => {
  const d = new Doc();
  const s = d.set('tags');
  s.add('b');
  s.add('a');
  s.add(2);
  s.add(1.5);
  s.add(true);
  s.add('a');
  assert.ok(s.has('a') && s.has(2) && s.has(1.5) && s.has(true));
  assert.ok(!s.has('z') && !s.has(false));
  s.delete('b');
  assert.ok(!s.has('b'));
  assert.deepEqual(new Set(s.values()), new Set(['a', 2, 1.5, true]));
  for (const bad of [null, undefined, {}, [], NaN, Infinity, () => 1]) {
    throwsCode(assert, () => s.add(bad), 'BAD_VALUE');
  }
  assert.equal(s.values().length, 4);
  assert.deepEqual(d.set('absent').values(), []);
  // Sorted naturally: booleans, then numbers by value, then strings; toJSON agrees.
  const o = d.set('order');
  for (const v of ['a', '10', 10, 9, -1, 2.5, 2, true, false]) o.add(v);
  assert.deepEqual(o.values(), [false, true, -1, 2, 2.5, 9, 10, '10', 'a']);
  assert.deepEqual(d.toJSON().order, o.values());
});

test('toJSON: every field name is an own property, __proto__ included', () => {
  const d = new Doc();
  d.counter('__proto__').increment(3);
  d.map('m').register('__proto__').set({ __proto__: null, x: 1 });
  const json = d.toJSON();
  assert.equal(Object.getPrototypeOf(json), Object.prototype);
  assert.ok(Object.hasOwn(json, '__proto__'));
  assert.equal(json['__proto__'], 3);
  assert.deepEqual(JSON.parse(JSON.stringify(d.map('m').toJSON())), { ['__proto__']: { x: 1 } });
});

test('register: any JSON value, last writer wins, bad values refused', () => {
  const d = new Doc();
  const r = d.register('title');
  assert.equal(r.value, undefined);
  for (const v of [null, true, 3, 2.5, 'x', [1, [2, { a: 'b' }]], { nested: { deep: [null] } }]) {
    r.set(v);
    assert.deepEqual(r.value, v);
  }
  const cyclic = {};
  cyclic.self = cyclic;
  let deep = 1;
  for (let i = 0; i < 65; i++) deep = [deep];
  for (const bad of [undefined, () => 1, Symbol('s'), 10n, cyclic, deep, NaN, -Infinity]) {
    throwsCode(assert, () => r.set(bad), 'BAD_VALUE');
  }
  assert.deepEqual(r.value, { nested: { deep: [null] } });
  r.set({ a: undefined, b: [undefined, () => 1], d: new Date(0), n: -0, big: 2 ** 60 });
  assert.deepEqual(r.value, JSON.parse(JSON.stringify({ a: undefined, b: [undefined, () => 1], d: new Date(0), n: -0, big: 2 ** 60 })));
  let ok = 1;
  for (let i = 0; i < 64; i++) ok = [ok];
  r.set(ok);
  assert.deepEqual(r.value, ok);
});

test('register: concurrent writes, the later stamp wins on both replicas', () => {
  const a = new Doc({ replicaId: uuid(1), nowMs: T0 });
  const b = new Doc({ replicaId: uuid(2), nowMs: T0 + 10 });
  a.register('title').set('from a');
  b.register('title').set('from b');
  mesh([a, b]);
  pump([a, b]);
  assert.equal(a.register('title').value, 'from b');
  assert.deepEqual(a.toJSON(), b.toJSON());
});

test('flag: enable, disable, enable wins over a concurrent disable', () => {
  const a = new Doc();
  const b = new Doc();
  const f = a.flag('done');
  assert.equal(f.value, false);
  f.enable();
  assert.equal(f.value, true);
  mesh([a, b]);
  pump([a, b]);
  a.flag('done').disable();
  b.flag('done').enable();
  pump([a, b]);
  assert.equal(a.flag('done').value, true);
  assert.equal(b.flag('done').value, true);
  b.flag('done').disable();
  pump([a, b]);
  assert.equal(a.flag('done').value, false);
});

test('map: nested accessors, delete, toJSON, path limit', () => {
  const d = new Doc();
  const task = d.map('tasks').map('t1');
  task.register('title').set('write tests');
  task.flag('done').enable();
  task.counter('votes').increment(2);
  task.set('labels').add('wasm');
  assert.deepEqual(d.toJSON(), {
    tasks: { t1: { done: true, labels: ['wasm'], title: 'write tests', votes: 2 } },
  });
  assert.deepEqual(d.map('tasks').toJSON(), { t1: { done: true, labels: ['wasm'], title: 'write tests', votes: 2 } });
  task.delete('votes');
  assert.deepEqual(task.toJSON(), { done: true, labels: ['wasm'], title: 'write tests' });
  d.map('tasks').delete('t1');
  assert.deepEqual(d.toJSON(), {}); // a map with nothing left is gone
  assert.deepEqual(d.map('nothing').toJSON(), {});
  let m = d.map('m0');
  for (let i = 1; i < 31; i++) m = m.map(`m${i}`);
  m.counter('deep').increment(); // 32 names: the limit
  const last = m.map('m31'); // 32 names
  throwsCode(assert, () => last.map('too-deep'), 'PATH');
  throwsCode(assert, () => last.counter('too-deep'), 'PATH');
});

test('deep paths and deep values survive save/load and sync', () => {
  const a = new Doc();
  let m = a.map('m0');
  for (let i = 1; i < 31; i++) m = m.map(`m${i}`);
  let v = 'leaf';
  for (let i = 0; i < 64; i++) v = { k: v };
  m.register('v').set(v);
  const b = new Doc();
  mesh([a, b]);
  pump([a, b]);
  assert.deepEqual(b.toJSON(), a.toJSON());
  assert.deepEqual(Doc.load(a.save()).toJSON(), a.toJSON());
});

test('delete: removes a top-level field of every kind', () => {
  const d = new Doc();
  d.counter('x').increment();
  d.register('x').set(1);
  d.counter('y').increment();
  assert.deepEqual(d.toJSON(), { 'x#counter': 1, 'x#register': 1, y: 1 });
  d.delete('x');
  d.delete('never-there');
  assert.deepEqual(d.toJSON(), { y: 1 });
});

test('connect/disconnect/receive/poll: two replicas sync; peer ids checked', () => {
  const a = new Doc();
  const b = new Doc();
  a.counter('likes').increment(2);
  a.connect(b.replicaId);
  const hello = a.poll();
  assert.equal(hello.to, b.replicaId);
  assert.ok(hello.bytes instanceof Uint8Array);
  b.receive(a.replicaId, hello.bytes);
  pump([a, b]);
  assert.deepEqual(b.toJSON(), { likes: 2 });
  assert.equal(a.poll(), undefined);
  a.disconnect(b.replicaId);
  a.counter('likes').increment();
  assert.equal(a.poll(), undefined);
  throwsCode(assert, () => a.connect('x'), 'BAD_PEER_ID');
  throwsCode(assert, () => a.disconnect(''), 'BAD_PEER_ID');
  throwsCode(assert, () => b.receive('zz', hello.bytes), 'BAD_PEER_ID');
  throwsCode(assert, () => b.receive(b.replicaId, hello.bytes), 'SELF_ID');
  throwsCode(assert, () => new Doc().receive(b.replicaId, hello.bytes), 'PEER_MISMATCH');
});

test('connect: TOO_MANY_PEERS past the engine limit (1024)', () => {
  const d = new Doc();
  for (let i = 1; i <= 1024; i++) d.connect(uuid(i));
  d.connect(uuid(5)); // known peers are fine
  throwsCode(assert, () => d.connect(uuid(2000)), 'TOO_MANY_PEERS');
  assert.equal(d.stats().peers.length, 1024);
});

test('tick: an unacknowledged message is retransmitted after 1 s', () => {
  const a = new Doc();
  const b = new Doc();
  a.tick(0);
  mesh([a, b]);
  pump([a, b]);
  a.counter('c').increment();
  assert.ok(a.poll()); // lost
  assert.equal(a.poll(), undefined);
  a.tick(500);
  assert.equal(a.poll(), undefined);
  a.tick(1000);
  const again = a.poll();
  assert.ok(again);
  assert.equal(a.stats().retransmissions, 1);
  b.receive(a.replicaId, again.bytes);
  pump([a, b]);
  assert.deepEqual(b.toJSON(), { c: 1 });
  a.tick(); // Date.now()
  a.tick(-1); // a negative or NaN time reads as 0 (time never goes backwards)
  a.tick(NaN);
});

test('pollTimeout: the retransmission deadline, undefined when idle', () => {
  const a = new Doc();
  const b = new Doc();
  assert.equal(a.pollTimeout(), undefined); // no peers
  a.tick(100);
  b.tick(100);
  mesh([a, b]);
  pump([a, b]);
  assert.equal(a.pollTimeout(), undefined); // greeted, nothing unacknowledged
  a.counter('c').increment();
  assert.ok(a.poll()); // lost
  assert.equal(a.pollTimeout(), 1100);
  a.tick(1099);
  assert.equal(a.poll(), undefined); // not yet due
  a.tick(1100);
  const again = a.poll();
  assert.ok(again);
  b.receive(a.replicaId, again.bytes);
  pump([a, b]);
  assert.equal(a.pollTimeout(), undefined);
  assert.deepEqual(b.toJSON(), { c: 1 });
});

test('stats: plain object, numbers, peer ids as strings', () => {
  const a = new Doc();
  const b = new Doc();
  mesh([a, b]);
  a.set('s').add('x');
  pump([a, b]);
  const s = a.stats();
  assert.equal(typeof s.sent.total.bytes, 'number');
  assert.ok(s.sent.total.messages >= 2);
  assert.equal(s.peers[0].peer, b.replicaId);
  assert.equal(s.peers[0].connected, true);
  assert.equal(s.peers[0].lag, 0);
  assert.equal(s.fullStates.total, 0);
  assert.deepEqual(Object.keys(s).sort(), ['bufferedBytes', 'bufferedDeltas', 'decodeErrors', 'driftRejections',
    'evictions', 'fullStates', 'peers', 'received', 'retransmissions', 'sent']);
  assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  const kinds = ['hello', 'delta', 'state', 'chunk', 'ack', 'invalid', 'total'];
  for (const t of [s.sent, s.received]) {
    assert.deepEqual(Object.keys(t), kinds);
    assert.equal(t.total.bytes, kinds.slice(0, 6).reduce((sum, k) => sum + t[k].bytes, 0));
  }
  assert.deepEqual(Object.keys(s.peers[0]),
    ['peer', 'connected', 'acked', 'lag', 'fullStates', 'sent', 'received']);
  assert.deepEqual(Object.keys(s.fullStates), ['newPeer', 'restart', 'evicted', 'total']);
  assert.equal(typeof s.peers[0].acked, 'number');
  assert.equal(s.sent.total.bytes, s.peers[0].sent.bytes);
  // A peer that never acknowledged anything: acked is null, and its lag is every sequence number.
  const c = new Doc();
  c.counter('n').increment();
  c.connect(uuid(9));
  const [p] = c.stats().peers;
  assert.equal(p.peer, uuid(9));
  assert.equal(p.connected, false);
  assert.equal(p.acked, null);
  assert.equal(p.lag, 1);
});

test('save/resume: round trip keeps id and state; peers then sync; bad saves refused', () => {
  const a = new Doc();
  a.counter('n').increment(4);
  a.register('r').set({ k: 'v' });
  const bytes = a.save();
  assert.ok(bytes instanceof Uint8Array);
  const a2 = Doc.resume(bytes);
  assert.equal(a2.replicaId, a.replicaId);
  assert.deepEqual(a2.toJSON(), a.toJSON());
  // Same id, sequence number and clock: the save's bytes before the document are equal. The
  // document's own bytes may list map entries in another order (hash order), so it is compared
  // by value. A save is "DC", version, kind, body, CRC-32; a state frame the same around the
  // document alone, so the document's body is stateBytes() less 8 bytes.
  const head = (d) => { const s = d.save(); return s.slice(0, s.length - 4 - (d.stateBytes().length - 8)); };
  assert.deepEqual(head(a2), head(a), 'a resumed replica is the saved one: same id, seq, clock');
  assert.equal(a2.save().length, bytes.length);
  assert.equal(Doc.resume(bytes, { replicaId: uuid(9) }).replicaId, a.replicaId);
  assert.deepEqual(Doc.resume(bytes, { nowMs: T0 }).toJSON(), a.toJSON());
  const b = new Doc();
  mesh([a2, b]);
  a2.counter('n').increment();
  pump([a2, b]);
  assert.deepEqual(b.toJSON(), { n: 5, r: { k: 'v' } });
  const flipped = bytes.slice();
  flipped[10] ^= 1;
  const frame = (() => { const x = new Doc(); x.connect(b.replicaId); return x.poll().bytes; })();
  for (const open of [Doc.load, Doc.resume]) {
    throwsCode(assert, () => open(new Uint8Array()), 'BAD_SAVE');
    throwsCode(assert, () => open(bytes.slice(0, bytes.length - 1)), 'BAD_SAVE');
    throwsCode(assert, () => open(flipped), 'BAD_SAVE');
    throwsCode(assert, () => open(frame), 'BAD_SAVE');
    throwsCode(assert, () => open(bytes, 5), 'BAD_OPTION');
  }
});

test('load: one save loaded twice is two replicas with fresh ids that converge; the save is unchanged', () => {
  const a = new Doc();
  a.counter('n').increment(4);
  a.set('tags').add('x');
  a.register('r').set('first');
  const bytes = a.save();
  const pristine = bytes.slice();
  const tab1 = Doc.load(bytes);
  const tab2 = Doc.load(bytes);
  const ids = new Set([a.replicaId, tab1.replicaId, tab2.replicaId]);
  assert.equal(ids.size, 3, 'every load takes a fresh replica id');
  assert.deepEqual(bytes, pristine, 'loading does not change the bytes');
  assert.deepEqual(tab1.toJSON(), a.toJSON());
  assert.deepEqual(tab2.toJSON(), a.toJSON());
  assert.equal(Doc.load(bytes, { replicaId: uuid(9) }).replicaId, uuid(9));
  // Concurrent edits in both tabs, including the same counter and set: nothing is lost.
  tab1.counter('n').increment(1);
  tab2.counter('n').increment(10);
  tab1.set('tags').add('one');
  tab2.set('tags').add('two');
  tab2.set('tags').delete('x');
  tab1.register('r').set('tab1');
  mesh([tab1, tab2]);
  pump([tab1, tab2]);
  assert.deepEqual(tab1.toJSON(), tab2.toJSON());
  const merged = tab1.toJSON();
  assert.equal(merged.n, 15, 'both increments count on top of the saved 4');
  assert.deepEqual([...merged.tags].sort(), ['one', 'two']);
  assert.equal(merged.r, 'tab1');
  // The original replica (still live) syncs with both and agrees; the save still decodes to the
  // saved state.
  for (const tab of [tab1, tab2]) {
    a.connect(tab.replicaId);
    tab.connect(a.replicaId);
  }
  pump([a, tab1, tab2]);
  assert.deepEqual(a.toJSON(), merged);
  assert.deepEqual(Doc.resume(pristine).toJSON(), { n: 4, tags: ['x'], r: 'first' });
});

test('subscribe: local and remote changes, unsubscribe, re-entrant edits, throwing callbacks', () => {
  const a = new Doc();
  const b = new Doc();
  let seen = 0;
  const un = a.subscribe(() => { seen++; });
  a.counter('c').increment();
  assert.equal(seen, 1);
  mesh([a, b]);
  b.counter('c').increment();
  pump([a, b]);
  assert.equal(seen, 2);
  un();
  un(); // twice is fine
  a.counter('c').increment();
  assert.equal(seen, 2);
  // A callback that edits, reads, saves and subscribes while being called.
  let depth = 0;
  const un2 = a.subscribe(() => {
    depth++;
    assert.equal(typeof a.toJSON(), 'object');
    a.save();
    a.stats();
    if (depth < 3) a.counter('c').increment();
  });
  const un3 = a.subscribe(() => { throw new Error('subscriber bug'); });
  a.counter('c').increment();
  assert.equal(depth, 3);
  assert.equal(a.counter('c').value, 6);
  un2();
  un3();
});

test('set.addAll / deleteAll: one change, one delta, checked first', () => {
  const [a, b] = [new Doc(), new Doc()];
  mesh([a, b]);
  pump([a, b]);
  const events = [];
  a.subscribe((e) => events.push(e));
  a.set('ids').addAll([1, 2, 3, 'four', true]);
  assert.equal(events.length, 1, 'one change event');
  const frames = [];
  for (let t = a.poll(); t; t = a.poll()) frames.push(t);
  assert.equal(frames.length, 1, 'one frame to the peer');
  b.receive(a.replicaId, frames[0].bytes);
  assert.deepEqual(b.set('ids').values(), a.set('ids').values());
  assert.equal(a.set('ids').values().length, 5);
  const before = a.save();
  throwsCode(assert, () => a.set('ids').addAll([5, { no: 'objects' }]), 'BAD_VALUE');
  assert.deepEqual(a.save(), before, 'a bad element: nothing added');
  a.set('ids').deleteAll([1, 2, 'four']);
  assert.deepEqual(a.set('ids').values().sort(), [3, true].sort());
  pump([a, b]);
  assert.deepEqual(b.toJSON(), a.toJSON());
});

test('subscribe: each change says where it came from', () => {
  const a = new Doc();
  const b = new Doc();
  const events = [];
  const un = a.subscribe((e) => events.push(e));
  a.counter('c').increment();
  mesh([a, b]);
  b.set('tags').add('x');
  pump([a, b]);
  un();
  assert.deepEqual(events, [{ origin: 'local' }, { origin: 'remote', peer: b.replicaId }]);
});

test('subscribeSync: a peer falls behind on an edit and catches up with its acknowledgement', () => {
  const [a, b, c] = [new Doc(), new Doc(), new Doc()];
  const events = [];
  const un = a.subscribeSync((e) => events.push(e));
  mesh([a, b, c]);
  pump([a, b, c]);
  assert.deepEqual(
    events.map((e) => [e.peer, e.acked, e.synced]).sort(),
    [[b.replicaId, null, true], [c.replicaId, null, true]].sort(),
  );
  events.length = 0;
  a.register('title').set('hello');
  // Both peers are behind now: one event each.
  assert.deepEqual(events.map((e) => e.synced), [false, false]);
  events.length = 0;
  // Only b hears it: b acknowledges, c does not.
  for (let t = a.poll(); t; t = a.poll()) if (t.to === b.replicaId) b.receive(a.replicaId, t.bytes);
  for (let t = b.poll(); t; t = b.poll()) if (t.to === a.replicaId) a.receive(b.replicaId, t.bytes);
  assert.deepEqual(events, [{ peer: b.replicaId, acked: 1, synced: true }]);
  const state = Object.fromEntries(a.syncState().map((s) => [s.peer, s.synced]));
  assert.deepEqual(state, { [b.replicaId]: true, [c.replicaId]: false });
  events.length = 0;
  a.disconnect(c.replicaId);
  a.connect(c.replicaId);
  // A peer that forgot its acknowledgements is behind again: told once, not repeated.
  assert.deepEqual(events.map((e) => [e.peer, e.synced]), [[c.replicaId, false]]);
  un();
  a.register('title').set('again');
  assert.equal(events.length, 1);
});

test('hidden interop helpers: stateBytes / decodeState', () => {
  const d = new Doc();
  d.counter('likes').increment(3);
  assert.deepEqual(Doc.decodeState(d.stateBytes()), { likes: 3 });
  const future = d.stateBytes();
  future[2] = 9; // the format version byte
  throwsCode(assert, () => Doc.decodeState(future), 'INCOMPATIBLE');
  throwsCode(assert, () => Doc.decodeState(new Uint8Array([1, 2, 3, 4])), 'DECODE');
});

test('CLOCK_DRIFT: a frame from a clock 10 min ahead is refused, doc unchanged', () => {
  const fast = new Doc({ nowMs: T0 + 600_000 });
  const me = new Doc({ nowMs: T0 });
  mesh([fast, me]);
  pump([fast, me]);
  fast.register('r').set('from the future');
  const t = fast.poll();
  const before = me.save();
  throwsCode(assert, () => me.receive(fast.replicaId, t.bytes), 'CLOCK_DRIFT');
  assert.deepEqual(me.save(), before);
  assert.equal(me.stats().driftRejections, 1);
  const tolerant = new Doc({ nowMs: T0, maxDriftMs: 3_600_000 });
  mesh([fast, tolerant]);
  pump([fast, tolerant]);
  assert.equal(tolerant.register('r').value, 'from the future');
});

test('freed docs throw instead of touching freed memory', () => {
  const d = new Doc();
  const c = d.counter('x');
  d.free();
  c.increment(); // a ref keeps the replica alive
  assert.equal(c.value, 1);
  assert.throws(() => d.toJSON());
});
