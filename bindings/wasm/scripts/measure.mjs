// Prints the package's sizes (raw and gzip -9: the module, its glue, the JS channel) and the time to compile and instantiate the
// optimised module in Node (median of fresh processes), and fails if the module is over its
// budget: 200,000 bytes (the npm package's size target; scripts/toolchain.env pins the nightly
// so the size moves only with the code).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.join(here, '..', 'pkg', 'web');
const wasm = path.join(web, 'deltacrdt_wasm_bg.wasm');

if (process.argv[2] === '--once') {
  const { initSync, Doc } = await import(path.join(web, 'deltacrdt_wasm.js'));
  const bytes = fs.readFileSync(wasm);
  const t = performance.now();
  initSync({ module: bytes });
  const ms = performance.now() - t;
  new Doc().counter('x').increment(); // it works
  console.log(ms.toFixed(2));
  process.exit(0);
}

const raw = fs.statSync(wasm).size;
const gz = zlib.gzipSync(fs.readFileSync(wasm), { level: 9 }).length;
const BUDGET = 200_000;
const snippets = path.join(web, 'snippets');
const snippetBytes = fs.readdirSync(snippets, { recursive: true })
  .map((f) => path.join(snippets, f))
  .filter((f) => fs.statSync(f).isFile())
  .reduce((sum, f) => sum + fs.statSync(f).size, 0);
const glue = fs.statSync(path.join(web, 'deltacrdt_wasm.js')).size + snippetBytes;
const runs = Array.from({ length: 7 }, () =>
  Number(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--once']).toString().trim()));
runs.sort((a, b) => a - b);
const median = runs[Math.floor(runs.length / 2)];
const channel = fs.readFileSync(path.join(here, '..', 'channel', 'index.mjs'));
console.log(`wasm: ${raw} B raw, ${gz} B gzip -9 (budget ${BUDGET} B raw); JS glue (web, with snippets) ${glue} B`);
console.log(`channel/index.mjs (SecureChannel, unminified with its comments): ${channel.length} B, ${zlib.gzipSync(channel, { level: 9 }).length} B gzip -9`);
console.log(`node ${process.version}: compile + instantiate (initSync) median ${median.toFixed(1)} ms of ${runs.length} fresh processes (min ${runs[0].toFixed(1)}, max ${runs.at(-1).toFixed(1)})`);
if (raw > BUDGET) {
  console.error(`the module is ${raw - BUDGET} B over its ${BUDGET} B budget`);
  process.exit(1);
}
