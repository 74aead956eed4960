// The README's usage example runs as written (the import lines aside) and prints what it says.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { fileURLToPath } from 'node:url';
import { Doc } from './support.mjs';

test('README usage example', () => {
  const readme = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'README.md'), 'utf8');
  const block = readme.match(/```js\n([\s\S]*?)```/)[1];
  const body = block.split('\n').filter((l) => !/^(import |await init\(\))/.test(l)).join('\n');
  const printed = [];
  const console = { log: (...xs) => printed.push(xs.map((x) => util.inspect(x, { depth: 5 })).join(' ')) };
  new Function('Doc', 'console', body)(Doc, console);
  const promised = block.match(/console\.log\(bob\.toJSON\(\)\); \/\/ (.*)/)[1];
  assert.equal(printed.join('\n'), promised);
});
