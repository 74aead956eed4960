// The package's entry for Node's require(): the nodejs build, which instantiates its module
// when required, with `init` and `initSync` beside it (they resolve at once), so code written
// for the web build — `await init()` first — runs unchanged in Node.
'use strict';
const wasm = require('../pkg/node/deltacrdt_wasm.js');

async function init() {
  return wasm;
}

function initSync() {
  return wasm;
}

module.exports = { ...wasm, default: init, init, initSync };
