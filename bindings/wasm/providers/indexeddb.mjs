// IndexedDbStore: a Doc kept in IndexedDB, saved incrementally, one writer per document.
//
// How it saves. The wasm Doc has no "delta out / delta in" API besides its sync protocol, so the
// store syncs the document with a *journal*: a second, in-memory replica that never edits. The
// frames the document sends the journal carry exactly what the journal lacks (delta-intervals);
// each one that changed the journal is appended to a log, one IndexedDB transaction per batch.
// The journal's acknowledgements go back to the document only after that transaction completed,
// so an acknowledged change is a committed one. Past `compactBytes` of log, one transaction
// replaces the log by a snapshot (`journal.save()`).
//
// How it loads. The snapshot is resumed as the journal and the log replayed into it, frame by
// frame, in order (the frames are self-contained delta-intervals and chunks; a replay is the
// same sequence of receives the journal made). Then:
//  - the tab that holds the Web Lock `deltacrdt-store:<name>` continues the saved replica: the
//    journal's save under the writer's id and a sequence number no lower than any it used,
//    through `Doc.resumeAs`; it alone writes;
//  - any other tab gets the same state through `Doc.load`, under a fresh replica id, and writes
//    nothing (its edits reach the store through the writer, e.g. over a BroadcastProvider)
//    until the lock is free: then it becomes the writer, under its own id (`writer` event).
//
// Records (database `deltacrdt:<name>`, version 1):
//   meta['head'] = { version: 1, journal: Uint8Array (a save), owner: replica id, seq: number }
//   log[n]       = { from: replica id, seq: number, frames: Uint8Array[] }
// `seq` is the writer's sequence number when the record was written.

import { driverFor } from './driver.mjs';

const fail = (code, message, cause) => Object.assign(new Error(`${code}: ${message}`, cause ? { cause } : undefined), { code });
const CHUNK = 0x04; // a sync frame's kind byte (offset 3) for a chunk of a large payload

const request = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});
const done = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onabort = tx.onerror = () => reject(tx.error ?? new Error('transaction aborted'));
});

/** The sequence number of `doc`, from its stats towards `peer` (lag = seq - acked). */
function seqOf(doc, peer) {
  const p = doc.stats().peers.find((x) => x.peer === peer);
  return p ? p.lag + (p.acked ?? 0) : 0;
}

/** The bytes of the frames in `log`. */
const logSize = (log) => log.reduce((n, r) => r.frames.reduce((m, f) => m + f.length, n), 0);

/** Takes the Web Lock `name` if it is free: its release function, or null. */
function tryLock(locks, name) {
  return new Promise((resolve, reject) => {
    locks.request(name, { ifAvailable: true }, (lock) => {
      if (!lock) return resolve(null);
      return new Promise((release) => resolve(release));
    }).catch(reject);
  });
}

/** The stored head and log, read in one transaction; STORE_CORRUPT for records of the wrong shape. */
async function read(db) {
  const tx = db.transaction(['meta', 'log'], 'readonly');
  const [head, log] = await Promise.all([
    request(tx.objectStore('meta').get('head')),
    request(tx.objectStore('log').getAll()),
  ]);
  const bytes = (b) => b instanceof Uint8Array;
  if (head !== undefined && !(head?.version === 1 && bytes(head.journal) && typeof head.owner === 'string' && Number.isSafeInteger(head.seq))) {
    throw fail('STORE_CORRUPT', 'the stored head is not a version 1 head');
  }
  for (const r of log) {
    if (!(typeof r?.from === 'string' && Number.isSafeInteger(r.seq) && Array.isArray(r.frames) && r.frames.every(bytes))) {
      throw fail('STORE_CORRUPT', 'a log record of the wrong shape');
    }
  }
  return { head, log };
}

/** The journal rebuilt from `head` and `log` (STORE_CORRUPT if any of it is refused). */
function replay(Doc, head, log) {
  let journal;
  try {
    journal = Doc.resume(head.journal);
  } catch (e) {
    throw fail('STORE_CORRUPT', `the stored snapshot is not a save (${e.code})`, e);
  }
  try {
    for (const r of log) for (const f of r.frames) journal.receive(r.from, f);
    while (journal.poll()); // its answers went to the old session
  } catch (e) {
    journal.free();
    throw fail('STORE_CORRUPT', `a stored frame was refused (${e.code})`, e);
  }
  return journal;
}

/** A Doc persisted in IndexedDB; make one with `IndexedDbStore.open`. */
export class IndexedDbStore extends EventTarget {
  /** The document (loaded, or new). */
  doc;
  /** Whether this tab holds the lock and so writes the store; otherwise it loaded a copy, and becomes the writer (a `writer` event) once the lock is free. */
  writer;
  #db;
  #release;
  #journal;
  #owner;
  #compactBytes;
  #logBytes;
  #batch = { frames: [], answers: [] };
  #chunks = [];
  #changed = false;
  #tail = Promise.resolve();
  #last = Promise.resolve();
  #queued = false;
  #snapshotDue = false;
  #closed = false;
  #abort;
  /** Bytes handed to IndexedDB so far (frames and snapshots), log records, snapshots written. */
  stats = { bytesWritten: 0, records: 0, snapshots: 0 };

