// The package's one import story, by its own name (Node resolves a package's name from inside
// it through `exports`): `import init, { Doc }` then `await init()` in ESM, and require() in
// CommonJS, each with a working Doc. Browsers get the web build through the same name (the
// `browser`/`import` conditions; demo/e2e.mjs loads it in Chromium).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import init, { Doc, initSync } from 'deltacrdt-wasm';

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
