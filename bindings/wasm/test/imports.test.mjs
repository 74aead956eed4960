// The package's one import story, by its own name (Node resolves a package's name from inside
// it through `exports`): `import init, { Doc }` then `await init()` in ESM, and require() in
// CommonJS, each with a working Doc; and `deltacrdt-wasm/channel` both ways, one module behind both. Browsers get the web build through the same name (the
// `browser`/`import` conditions; demo/e2e.mjs loads it in Chromium).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import init, { Doc, initSync } from 'deltacrdt-wasm';
import * as channel from 'deltacrdt-wasm/channel';

import { mesh, pump } from './support.mjs';

test('ESM: import init, { Doc } from the package name; init() resolves', async () => {
  await init();
  initSync();
  const doc = new Doc();
  doc.counter('likes').increment(2);
  assert.equal(doc.counter('likes').value, 2);
});

test('CommonJS: require() of the package name gives Doc, init and initSync', async () => {
  const require = createRequire(import.meta.url);
  const m = require('deltacrdt-wasm');
  assert.equal(typeof m.default, 'function');
  assert.equal(typeof m.init, 'function');
  await m.init();
  m.initSync();
  const doc = new m.Doc();
  doc.set('tags').add('x');
  assert.deepEqual(doc.set('tags').values(), ['x']);
  // One module instance behind both entries: documents of either sync with each other.
  const other = new Doc();
  mesh([doc, other]);
  pump([doc, other]);
  assert.deepEqual(other.set('tags').values(), ['x']);
});

test('deltacrdt-wasm/channel: import and require give the same SecureChannel, which works', async () => {
  const require = createRequire(import.meta.url);
  const viaRequire = require('deltacrdt-wasm/channel');
  assert.equal(viaRequire.SecureChannel, channel.SecureChannel, 'one module behind both entries');
  const [a, b] = await Promise.all([channel.generateIdentity(), viaRequire.generateIdentity()]);
  const side = async (identity, role, peer) => new channel.SecureChannel({
    identity, role, replicaId: await channel.replicaIdFor(identity.publicKey), allow: [peer.publicKey],
  });
  const [i, r] = await Promise.all([side(a, 'initiator', b), side(b, 'responder', a)]);
  assert.equal(await r.read(await i.read(await r.read(await i.start()))), null);
  assert.deepEqual(await r.open(await i.seal(new Uint8Array([7]))), new Uint8Array([7]));
});

test('deltacrdt-wasm/websocket: import and require give the same WebSocketProvider, on the one channel module', async () => {
  const require = createRequire(import.meta.url);
  const viaImport = await import('deltacrdt-wasm/websocket');
  const viaRequire = require('deltacrdt-wasm/websocket');
  assert.equal(viaRequire.WebSocketProvider, viaImport.WebSocketProvider, 'one module behind both entries');
  assert.equal(typeof viaImport.WebSocketProvider.open, 'function');
  assert.equal(require('deltacrdt-wasm/channel').SecureChannel, channel.SecureChannel);
});
