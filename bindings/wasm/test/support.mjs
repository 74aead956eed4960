// Shared helpers of the Node tests: the package (the --target nodejs build), a seeded PRNG,
// hex helpers and a lossless message pump.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const pkgDir = process.env.PKG_DIR || path.join(here, '..', 'pkg', 'node');
export const wasm = require(path.join(pkgDir, 'deltacrdt_wasm.js'));
export const { Doc } = wasm;

/** The UUID string of `ReplicaId::from_u128(n)`. */
export const uuid = (n) => `00000000-0000-0000-0000-${n.toString(16).padStart(12, '0')}`;

export const T0 = 1_700_000_000_000;

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from DELTACRDT_SEED, or a fresh one; always printed so a failure can be replayed. */
export function seed(name) {
  const s = process.env.DELTACRDT_SEED ? Number(process.env.DELTACRDT_SEED) : (Date.now() ^ (Math.random() * 2 ** 31)) >>> 0;
  console.log(`${name}: seed ${s} (replay with DELTACRDT_SEED=${s})`);
  return s;
}

export const hex = (bytes) => Buffer.from(bytes).toString('hex');
export const unhex = (s) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** Delivers every message between `docs` (all connected pairwise) until none is left. */
export function pump(docs, maxRounds = 1000) {
  const byId = new Map(docs.map((d) => [d.replicaId, d]));
  for (let round = 0; round < maxRounds; round++) {
    let quiet = true;
    for (const d of docs) {
      for (let t = d.poll(); t; t = d.poll()) {
        quiet = false;
        byId.get(t.to)?.receive(d.replicaId, t.bytes);
      }
    }
    if (quiet) return round;
  }
  throw new Error('pump: no quiescence');
}

/** Connects every pair of `docs`. */
export function mesh(docs) {
  for (const a of docs) for (const b of docs) if (a !== b) a.connect(b.replicaId);
}

/** Calls `f`, expecting an Error with `code`; returns the error. */
export function throwsCode(assert, f, code) {
  let err;
  try {
    f();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Error, `expected an Error with code ${code}`);
  assert.equal(err.code, code, `wrong code (message: ${err.message})`);
  return err;
}
