// Browser test in headless Chromium (Debian's /usr/bin/chromium via playwright-core): the demo
// page loads, edits in one replica appear in the other, and a partition (the offline switch)
// heals into convergence, and SecureChannel in Chromium handshakes with SecureChannel in Node.
// Takes the screenshot shown in the README.
//
// Run: node demo/e2e.mjs   (after scripts/build.sh; SHOT=path overrides the screenshot path)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { check, finish, launch } from './harness.mjs';
import { start } from './server.mjs';
import { SecureChannel, generateIdentity, identityFromSecret, replicaIdFor } from '../channel/index.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const shot = process.env.SHOT || path.join(here, '..', 'screenshot.png');

const srv = await start(0);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'deltacrdt-e2e-'));
const context = await launch(profile, { viewport: { width: 1200, height: 640 } });
const errors = [];
try {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(new Error(m.text())); });
  const A = page.frameLocator('#alice');
  const B = page.frameLocator('#bob');
  const frame = (id) => page.frame({ url: (u) => u.href.includes(`name=${id}`) });
  const json = async (id) => frame(id).evaluate(() => document.getElementById('json').textContent);
  const waitJson = (id, pred, timeout = 8000) =>
    frame(id).waitForFunction(`(${pred.toString()})(JSON.parse(document.getElementById('json').textContent))`, null, { timeout });

  await check('the demo page loads two wasm replicas', async () => {
    await page.goto(srv.url);
    for (const id of ['Alice', 'Bob']) {
      await page.waitForFunction((n) => [...document.querySelectorAll('iframe')].some((f) => f.src.includes(n)), id);
      await frame(id).waitForFunction(() => window.demoReady === true, null, { timeout: 10000 });
    }
    const ms = await Promise.all(['Alice', 'Bob'].map((id) => frame(id).evaluate(() => window.instantiateMs)));
    console.log(`chromium instantiate (init of the --target web build): ${ms.map((m) => m.toFixed(1)).join(' ms, ')} ms`);
  });

  await check('edits in one replica appear in the other', async () => {
    await A.locator('#title-input').fill('Launch plan');
    await A.locator('#set-title').click();
    await A.locator('#task-input').fill('write docs');
    await A.locator('#add-task').click();
    await B.locator('#task-input').fill('ship wasm');
    await B.locator('#add-task').click();
    await A.locator('#like').click();
    await B.locator('#like').click();
    const want = (s) => s.title === 'Launch plan' && s.likes === 2 && s.tasks?.length === 2;
    await waitJson('Alice', want);
    await waitJson('Bob', want);
    await B.locator('li', { hasText: 'write docs' }).locator('input').check();
    await waitJson('Alice', (s) => s.done?.['write docs'] === true);
  });

  await check('partition with the offline switch, edit both sides, heal: they converge', async () => {
    await B.locator('#offline').check();
    await A.locator('#task-input').fill('made while Bob was away');
    await A.locator('#add-task').click();
    await A.locator('#like').click();
    await B.locator('#title-input').fill('Launch plan (Bob, offline)');
    await B.locator('#set-title').click();
    await B.locator('#like').click();
    await page.waitForTimeout(1200); // several ticks: nothing may cross the partition
    const b = JSON.parse(await json('Bob'));
    assert.equal(b.tasks.includes('made while Bob was away'), false, 'an edit crossed the partition');
    assert.equal(b.likes, 3);
    await B.locator('#offline').uncheck();
    const healed = (s) => s.likes === 4 && s.tasks?.length === 3 && s.title === 'Launch plan (Bob, offline)';
    await waitJson('Alice', healed);
    await waitJson('Bob', healed);
    assert.equal(await json('Alice'), await json('Bob'));
    const stats = await frame('Bob').evaluate(() => document.getElementById('stats').textContent);
    assert.match(stats, /retransmissions [1-9]/);
    await page.waitForTimeout(300); // let the stats panels settle for the screenshot
    await page.screenshot({ path: shot });
    console.log(`screenshot: ${shot}`);
  });

  await check('a single replica page instantiates alone (timing reported)', async () => {
    const solo = await context.newPage();
    solo.on('pageerror', (e) => errors.push(e));
    const times = [];
    for (let i = 0; i < 3; i++) {
      await solo.goto(`${srv.url}replica.html?name=Solo`);
      await solo.waitForFunction(() => window.demoReady === true, null, { timeout: 10000 });
      times.push(await solo.evaluate(() => window.instantiateMs));
    }
    console.log(`chromium instantiate, one page alone (fetch + compile + instantiate), 3 loads: ${times.map((m) => m.toFixed(1)).join(', ')} ms`);
    await solo.close();
  });

  await check('SecureChannel in Chromium speaks to SecureChannel in Node (WebCrypto on both ends)', async () => {
    const tab = await context.newPage();
    tab.on('pageerror', (e) => errors.push(e));
    await tab.goto(`${srv.url}replica.html?name=Channel`);
    await tab.waitForFunction(() => window.demoReady === true, null, { timeout: 10000 });
    const node = await generateIdentity();
    const nodeId = await replicaIdFor(node.publicKey);
    // Chromium's identity, made there; its public key derived again here from the secret.
    const web = await tab.evaluate(async (allow) => {
      const m = await import('/channel/index.mjs');
      const identity = await m.generateIdentity();
      const replicaId = await m.replicaIdFor(identity.publicKey);
      window.ch = new m.SecureChannel({ identity, replicaId, role: 'initiator', allow: [allow] });
      return { identity, replicaId, m1: Array.from(await window.ch.start()) };
    }, node.publicKey);
    assert.equal((await identityFromSecret(web.identity.secretKey)).publicKey, web.identity.publicKey);
    const r = new SecureChannel({ identity: node, replicaId: nodeId, role: 'responder', allow: [web.identity.publicKey] });
    const m2 = await r.read(Uint8Array.from(web.m1));
    const back = await tab.evaluate(async (m2) => {
      const m3 = await window.ch.read(Uint8Array.from(m2));
      const sealed = await window.ch.seal(new TextEncoder().encode('from chromium'));
      return { m3: Array.from(m3), sealed: Array.from(sealed), peer: window.ch.peerId };
    }, Array.from(m2));
    assert.equal(back.peer, nodeId);
    assert.equal(await r.read(Uint8Array.from(back.m3)), null);
    assert.equal(r.peerId, web.replicaId);
    assert.equal(new TextDecoder().decode(await r.open(Uint8Array.from(back.sealed))), 'from chromium');
    const reply = Array.from(await r.seal(new TextEncoder().encode('from node')));
    assert.equal(await tab.evaluate(async (b) => new TextDecoder().decode(await window.ch.open(Uint8Array.from(b))), reply), 'from node');
    await tab.close();
  });

  await check('no page errors', async () => assert.deepEqual(errors.map(String), []));
} finally {
  await context.close();
  await srv.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
finish();
