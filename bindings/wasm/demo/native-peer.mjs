// Helpers shared by the tests that run native peers of the p2p demo (demo/native.mjs in
// Chromium, test/websocket.test.mjs in Node): the binary, a peer in prompt mode, `p2p keygen`
// and allow-list files.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The p2p example (`cargo build --release --features tokio,redb --example p2p`); P2P_BIN overrides it. */
export const bin = process.env.P2P_BIN || path.join(here, '..', '..', '..', 'target', 'release', 'examples', 'p2p');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A native peer in prompt mode: each command's reply is what it prints before the next `> `.
 * With `mode` 'serve', the sync server (`p2p serve`): no prompt; start it with `serving()`.
 */
export class NativePeer {
  constructor(name, args, mode = 'peer') {
    this.name = name;
    this.out = '';
    this.err = '';
    const argv = mode === 'serve' ? ['serve', ...args] : ['peer', '--name', name, ...args];
    this.child = spawn(bin, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d) => { this.out += d; });
    this.child.stderr.on('data', (d) => { this.err += d; });
    this.exited = new Promise((r) => this.child.on('exit', r));
    this.queue = Promise.resolve();
  }

  /** Waits until the output from `from` on ends with the prompt; returns the text before it. */
  async until(from, ms = 30000) {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) {
      if (this.out.endsWith('> ') && this.out.length > from) return this.out.slice(from, -2).trim();
      if (this.child.exitCode !== null) break;
    }
    throw new Error(`${this.name}: no prompt; stdout:\n${this.out}\nstderr:\n${this.err.slice(-2000)}`);
  }

  /** Starts the sync server (`mode` 'serve'): its replica id and addresses from the banner. */
  async serving(ms = 30000) {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) {
      if (this.out.includes('serving until interrupted')) return this.parse(this.out);
      if (this.child.exitCode !== null) break;
    }
    throw new Error(`${this.name}: not serving; stdout:\n${this.out}\nstderr:\n${this.err.slice(-2000)}`);
  }

  /** Stops it as an operator would (SIGTERM): it flushes its store and exits. */
  stop() {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }

  /** Starts the peer: its replica id and addresses from the banner. */
  async ready() {
    this.parse(await this.until(0));
  }

  parse(banner) {
    this.id = banner.match(/^peer ([0-9a-f-]{36}) listening on (\S+) \(tcp\)/m)?.[1];
    this.tcp = banner.match(/listening on (\S+) \(tcp\)/)?.[1];
    this.ws = banner.match(/and on (ws:\/\/\S+) \(websocket\)/)?.[1];
    assert.ok(this.id && this.tcp, `${this.name}: unexpected banner ${banner}`);
  }

  /** Runs one prompt command; resolves to its reply (commands are serialized). */
  command(line) {
    const run = async () => {
      const from = this.out.length;
      this.child.stdin.write(`${line}\n`);
      return this.until(from);
    };
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  /** The document as `show` prints it (`serde_json::to_string_pretty` of `Doc::to_json`). */
  async show() {
    return JSON.parse(await this.command('show'));
  }

  kill() {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Polls `f` until it returns true; fails with `what()` after `ms`. */
export async function eventually(f, what, ms = 30000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (await f()) return;
  throw new Error(`timed out: ${await what()}`);
}

/** `p2p keygen` into `dir`: a secret key file and its public key, as the only line printed. */
export function keygen(dir, name) {
  const file = path.join(dir, `${name}.key`);
  const out = execFileSync(bin, ['keygen', file], { encoding: 'utf8' });
  assert.match(out, /^[0-9a-f]{64}\n$/, `p2p keygen prints the public key alone: ${out}`);
  const secret = fs.readFileSync(file, 'utf8');
  assert.match(secret, /^[0-9a-f]{64}\n$/, 'a secret key file is 64 hex digits and a newline');
  return { file, publicKey: out.trim(), secret: secret.trim() };
}

/** An allow-list file in `dir` naming each key. */
export function allowFile(dir, name, keys) {
  const file = path.join(dir, `${name}.allow`);
  fs.writeFileSync(file, `# who may join ${name}\n${Object.entries(keys).map(([n, k]) => `${k.publicKey} ${n}`).join('\n')}\n`);
  return file;
}