  /**
   * Opens (or creates) the store `name`: loads the saved document, or makes a new one.
   * `options.Doc` is the package's `Doc` class; `options.docOptions` go to its constructor,
   * `load` or `resume`; `options.compactBytes` (default 262144) is the log size past which the
   * log is folded into a snapshot; `indexedDB` and `locks` default to the host's.
   *
   * Rejects with `STORE_UNSUPPORTED` (no IndexedDB or Web Locks), `BAD_OPTION`,
   * `STORE_CORRUPT` (stored bytes that do not load: nothing is written then) or `STORE_IO`.
   */
  static async open(name, options = {}) {
    const { Doc, docOptions, compactBytes = 262_144 } = options ?? {};
    const idb = options.indexedDB ?? globalThis.indexedDB;
    const locks = options.locks ?? globalThis.navigator?.locks;
    if (typeof name !== 'string' || name === '') throw fail('BAD_OPTION', 'name must be a non-empty string');
    if (typeof Doc?.resume !== 'function') throw fail('BAD_OPTION', 'option Doc must be the package\'s Doc class');
    if (!Number.isSafeInteger(compactBytes) || compactBytes < 0) throw fail('BAD_OPTION', 'option compactBytes must be a non-negative integer');
    if (!idb || typeof locks?.request !== 'function') throw fail('STORE_UNSUPPORTED', 'no IndexedDB or Web Locks here');
    const release = await tryLock(locks, `deltacrdt-store:${name}`);
    let db;
    try {
      const open = idb.open(`deltacrdt:${name}`, 1);
      open.onupgradeneeded = () => {
        open.result.createObjectStore('meta');
        open.result.createObjectStore('log', { autoIncrement: true });
      };
      db = await request(open).catch((e) => { throw fail('STORE_IO', `cannot open the database (${e?.name})`, e); });
      const { head, log } = await read(db).catch((e) => {
        throw e.code ? e : fail('STORE_IO', `cannot read the database (${e?.name})`, e);
      });
      const store = new IndexedDbStore(db, release, Doc, docOptions, compactBytes, head, log);
      await store.#start(head);
      if (!store.writer) store.#awaitLock(locks, `deltacrdt-store:${name}`, Doc);
      return store;
    } catch (e) {
      db?.close();
      release?.();
      throw e;
    }
  }

  constructor(db, release, Doc, docOptions, compactBytes, head, log) {
    super();
    this.#db = db;
    this.#release = release;
    this.writer = release !== null;
    this.#compactBytes = compactBytes;
    this.#logBytes = logSize(log);
    if (!head) {
      this.doc = new Doc(docOptions);
      if (this.writer) this.#journal = new Doc();
      this.#snapshotDue = true;
      return;
    }
    const journal = replay(Doc, head, log);
    const seq = Math.max(head.seq, ...log.map((r) => r.seq));
    const owner = log.at(-1)?.from ?? head.owner;
    const state = journal.save();
    journal.free();
    if (!this.writer) {
      this.doc = Doc.load(state, docOptions);
      return;
    }
    try {
      this.doc = Doc.resumeAs(state, owner, seq, docOptions);
    } catch (e) {
      throw fail('STORE_CORRUPT', `the rebuilt save does not resume (${e.code})`, e);
    }
    this.#journal = Doc.resume(state); // the journal, with fresh sessions
  }

