// Loopback interop test: a browser page joins native peers of the p2p demo over WebSocket.
//
// Starts two native peers (`p2p peer`, prompt mode) on 127.0.0.1 with the same --key: n1
// listens for WebSocket peers (--ws), n2 dials n1 over TCP. The demo page (replica.html?native=
// ws://…&key=…) runs in headless Chromium and dials n1 itself: the AuthChannel handshake, then
// sealed frames. Edits are made in the page and at both native prompts (`inc`, `add`, `set`);
// all three replicas must converge (native `show` vs the page's `doc.toJSON()`), n1 must list
// the page's replica among its peers, and a page with a wrong key must be refused on both ends
// (AUTH_BAD_PROOF in the page, "wrong key" in n1's stats).
//
// Run: node demo/native.mjs   (after scripts/build.sh and
//      cargo build --release --features tokio,redb --example p2p; P2P_BIN overrides the binary)
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { start } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = process.env.P2P_BIN || path.join(here, '..', '..', '..', 'target', 'release', 'examples', 'p2p');
if (!fs.existsSync(bin)) {
  console.error(`native.mjs: no p2p binary at ${bin}: cargo build --release --features tokio,redb --example p2p`);
  process.exit(1);
}
const KEY = 'loopback interop key';
const results = [];
async function check(name, f) {
  const t = Date.now();
  try {
    await f();
    results.push(true);
    console.log(`ok - ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    results.push(false);
    console.log(`not ok - ${name}\n${e.stack}`);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A native peer in prompt mode: each command's reply is what it prints before the next `> `. */
class NativePeer {
  constructor(name, args) {
    this.name = name;
    this.out = '';
    this.err = '';
    this.child = spawn(bin, ['peer', '--name', name, '--key', KEY, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
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

  /** Starts the peer: its replica id and addresses from the banner. */
  async ready() {
    const banner = await this.until(0);
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
async function eventually(f, what, ms = 30000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (await f()) return;
  throw new Error(`timed out: ${await what()}`);
}

const t0 = Date.now();
const peers = [];
let srv;
let context;
let profile;
try {
  const n1 = new NativePeer('n1', ['--listen', '127.0.0.1:0', '--ws', '127.0.0.1:0']);
  peers.push(n1);
  await n1.ready();
  const n2 = new NativePeer('n2', ['--listen', '127.0.0.1:0', '--connect', n1.tcp]);
  peers.push(n2);
  await n2.ready();
  srv = await start(0);
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'deltacrdt-native-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  const url = (key) => `${srv.url}replica.html?name=Web&native=${encodeURIComponent(n1.ws)}&key=${encodeURIComponent(key)}`;
  let webId;

  await check('the page dials n1 over WebSocket and authenticates it', async () => {
    await page.goto(url(KEY));
    await page.waitForFunction(() => window.demoReady === true && window.nativePeer, null, { timeout: 30000 });
    assert.equal(await page.evaluate(() => window.nativePeer), n1.id, 'the peer id is n1\'s, from the handshake');
    webId = await page.evaluate(() => window.doc.replicaId);
    await eventually(async () => (await n1.command('peers')).includes(webId), async () => `n1 peers: ${await n1.command('peers')}`);
    await eventually(async () => (await n2.command('peers')).includes(n1.id), async () => `n2 peers: ${await n2.command('peers')}`);
  });

  const expected = { likes: 6, tags: ['urgent', 'web'], title: 'Native board' };
  await check('edits in the page and at both native prompts converge everywhere', async () => {
    await page.evaluate(() => { window.doc.counter('likes').increment(2); window.doc.set('tags').add('web'); });
    await n1.command('inc likes 3');
    await n2.command('inc likes');
    await n2.command('add tags urgent');
    await n2.command('set title "Native board"');
    const docs = async () => ({ web: await page.evaluate(() => window.doc.toJSON()), n1: await n1.show(), n2: await n2.show() });
    await eventually(async () => {
      const d = await docs();
      try {
        for (const k of ['web', 'n1', 'n2']) assert.deepEqual(d[k], expected);
        return true;
      } catch { return false; }
    }, async () => JSON.stringify(await docs()));
    // The page renders what it holds.
    assert.equal(await page.textContent('#likes'), '6');
    assert.equal(await page.textContent('#board-title'), 'Native board');
  });

  await check('a later page edit reaches n2 through n1', async () => {
    await page.evaluate(() => window.doc.register('title').set('Browser board'));
    await eventually(async () => (await n2.show()).title === 'Browser board', async () => JSON.stringify(await n2.show()));
  });

  await check('a page with a wrong key is refused by the handshake on both ends', async () => {
    const before = Number((await n1.command('stats')).match(/wrong key (\d+)/)?.[1]);
    const bad = await context.newPage();
    bad.on('pageerror', (e) => errors.push(e));
    await bad.goto(url('not the key'));
    await bad.waitForFunction(() => window.nativeError, null, { timeout: 30000 });
    assert.equal(await bad.evaluate(() => window.nativeError), 'AUTH_BAD_PROOF');
    assert.equal(await bad.evaluate(() => window.nativePeer), undefined);
    assert.match(await bad.textContent('#native'), /refused: AUTH_BAD_PROOF/);
    await eventually(async () => Number((await n1.command('stats')).match(/wrong key (\d+)/)?.[1]) > before,
      async () => n1.command('stats'));
    const badId = await bad.evaluate(() => window.doc.replicaId);
    assert.ok(!(await n1.command('peers')).includes(badId), 'n1 has no session with the refused page');
    await bad.close();
  });

  await check('no uncaught page errors', async () => assert.deepEqual(errors, []));
} finally {
  for (const p of peers) p.kill();
  await Promise.all(peers.map((p) => p.exited));
  await context?.close();
  await srv?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
}
const failed = results.filter((r) => !r).length;
console.log(`native interop: ${results.length - failed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
process.exit(failed || results.length === 0 ? 1 : 0);
