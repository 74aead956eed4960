// Browser test of the providers in headless Chromium (Debian's /usr/bin/chromium via
// playwright-core): pages of one browser context share a list through BroadcastProvider and
// persist it with IndexedDbStore (demo/providers.html). One writer per document and distinct
// replica ids; a reader takes over when the writer closes; a page closed mid-edit and a killed browser lose nothing committed; corrupt
// stored bytes give STORE_CORRUPT and overwrite nothing; bytes written per small edit against a
// full save() per change; compaction.
//
// Run: node demo/providers-e2e.mjs   (after scripts/build.sh)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { check, finish, launch } from './harness.mjs';
import { start } from './server.mjs';


const srv = await start(0);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'deltacrdt-providers-'));
const relaunch = () => launch(profile);
let context = await relaunch();
/** The pid of the browser process this test launched on `profile` (not its renderers). */
function browserPid() {
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd;
    try { cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'); } catch { continue; }
    if (cmd.includes(`--user-data-dir=${profile}`) && !cmd.some((a) => a.startsWith('--type='))) return Number(pid);
  }
  throw new Error('no browser process for the profile');
}
const errors = [];
const committed = new Map(); // page -> values whose commit the page reported

/** A page of providers.html for document `name` (optional query in `extra`), once ready. */
async function open(name, extra = '') {
  const page = await context.newPage();
  committed.set(page, new Set());
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => {
    const v = /^committed (.*)$/.exec(m.text());
    if (v) committed.get(page).add(v[1]);
    else if (m.type() === 'error') errors.push(new Error(m.text()));
  });
  await page.goto(new URL(`providers.html?name=${name}${extra}`, srv.url).href);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 10000 });
  return page;
}
const info = (page) => page.evaluate(() => ({
  id: app.doc?.replicaId, writer: app.store?.writer, loaded: app.loaded, now: app.doc?.toJSON(), error: app.openError,
}));
const list = (page) => page.evaluate(() => app.doc.set('list').values());
const waitList = (page, pred, timeout = 8000) =>
  page.waitForFunction(`(${pred.toString()})(app.doc.set('list').values())`, null, { timeout });
/** Starts `n` edits, each awaiting its commit, without waiting for them. */
const startEdits = (page, prefix, n) => page.evaluate(([prefix, n]) => {
  window.loop = (async () => { for (let i = 0; i < n; i++) await window.edit(`${prefix}${i}`); })();
}, [prefix, n]);
const waitCommitted = async (page, n) => {
  for (let t = Date.now(); committed.get(page).size < n; await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() - t > 10000) throw new Error(`only ${committed.get(page).size} commits`);
  }
};
/** Raw IndexedDB access from a page of the origin that opens no store. */
let raw;
const idb = (f, arg) => raw.evaluate(f, arg);
const openDb = `(name) => new Promise((ok, ko) => { const r = indexedDB.open('deltacrdt:' + name); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); })`;