  async #start(head) {
    if (!this.writer) return;
    const journal = this.#journal;
    const me = this.doc.replicaId;
    this.#owner = me;
    journal.subscribe(() => { this.#changed = true; });
    const driver = driverFor(this.doc);
    driver.route(journal.replicaId, (bytes) => this.#toJournal(me, bytes));
    if (!head) {
      this.#queue();
      await this.flush();
    }
  }

  /**
   * A reader waits for the lock; once the writer is gone it becomes the writer: it rebuilds the
   * journal from what is stored now and syncs its document (under its own id) with it, so the
   * journal learns what this tab has and the tab what was stored meanwhile.
   */
  #awaitLock(locks, name, Doc) {
    this.#abort = new AbortController();
    const held = new Promise((release) => { this.#release = release; });
    locks.request(name, { signal: this.#abort.signal }, async () => {
      if (this.#closed) return;
      try {
        const { head, log } = await read(this.#db);
        if (this.#closed) return;
        if (head) {
          const journal = replay(Doc, head, log);
          this.#journal = Doc.resume(journal.save());
          journal.free();
          this.#logBytes = logSize(log);
        } else {
          this.#journal = new Doc();
          this.#snapshotDue = true;
        }
        this.writer = true;
        await this.#start(head);
        this.dispatchEvent(new CustomEvent('writer'));
      } catch (e) {
        const error = e.code ? e : fail('STORE_IO', `cannot read the database (${e?.name})`, e);
        this.dispatchEvent(new CustomEvent('error', { detail: { error } }));
        // Not yet the writer (the store did not load): stay a reader, the lock goes to the next
        // tab. Already the writer (its first write failed): keep the lock, the next write retries.
        if (!this.writer) return;
      }
      await held;
    }).catch(() => {}); // aborted by close()
  }

  /** One frame from the document to the journal: into the journal, and into the log if it changed it. */
  #toJournal(from, bytes) {
    if (this.#closed) return;
    this.#changed = false;
    this.#journal.receive(from, bytes);
    if (bytes[3] === CHUNK) this.#chunks.push(bytes);
    if (this.#changed) this.#batch.frames.push(...(bytes[3] === CHUNK ? this.#chunks.splice(0) : [bytes]));
    for (let t = this.#journal.poll(); t; t = this.#journal.poll()) this.#batch.answers.push(t.bytes);
    this.#queue();
  }

  #queue() {
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(() => this.#enqueue());
  }

  /** Puts the pending batch behind the writes already under way. */
  #enqueue() {
    if (!this.#queued) return;
    this.#queued = false;
    const batch = this.#batch;
    this.#batch = { frames: [], answers: [] };
    this.#last = this.#tail.then(() => this.#write(batch));
    this.#tail = this.#last.catch(() => {}); // the next write runs after a failed one too
  }

  /** Writes one batch in one transaction, then lets the journal's answers (acks) reach the document. */
  async #write({ frames, answers }) {
    const size = frames.reduce((n, f) => n + f.length, 0);
    if (frames.length || this.#snapshotDue) {
      const snapshot = this.#snapshotDue || this.#logBytes + size > this.#compactBytes;
      try {
        const tx = this.#db.transaction(['meta', 'log'], 'readwrite');
        const seq = seqOf(this.doc, this.#journal.replicaId);
        let written;
        if (snapshot) {
          const journal = this.#journal.save();
          tx.objectStore('meta').put({ version: 1, journal, owner: this.#owner, seq }, 'head');
          tx.objectStore('log').clear();
          written = journal.length;
        } else {
          tx.objectStore('log').add({ from: this.#owner, seq, frames });
          written = size;
        }
        await done(tx);
        this.#logBytes = snapshot ? 0 : this.#logBytes + size;
        this.#snapshotDue = false;
        this.stats.bytesWritten += written;
        this.stats[snapshot ? 'snapshots' : 'records'] += 1;
        this.dispatchEvent(new CustomEvent('commit', { detail: { bytes: written, snapshot } }));
      } catch (e) {
        // Nothing of this batch is durable: the next write is a snapshot (the journal has it
        // all), and the acks wait for it, so the document keeps the deltas meanwhile.
        this.#snapshotDue = true;
        this.#batch.answers.unshift(...answers);
        const error = fail('STORE_IO', `a write failed (${e?.name})`, e);
        this.dispatchEvent(new CustomEvent('error', { detail: { error } }));
        throw error;
      }
    }
    const driver = driverFor(this.doc);
    for (const a of answers) {
      try {
        driver.receive(this.#journal.replicaId, a);
      } catch {
        // an answer of a session the document has left: nothing to do
      }
    }
  }

  /**
   * Resolves once everything the document holds now is committed (its IndexedDB transaction
   * completed); rejects with `STORE_IO` if that write failed. For a reader tab (not `writer`),
   * resolves at once: it writes nothing.
   */
  async flush() {
    if (!this.writer || this.#closed) return;
    // The document sends the journal one interval at a time and the journal acknowledges it
    // only once committed: write until it has acknowledged everything (lag 0).
    const driver = driverFor(this.doc);
    for (;;) {
      driver.flush();
      this.#enqueue();
      const last = this.#last;
      await last; // after a failure the next write is a snapshot, so the latest write decides
      if (this.#closed || this.#lag() === 0) return;
      if (last === this.#last && !this.#queued) await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** How many of the document's sequence numbers the journal has not acknowledged (committed). */
  #lag() {
    return this.doc.stats().peers.find((p) => p.peer === this.#journal.replicaId)?.lag ?? 0;
  }

  /** Commits what is pending, stops writing, closes the database and releases the lock. */
  async close() {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      if (this.#journal) {
        driverFor(this.doc).unroute(this.#journal.replicaId);
        this.#journal.free();
      }
      this.#abort?.abort();
      this.#db.close();
      this.#release?.();
    }
  }
}
