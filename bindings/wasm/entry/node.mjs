// The package's entry for Node's import: the nodejs build (instantiated on load) re-exported,
// with `init` (the default export) and `initSync` resolving at once, so one
// `import init, { Doc } from 'deltacrdt-wasm'; await init();` works in Node and in browsers.
export * from '../pkg/node/deltacrdt_wasm.js';
import wasm from '../pkg/node/deltacrdt_wasm.js';

export default async function init() {
  return wasm;
}

export function initSync() {
  return wasm;
}