try {
  raw = await context.newPage();
  await raw.goto(new URL('raw-idb', srv.url).href); // a 404 page of the origin
  await raw.evaluate(`window.openDb = ${openDb}`);

  let a, b, first;
  await check('two pages share a list through BroadcastChannel; one writes the store; two replica ids', async () => {
    a = await open('board');
    b = await open('board');
    const [ia, ib] = [await info(a), await info(b)];
    assert.equal(ia.writer, true, 'the first page takes the lock');
    assert.equal(ib.writer, false, 'the second page cannot, so it only loads');
    assert.notEqual(ia.id, ib.id, 'two pages never run one replica id');
    first = ia.id;
    await a.evaluate(() => window.edit('from A'));
    await b.evaluate(() => app.doc.set('list').add('from B'));
    for (const p of [a, b]) await waitList(p, (l) => l.includes('from A') && l.includes('from B'));
    await a.evaluate(() => app.store.flush());
  });

  await check('the synced indicator changes when the other tab acknowledges an edit', async () => {
    const ib = await info(b);
    await a.evaluate(() => { app.syncEvents.length = 0; app.doc.set('list').add('indicator'); });
    await a.waitForFunction((peer) => {
      const seen = app.syncEvents.filter((e) => e.peer === peer).map((e) => e.synced);
      return seen.includes(false) && seen.at(-1) === true;
    }, ib.id, { timeout: 10000 });
    await a.waitForFunction(() => document.getElementById('synced').textContent.startsWith('synced with'), null, { timeout: 10000 });
    await waitList(b, (l) => l.includes('indicator'));
  });

  await check('a page closed mid-edit reopens with everything committed, as the same replica', async () => {
    // B first (else, as the reader, it would take the lock over and store what it holds,
    // which would hide a loss): A is then the only tab with the document.
    await waitList(b, (l) => l.includes('from A'));
    await b.close();
    await startEdits(a, 'close-', 400);
    await waitCommitted(a, 25);
    await a.close(); // abruptly: edits and writes are under way
    const sure = [...committed.get(a), 'from B'];
    const c = await open('board');
    const ic = await info(c);
    assert.equal(ic.writer, true, 'the lock was released with the page');
    assert.equal(ic.id, first, 'the lock holder continues the saved replica');
    const missing = sure.filter((v) => !ic.loaded.list.includes(v));
    assert.deepEqual(missing, [], `committed but not loaded (of ${sure.length})`);
    console.log(`  ${sure.length} committed before the close; ${ic.loaded.list.length} items loaded`);
    // A second page again: a copy under another id, and the two converge.
    const b2 = await open('board');
    const ib = await info(b2);
    assert.equal(ib.writer, false);
    assert.notEqual(ib.id, ic.id);
    assert.deepEqual([...ib.loaded.list].sort(), [...ic.loaded.list].sort(), 'the copy loads what the writer loaded');
    await c.evaluate(() => window.edit('after reopen'));
    await b2.evaluate(() => app.doc.set('list').add('from the copy'));
    await waitList(b2, (l) => l.includes('after reopen'));
    await waitList(c, (l) => l.includes('from the copy'));
    assert.deepEqual([...await list(c)].sort(), [...await list(b2)].sort());
    await c.evaluate(() => app.store.flush());
    await b2.close();
    a = c;
  });

  await check('when the writer closes, the reader takes over under its own id and its edits are stored', async () => {
    const x = await open('takeover');
    const y = await open('takeover');
    assert.equal((await info(y)).writer, false);
    await y.evaluate(() => app.doc.set('list').add('by Y while reading'));
    await waitList(x, (l) => l.includes('by Y while reading'));
    await x.evaluate(() => window.edit('by X'));
    const became = y.evaluate(() => new Promise((ok) => app.store.addEventListener('writer', () => ok(app.store.writer), { once: true })));
    await x.close();
    assert.equal(await became, true);
    await y.evaluate(() => window.edit('by Y after the takeover'));
    const yid = (await info(y)).id;
    await y.close();
    const z = await open('takeover');
    const iz = await info(z);
    assert.equal(iz.writer, true);
    assert.equal(iz.id, yid, 'the last writer\'s replica is resumed');
    assert.deepEqual([...iz.loaded.list].sort(), ['by X', 'by Y after the takeover', 'by Y while reading']);
    await z.close();
  });

  await check('a killed browser (SIGKILL mid-edit) loses nothing committed', async () => {
    await startEdits(a, 'crash-', 400);
    await waitCommitted(a, 25);
    const sure = [...committed.get(a)];
    const pid = browserPid();
    process.kill(pid, 'SIGKILL'); // no unload, no pagehide, writes under way
    await context.close().catch(() => {});
    for (let t = Date.now(); fs.existsSync(`/proc/${pid}`) && Date.now() - t < 5000;) await new Promise((r) => setTimeout(r, 20));
    context = await relaunch();
    raw = await context.newPage();
    await raw.goto(new URL('raw-idb', srv.url).href);
    await raw.evaluate(`window.openDb = ${openDb}`);
    const d = await open('board');
    const id = await info(d);
    assert.equal(id.writer, true);
    assert.equal(id.id, first, 'the same replica, resumed');
    const missing = sure.filter((v) => !id.loaded.list.includes(v));
    assert.deepEqual(missing, [], `committed but not loaded (of ${sure.length})`);
    console.log(`  ${sure.length} committed before the kill; ${id.loaded.list.length} items loaded`);
    a = d;
  });

  await check('corrupt stored bytes: STORE_CORRUPT, the running document intact, nothing overwritten', async () => {
    const before = await list(a);
    // A frame that is not a frame, appended to the log behind the running writer's back.
    const key = await idb(async (from) => {
      const db = await openDb('board');
      const tx = db.transaction('log', 'readwrite');
      const r = tx.objectStore('log').add({ from, seq: 1, frames: [Uint8Array.of(0x44, 0x43, 1, 2, 0xff, 0xff)] });
      await new Promise((ok) => { tx.oncomplete = ok; });
      db.close();
      return r.result;
    }, first);
    const e = await open('board');
    const ie = await info(e);
    assert.equal(ie.error?.code, 'STORE_CORRUPT', JSON.stringify(ie));
    assert.deepEqual(await list(a), before, 'the running document is intact');
    await a.evaluate(() => window.edit('after the failed load'));
    const kept = await idb(async (key) => {
      const db = await openDb('board');
      const r = db.transaction('log').objectStore('log').get(key);
      const v = await new Promise((ok) => { r.onsuccess = () => ok(r.result); });
      db.close();
      return Array.from(v.frames[0]);
    }, key);
    assert.deepEqual(kept, [0x44, 0x43, 1, 2, 0xff, 0xff], 'the failed load overwrote nothing');
    await e.close();
    await a.close();

    // A flipped byte in the snapshot of a closed store: refused, and left as it was.
    const g = await open('flip');
    await g.evaluate(() => window.edit('x'));
    await g.evaluate(() => app.store.close());
    await g.close();
    const flipped = await idb(async () => {
      const db = await openDb('flip');
      const tx = db.transaction('meta', 'readwrite');
      const r = tx.objectStore('meta').get('head');
      const head = await new Promise((ok) => { r.onsuccess = () => ok(r.result); });
      head.journal[Math.floor(head.journal.length / 2)] ^= 0x40;
      tx.objectStore('meta').put(head, 'head');
      await new Promise((ok) => { tx.oncomplete = ok; });
      db.close();
      return Array.from(head.journal);
    });
    const h = await open('flip');
    assert.equal((await info(h)).error?.code, 'STORE_CORRUPT');
    const after = await idb(async () => {
      const db = await openDb('flip');
      const r = db.transaction('meta').objectStore('meta').get('head');
      const head = await new Promise((ok) => { r.onsuccess = () => ok(r.result); });
      db.close();
      return Array.from(head.journal);
    });
    assert.deepEqual(after, flipped, 'the corrupt snapshot is left for the app to deal with');
    await h.close();
  });

  await check('bytes written per small edit: a log record, not a full save', async () => {
    const p = await open('bytes', '&compact=100000000');
    const m = await p.evaluate(async () => {
      const { store, doc } = app;
      for (let i = 0; i < 20; i++) await window.edit(`seed item ${i}: some text to make the document bigger`);
      const start = { ...store.stats };
      let full = 0;
      const n = 50;
      for (let i = 0; i < n; i++) {
        await window.edit(`edit ${i}`);
        full += doc.save().length; // what a full save per change would write
      }
      return { n, records: store.stats.records - start.records, bytes: store.stats.bytesWritten - start.bytesWritten, full, save: doc.save().length };
    });
    const perEdit = m.bytes / m.records;
    console.log(`  ${m.n} edits: ${m.records} log records, ${(perEdit).toFixed(1)} B per edit incremental; ` +
      `a full save() per change: ${(m.full / m.n).toFixed(0)} B per edit (${m.save} B at the end)`);
    assert.equal(m.records, m.n, 'one record per committed edit');
    assert.ok(perEdit * 5 < m.full / m.n, 'incremental writes are far smaller than full saves');
    await p.close();
  });

  await check('past compactBytes the log folds into a snapshot; a reload has it all', async () => {
    const p = await open('compact', '&compact=2000');
    const s = await p.evaluate(async () => {
      for (let i = 0; i < 100; i++) await window.edit(`item ${i}`);
      await app.store.close();
      return app.store.stats;
    });
    assert.ok(s.snapshots >= 2, JSON.stringify(s));
    await p.close();
    const q = await open('compact', '&compact=2000');
    const iq = await info(q);
    assert.equal(iq.loaded.list.length, 100);
    await q.close();
  });

  await check('an edit larger than a frame (chunks in the log) is stored and reloaded', async () => {
    const p = await open('large');
    const r = await p.evaluate(async () => {
      app.doc.register('blob').set('x'.repeat(200_000));
      await app.store.flush();
      app.doc.set('list').add('after the blob');
      await app.store.close();
      return app.store.stats;
    });
    assert.ok(r.bytesWritten > 200_000, JSON.stringify(r));
    assert.equal(r.snapshots, 1, 'only the first, empty snapshot: the blob went to the log, as chunks');
    await p.close();
    const q = await open('large');
    const iq = await info(q);
    assert.equal(iq.loaded.blob?.length, 200_000);
    assert.deepEqual(iq.loaded.list, ['after the blob']);
    await q.close();
  });

  await check('no page errors', async () => assert.deepEqual(errors.map(String), []));
} finally {
  await context.close();
  await srv.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
finish();
