// The npm package against Yjs, Loro and Automerge in one Node run (issue 19's baseline): the
// same adds then deletes of integer ids through each package's public API (a map of id -> true
// where the library has no set), per operation and in one batch where the library has one;
// 100 one-op updates received from a peer; loading the saved document; its size; the shipped
// size. Medians of RUNS runs, each in a fresh document.
//
// Run: node bench/compare.mjs (after scripts/build.sh). DELTACRDT_BENCH_QUICK=1: 20,000 adds,
// 10,000 deletes, one run (what .ci/run does: it checks that every library ends in the same
// state and prints the table, it does not time a target).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import * as Y from 'yjs';
import { LoroDoc } from 'loro-crdt';
import * as Automerge from '@automerge/automerge';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { Doc } = require(path.join(here, '..', 'pkg', 'node', 'deltacrdt_wasm.js'));

const quick = process.env.DELTACRDT_BENCH_QUICK === '1';
const ADDS = quick ? 20_000 : 100_000;
const DELETES = ADDS / 2;
const RUNS = quick ? 1 : 3;
const FRAMES = 100;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Median ms of `RUNS` runs of `f(setup())`; `check` sees the last result. */
function time(setup, f, check) {
  const ms = [];
  let out;
  for (let r = 0; r < RUNS; r++) {
    const input = setup();
    const t = process.hrtime.bigint();
    out = f(input);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  check?.(out);
  return median(ms);
}

/** Each library: `perOp` and `batched` run the workload on a fresh document and return it;
 * `count` says how many ids it holds; `save`/`load`; `frames` makes FRAMES one-add updates on a
 * sender synced with a receiver, and `receive` applies them there. */
const libs = {
  deltacrdt: {
    perOp() {
      const doc = new Doc();
      const s = doc.set('s');
      for (let i = 0; i < ADDS; i++) s.add(i);
      for (let i = 0; i < DELETES; i++) s.delete(i);
      return doc;
    },
    batched() { // bulk forms: one change each (no transaction API yet, issue 19 item 1)
      const doc = new Doc();
      const s = doc.set('s');
      const ids = Array.from({ length: ADDS }, (_, i) => i);
      s.addAll(ids);
      s.deleteAll(ids.slice(0, DELETES));
      return doc;
    },
    count: (doc) => doc.set('s').values().length,
    save: (doc) => doc.save(),
    load: (bytes) => Doc.load(bytes),
    frames() {
      const [a, b] = [new Doc(), new Doc()];
      a.connect(b.replicaId);
      b.connect(a.replicaId);
      const pump = (from, to) => { for (let t = from.poll(); t; t = from.poll()) to.receive(from.replicaId, t.bytes); };
      for (let k = 0; k < 4; k++) { pump(a, b); pump(b, a); }
      const frames = [];
      for (let i = 0; i < FRAMES; i++) {
        a.set('s').add(i);
        for (let t = a.poll(); t; t = a.poll()) frames.push(t.bytes);
        // The receiver acknowledges each, so the next frame carries one add.
        b.receive(a.replicaId, frames.at(-1));
        pump(b, a);
      }
      return { frames, from: a.replicaId, fresh: () => { const r = new Doc(); r.connect(a.replicaId); return r; } };
    },
    receive({ frames, from, fresh }) {
      const r = fresh();
      for (const f of frames) r.receive(from, f);
      return r.set('s').values().length;
    },
  },
  yjs: {
    perOp() {
      const doc = new Y.Doc();
      const m = doc.getMap('s');
      for (let i = 0; i < ADDS; i++) m.set(String(i), true);
      for (let i = 0; i < DELETES; i++) m.delete(String(i));
      return doc;
    },
    batched() {
      const doc = new Y.Doc();
      const m = doc.getMap('s');
      doc.transact(() => {
        for (let i = 0; i < ADDS; i++) m.set(String(i), true);
        for (let i = 0; i < DELETES; i++) m.delete(String(i));
      });
      return doc;
    },
    count: (doc) => doc.getMap('s').size,
    save: (doc) => Y.encodeStateAsUpdate(doc),
    load: (bytes) => { const d = new Y.Doc(); Y.applyUpdate(d, bytes); return d; },
    frames() {
      const a = new Y.Doc();
      const frames = [];
      a.on('update', (u) => frames.push(u));
      for (let i = 0; i < FRAMES; i++) a.getMap('s').set(String(i), true);
      return { frames };
    },
    receive({ frames }) {
      const r = new Y.Doc();
      for (const f of frames) Y.applyUpdate(r, f);
      return r.getMap('s').size;
    },
  },
  loro: {
    perOp() {
      const doc = new LoroDoc();
      const m = doc.getMap('s');
      for (let i = 0; i < ADDS; i++) { m.set(String(i), true); doc.commit(); }
      for (let i = 0; i < DELETES; i++) { m.delete(String(i)); doc.commit(); }
      return doc;
    },
    batched() {
      const doc = new LoroDoc();
      const m = doc.getMap('s');
      for (let i = 0; i < ADDS; i++) m.set(String(i), true);
      for (let i = 0; i < DELETES; i++) m.delete(String(i));
      doc.commit();
      return doc;
    },
    count: (doc) => doc.getMap('s').size,
    save: (doc) => doc.export({ mode: 'snapshot' }),
    load: (bytes) => LoroDoc.fromSnapshot(bytes),
    frames() {
      const a = new LoroDoc();
      const frames = [];
      for (let i = 0; i < FRAMES; i++) {
        const from = a.oplogVersion();
        a.getMap('s').set(String(i), true);
        a.commit();
        frames.push(a.export({ mode: 'update', from }));
      }
      return { frames };
    },
    receive({ frames }) {
      const r = new LoroDoc();
      for (const f of frames) r.import(f);
      return r.getMap('s').size;
    },
  },
  automerge: {
    perOp: null, // one `change` per operation runs at a few hundred per second: not measured
    batched() {
      return Automerge.change(Automerge.init(), (d) => {
        d.s = {};
        for (let i = 0; i < ADDS; i++) d.s[String(i)] = true;
        for (let i = 0; i < DELETES; i++) delete d.s[String(i)];
      });
    },
    count: (doc) => Object.keys(doc.s).length,
    save: (doc) => Automerge.save(doc),
    load: (bytes) => Automerge.load(bytes),
    frames() {
      let a = Automerge.change(Automerge.init(), (d) => { d.s = {}; });
      const frames = [Automerge.getLastLocalChange(a)];
      for (let i = 0; i < FRAMES; i++) {
        a = Automerge.change(a, (d) => { d.s[String(i)] = true; });
        frames.push(Automerge.getLastLocalChange(a));
      }
      return { frames };
    },
    receive({ frames }) {
      const [r] = Automerge.applyChanges(Automerge.init(), frames);
      return Object.keys(r.s).length;
    },
  },
};

const kOps = (ms) => (ms === null ? '—' : `${Math.round(((ADDS + DELETES) / ms))} k ops/s`);
const rows = [];
for (const [name, lib] of Object.entries(libs)) {
  const left = (doc) => assert.equal(lib.count(doc), ADDS - DELETES, `${name}: wrong final size`);
  const perOp = lib.perOp ? time(() => null, () => lib.perOp(), left) : null;
  const batched = lib.batched ? time(() => null, () => lib.batched(), left) : null;
  const doc = (lib.batched ?? lib.perOp)();
  const saved = lib.save(doc);
  const load = time(() => null, () => lib.load(saved), left);
  const receive = time(() => lib.frames(), (f) => lib.receive(f), (n) => assert.equal(n, FRAMES, `${name}: frames`));
  rows.push({ name, perOp, batched, saved: saved.length, load, receive });
}

const pkg = (p) => path.join(here, '..', 'node_modules', p);
const gz = (file) => gzipSync(fs.readFileSync(file), { level: 9 }).length;
const ours = gz(path.join(here, '..', 'pkg', 'web', 'deltacrdt_wasm_bg.wasm')) + gz(path.join(here, '..', 'pkg', 'web', 'deltacrdt_wasm.js'));
const shipped = {
  deltacrdt: `${ours} B (module + glue)`,
  yjs: `${gz(pkg('yjs/dist/yjs.mjs'))} B (dist/yjs.mjs, unminified)`,
  loro: (() => { const f = fs.readdirSync(pkg('loro-crdt/nodejs')).find((x) => x.endsWith('.wasm')); return f ? `${gz(pkg(`loro-crdt/nodejs/${f}`))} B (module)` : '?'; })(),
  automerge: (() => { const d = pkg('@automerge/automerge/dist/automerge.wasm'); return fs.existsSync(d) ? `${gz(d)} B (module)` : '?'; })(),
};

console.log(`npm packages, ${ADDS.toLocaleString('en')} adds then ${DELETES.toLocaleString('en')} deletes of integer ids, median of ${RUNS} (Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString().slice(0, 10)}):`);
console.log('| package | per operation | batched | saved document | load the save | receive 100 one-op updates | shipped, gzip -9 |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const ms = (x) => `${x.toFixed(1)} ms`;
  console.log(`| ${r.name} | ${kOps(r.perOp)} | ${kOps(r.batched)} | ${r.saved.toLocaleString('en')} B | ${ms(r.load)} | ${ms(r.receive)} | ${shipped[r.name]} |`);
}
const y = rows.find((r) => r.name === 'yjs');
const d = rows.find((r) => r.name === 'deltacrdt');
console.log(`deltacrdt / Yjs: per operation ${(y.perOp / d.perOp).toFixed(2)}x, batched (addAll/deleteAll vs one transact) ${(y.batched / d.batched).toFixed(2)}x (targets >= 1.5x); load ${(y.load / d.load).toFixed(2)}x, receive ${(y.receive / d.receive).toFixed(2)}x (targets >= 1x)`);
