// Loopback interop test: a browser page joins native peers of the p2p demo over WebSocket.
//
// Makes identities with `p2p keygen` for two native peers, the page and a stranger, and
// allow-lists: n1 allows n2 and the page, n2 allows n1. Starts the two native peers (`p2p peer`,
// prompt mode) on 127.0.0.1: n1 listens for WebSocket peers (--ws), n2 dials n1 over TCP. The
// demo page (replica.html?native=ws://…&secret=…&allow=<n1's key>) runs in headless Chromium
// and dials n1 itself: auth protocol 2 in JavaScript (SecureChannel over WebCrypto), then sealed
// frames. Edits are made in the page and at both native prompts (`inc`, `add`, `set`); all three
// replicas must converge (native `show` vs the page's `doc.toJSON()`), n1 must list the page's
// replica, whose id belongs to the page's key. A page whose key n1 does not allow must be refused
// (n1's `not allowed` count goes up; the page sees the connection closed during the handshake),
// and a page that does not allow n1's key must refuse n1 (AUTH_NOT_ALLOWED in the page). Last,
// n1 is killed and restarted on the same ports: the page (on WebSocketProvider) redials it.
// Then two pages that never connect to each other meet at the sync server (`p2p serve` with a
// data directory), which is stopped with SIGTERM and restarted from its store.
//
// Run: node demo/native.mjs   (after scripts/build.sh and
//      cargo build --release --features tokio,redb --example p2p; P2P_BIN overrides the binary)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { belongsTo, identityFromSecret } from '../channel/index.mjs';
import { NativePeer, allowFile as allowIn, bin, eventually, keygen as keygenIn, sleep } from './native-peer.mjs';
import { check, finish, launch } from './harness.mjs';
import { start } from './server.mjs';

