// Reports what `npm pack` would publish (run by scripts/ci.sh after the build): the tarball and
// unpacked sizes, the file count, and each module shipped. A report, not a gate yet: the
// package is still `private` and ships the module twice (pkg/web and pkg/node; see issue 16).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: here, encoding: 'utf8' });
const [pack] = JSON.parse(out);
const modules = pack.files.filter((f) => f.path.endsWith('.wasm'));
console.log(
  `npm pack: ${pack.entryCount} files, ${pack.size} B tarball, ${pack.unpackedSize} B unpacked; ` +
    `modules: ${modules.map((f) => `${f.path} ${f.size} B`).join(', ')}`,
);
