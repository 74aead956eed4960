// Checks and reports what `npm pack` would publish (run by scripts/ci.sh after the build): a
// gate for a publishable package — not `private`, the licences in it, the module shipped once
// (the nodejs glue loads pkg/web's), every file the `exports` and `types` name present, and every
// relative link of the README resolving to a file in the tarball — then the tarball and
// unpacked sizes, the file count and the module. Exits non-zero, listing each failure.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: here, encoding: 'utf8' });
const [pack] = JSON.parse(out);
const files = new Set(pack.files.map((f) => f.path));
const manifest = JSON.parse(readFileSync(path.join(here, 'package.json'), 'utf8'));
const failures = [];

if (manifest.private) failures.push('package.json is "private"');
for (const license of ['LICENSE-MIT', 'LICENSE-APACHE']) {
  if (!files.has(license)) failures.push(`${license} is not in the package`);
}
const modules = pack.files.filter((f) => f.path.endsWith('.wasm'));
if (modules.length !== 1) {
  failures.push(`${modules.length} wasm modules shipped (${modules.map((f) => f.path).join(', ')}), want 1`);
}
// Every path the manifest points at.
const targets = [];
const walk = (v) => {
  if (typeof v === 'string') targets.push(v);
  else if (v && typeof v === 'object') Object.values(v).forEach(walk);
};
walk(manifest.exports);
walk([manifest.main, manifest.types]);
for (const t of targets) {
  const p = path.posix.normalize(t);
  if (!files.has(p)) failures.push(`package.json names ${t}, which is not in the package`);
}
// README links (not URLs, not anchors) must resolve inside the tarball.
const readme = readFileSync(path.join(here, 'README.md'), 'utf8');
for (const [, target] of readme.matchAll(/\]\(([^)\s]+)\)/g)) {
  if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
  const p = path.posix.normalize(target.split('#')[0]);
  if (!files.has(p)) failures.push(`README links to ${target}, which is not in the package`);
}

console.log(
  `npm pack: ${pack.entryCount} files, ${pack.size} B tarball, ${pack.unpackedSize} B unpacked; ` +
    `modules: ${modules.map((f) => `${f.path} ${f.size} B`).join(', ')}`,
);
if (failures.length) {
  console.error(`npm pack check failed:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log('npm pack check: publishable (not private, licences in, one module, exports and README links resolve)');
