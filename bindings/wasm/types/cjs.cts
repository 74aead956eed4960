// Type-checked under node16 and nodenext resolution: the package required from CommonJS.
import wasm = require('deltacrdt-wasm');

export async function cjs(): Promise<number> {
  await wasm.default();
  const doc = new wasm.Doc();
  doc.counter('likes').increment(1);
  return doc.counter('likes').value;
}