if (!fs.existsSync(bin)) {
  console.error(`native.mjs: no p2p binary at ${bin}: cargo build --release --features tokio,redb --example p2p`);
  process.exit(1);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deltacrdt-native-keys-'));
const keygen = (name) => keygenIn(dir, name);
const allowFile = (name, keys) => allowIn(dir, name, keys);
/** n1's count of handshakes refused for a key not on its allow-list. */
const notAllowed = async (peer) => {
  const stats = await peer.command('stats');
  const n = stats.match(/not allowed (\d+)/)?.[1];
  assert.ok(n !== undefined, `no "not allowed N" in stats: ${stats}`);
  return Number(n);
};

const t0 = Date.now();
const peers = [];
let srv;
let context;
let profile;
try {
  const [k1, k2, kPage, kStranger] = ['n1', 'n2', 'page', 'stranger'].map(keygen);
  const n1 = new NativePeer('n1', ['--identity', k1.file, '--allow', allowFile('n1', { n2: k2, page: kPage }), '--listen', '127.0.0.1:0', '--ws', '127.0.0.1:0']);
  peers.push(n1);
  await n1.ready();
  const n2 = new NativePeer('n2', ['--identity', k2.file, '--allow', allowFile('n2', { n1: k1 }), '--listen', '127.0.0.1:0', '--connect', n1.tcp]);
  peers.push(n2);
  await n2.ready();
  srv = await start(0);
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'deltacrdt-native-'));
  context = await launch(profile);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  const url = (secret, allow, ws = n1.ws, name = 'Web') => `${srv.url}replica.html?name=${name}&native=${encodeURIComponent(ws)}&secret=${secret}&allow=${allow.map((k) => k.publicKey).join(',')}`;
  let webId;

  await check('native replica ids belong to their keys; JS derives the keygen public keys', async () => {
    assert.ok(await belongsTo(n1.id, k1.publicKey), `n1's id ${n1.id} is in its key's family`);
    assert.ok(await belongsTo(n2.id, k2.publicKey));
    assert.ok(!(await belongsTo(n1.id, k2.publicKey)));
    for (const k of [k1, k2, kPage]) assert.equal((await identityFromSecret(k.secret)).publicKey, k.publicKey);
  });

  await check('the page dials n1 over WebSocket: encrypted, both keys allowed, ids authenticated', async () => {
    await page.goto(url(kPage.secret, [k1]));
    await page.waitForFunction(() => window.demoReady === true && (window.nativePeer || window.nativeError), null, { timeout: 30000 });
    assert.equal(await page.evaluate(() => window.nativeError), undefined);
    assert.equal(await page.evaluate(() => window.nativePeer), n1.id, 'the peer id is n1\'s, from the handshake');
    assert.equal(await page.evaluate(() => window.pageKey), kPage.publicKey, 'Chromium derives the same public key from the secret');
    webId = await page.evaluate(() => window.doc.replicaId);
    assert.ok(await belongsTo(webId, kPage.publicKey), 'the page\'s replica id belongs to its key');
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

  await check('an idle page stays connected past the 5 s liveness timeout (keepalives both ways)', async () => {
    const sessions = async () => Number((await n1.command('stats')).match(/network: (\d+) sessions/)?.[1]);
    const before = await sessions();
    await sleep(6500);
    assert.ok((await n1.command('peers')).includes(webId), 'n1 still lists the page');
    assert.equal(await page.evaluate(() => window.nativeError), undefined);
    assert.equal(await sessions(), before, 'no session closed and reopened');
    await page.evaluate(() => window.doc.counter('likes').increment(1));
    await eventually(async () => (await n1.show()).likes === 7, async () => JSON.stringify(await n1.show()));
  });

  await check('a page whose key n1 does not allow is refused: n1 counts it, the page sees the connection closed', async () => {
    const before = await notAllowed(n1);
    const bad = await context.newPage();
    bad.on('pageerror', (e) => errors.push(e));
    await bad.goto(url(kStranger.secret, [k1]));
    await bad.waitForFunction(() => window.nativeError, null, { timeout: 30000 });
    assert.equal(await bad.evaluate(() => window.nativeError), 'NET');
    assert.equal(await bad.evaluate(() => window.nativePeer), undefined);
    assert.match(await bad.textContent('#native'), /refused: NET: .*closed the connection during the handshake/);
    await eventually(async () => (await notAllowed(n1)) > before, async () => n1.command('stats'));
    const badId = await bad.evaluate(() => window.doc.replicaId);
    assert.ok(!(await n1.command('peers')).includes(badId), 'n1 has no session with the refused page');
    await bad.close();
  });

  await check('a page that does not allow n1\'s key refuses n1 (AUTH_NOT_ALLOWED), before revealing itself', async () => {
    const before = await notAllowed(n1);
    const wary = await context.newPage();
    wary.on('pageerror', (e) => errors.push(e));
    await wary.goto(url(kPage.secret, [k2])); // allows n2's key only
    await wary.waitForFunction(() => window.nativeError, null, { timeout: 30000 });
    assert.equal(await wary.evaluate(() => window.nativeError), 'AUTH_NOT_ALLOWED');
    assert.match(await wary.textContent('#native'), new RegExp(`refused: AUTH_NOT_ALLOWED: .*${k1.publicKey.slice(0, 8)}`));
    const waryId = await wary.evaluate(() => window.doc.replicaId);
    assert.ok(!(await n1.command('peers')).includes(waryId));
    assert.equal(await notAllowed(n1), before, 'n1 never saw the page\'s key: nothing it could refuse');
    await wary.close();
  });

  await check('the page redials n1 after n1 is killed and restarted on the same port (WebSocketProvider backoff)', async () => {
    const wsPort = new URL(n1.ws).port;
    n1.kill();
    await n1.exited;
    await page.waitForFunction(() => window.nativeError === 'NET', null, { timeout: 15000 }); // a redial found nobody
    await page.evaluate(() => window.doc.set('tags').add('while n1 was down'));
    const again = new NativePeer('n1', ['--identity', k1.file, '--allow', allowFile('n1', { n2: k2, page: kPage }), '--listen', n1.tcp, '--ws', `127.0.0.1:${wsPort}`]);
    peers.push(again);
    await again.ready();
    await eventually(async () => (await again.show()).tags?.includes('while n1 was down'), async () => JSON.stringify(await again.show()));
    assert.equal(await page.evaluate(() => window.nativePeer), again.id, 'the page\'s session is with the new n1');
    assert.equal(await page.evaluate(() => window.nativeError), undefined, 'cleared by the new session');
  });

  await check('two pages that cannot reach each other meet at the sync server (p2p serve), which keeps the board across a restart', async () => {
    const kServer = keygen('server');
    const data = fs.mkdtempSync(path.join(dir, 'server-data-'));
    const args = (tcp, ws) => ['--identity', kServer.file, '--allow', allowFile('server', { page: kPage }), '--listen', tcp, '--ws', ws, '--data-dir', data];
    const server = new NativePeer('server', args('127.0.0.1:0', '127.0.0.1:0'), 'serve');
    peers.push(server);
    await server.serving();
    assert.ok(await belongsTo(server.id, kServer.publicKey));
    const [p1, p2] = [await context.newPage(), await context.newPage()];
    for (const p of [p1, p2]) p.on('pageerror', (e) => errors.push(e));
    // No demo relay: each page's only peer is the server.
    await p1.goto(`${url(kPage.secret, [kServer], server.ws, 'One')}&relay=off`);
    await p2.goto(`${url(kPage.secret, [kServer], server.ws, 'Two')}&relay=off`);
    for (const p of [p1, p2]) {
      await p.waitForFunction((id) => window.nativePeer === id, server.id, { timeout: 30000 });
      assert.deepEqual(await p.evaluate(() => window.doc.syncState().map((s) => s.peer)), [server.id]);
    }
    await eventually(async () => server.out.includes('(2 connected)'), async () => server.out);
    await p1.evaluate(() => window.doc.set('served').add('via the server'));
    await p2.waitForFunction(() => window.doc.toJSON().served?.includes('via the server'), null, { timeout: 15000 });
    // SIGTERM, and back on the same ports from its data directory: the pages redial.
    const [tcp, wsPort] = [server.tcp, new URL(server.ws).port];
    server.stop();
    assert.equal(await server.exited, 0, 'the server stops cleanly on SIGTERM');
    const again = new NativePeer('server', args(tcp, `127.0.0.1:${wsPort}`), 'serve');
    peers.push(again);
    await again.serving();
    assert.match(again.out, /resumed from .* at sequence [1-9]/, 'the server resumed its store');
    assert.equal(again.id, server.id, 'same replica id after the restart');
    await p2.evaluate(() => window.doc.set('served').add('after the restart'));
    await p1.waitForFunction(() => window.doc.toJSON().served?.includes('after the restart'), null, { timeout: 30000 });
    for (const p of [p1, p2]) await p.close();
  });

  await check('no uncaught page errors', async () => assert.deepEqual(errors, []));
} finally {
  for (const p of peers) p.kill();
  await Promise.all(peers.map((p) => p.exited));
  await context?.close();
  await srv?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
}
finish('native interop: ', ` (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
