// Randomized convergence: 3–5 replicas edit at random over a network that drops, duplicates
// and reorders messages and partitions replicas; once healed, every toJSON() is equal.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Doc, prng, seed, mesh } from './support.mjs';

const pick = (rand, xs) => xs[Math.floor(rand() * xs.length)];

function randomEdit(rand, d) {
  const names = ['a', 'b', 'c'];
  const target = rand() < 0.4 ? d.map(pick(rand, ['t1', 't2'])) : d;
  const name = pick(rand, names);
  switch (Math.floor(rand() * 9)) {
    case 0: target.counter(name).increment(1 + Math.floor(rand() * 5)); break;
    case 1: target.counter(name).decrement(); break;
    case 2: target.set(name).add(pick(rand, ['x', 'y', 'z', 1, 2, true])); break;
    case 3: target.set(name).delete(pick(rand, ['x', 'y', 'z', 1, 2, true])); break;
    case 4: target.register(name).set(pick(rand, ['v1', 2, null, { k: [1, 'two'] }, [true]])); break;
    case 5: target.flag(name).enable(); break;
    case 6: target.flag(name).disable(); break;
    case 7: target.delete(name); break;
    default: if (rand() < 0.3) d.delete(pick(rand, ['t1', 't2'])); else target.counter('n').increment(); break;
  }
}

function run(s) {
  const rand = prng(s);
  const n = 3 + Math.floor(rand() * 3);
  let now = 1_700_000_000_000;
  const docs = Array.from({ length: n }, () => new Doc());
  const byId = new Map(docs.map((d) => [d.replicaId, d]));
  mesh(docs);
  const offline = new Set();
  let pool = [];
  const stats = { sent: 0, dropped: 0, duplicated: 0, delivered: 0, refused: {} };
  const deliver = (m) => {
    if (offline.has(m.from) || offline.has(m.to)) { stats.dropped++; return; }
    try {
      byId.get(m.to).receive(m.from, m.bytes);
      stats.delivered++;
    } catch (e) {
      assert.ok(typeof e.code === 'string', `uncoded error: ${e}`);
      stats.refused[e.code] = (stats.refused[e.code] || 0) + 1;
    }
  };
  for (let step = 0; step < 400; step++) {
    const r = rand();
    if (r < 0.35) {
      randomEdit(rand, pick(rand, docs));
    } else if (r < 0.40) {
      const d = pick(rand, docs).replicaId;
      if (offline.has(d)) offline.delete(d); else offline.add(d);
    } else if (r < 0.45) {
      now += Math.floor(rand() * 1500);
      for (const d of docs) d.tick(now);
    }
    for (const d of docs) {
      for (let t = d.poll(); t; t = d.poll()) {
        stats.sent++;
        if (rand() < 0.2) { stats.dropped++; continue; }
        const m = { from: d.replicaId, to: t.to, bytes: t.bytes };
        pool.push(m);
        if (rand() < 0.1) { pool.push(m); stats.duplicated++; }
      }
    }
    // Deliver a random subset in random order.
    const k = Math.floor(rand() * (pool.length + 1));
    for (let i = 0; i < k && pool.length; i++) {
      const j = Math.floor(rand() * pool.length);
      const [m] = pool.splice(j, 1);
      deliver(m);
    }
  }
  // Heal: everyone online, the pool delivered late, then a reliable network with ticks.
  offline.clear();
  for (const m of pool) deliver(m);
  pool = [];
  let rounds = 0;
  const same = () => docs.every((d) => JSON.stringify(d.toJSON()) === JSON.stringify(docs[0].toJSON()));
  for (; rounds < 200; rounds++) {
    now += 1000;
    let quiet = true;
    for (const d of docs) {
      d.tick(now);
      for (let t = d.poll(); t; t = d.poll()) { quiet = false; deliver({ from: d.replicaId, to: t.to, bytes: t.bytes }); }
    }
    if (quiet && same()) break;
  }
  return { n, rounds, stats, docs };
}

test('3–5 replicas converge after drops, duplicates, reordering and partitions', () => {
  const base = seed('convergence');
  for (let i = 0; i < 20; i++) {
    const s = (base + i) >>> 0;
    const { n, rounds, stats, docs } = run(s);
    const first = JSON.stringify(docs[0].toJSON());
    for (const d of docs) {
      assert.equal(JSON.stringify(d.toJSON()), first, `seed ${s}: replicas differ after healing`);
    }
    if (i < 3) console.log(`seed ${s}: ${n} replicas, healed in ${rounds} rounds, ${JSON.stringify(stats)}`);
  }
});
