// Types of `deltacrdt-wasm/indexeddb` (hand-written; indexeddb.mjs is the implementation).

/** The package's `Doc` class, as the store uses it (pass `Doc` from 'deltacrdt-wasm'). */
export interface DocClass<D> {
  new (options?: object): D;
  load(bytes: Uint8Array, options?: object): D;
  resume(bytes: Uint8Array, options?: object): D;
}

/** What the store needs of a Doc (the package's `Doc` has it all). */
export interface StoredDoc {
  readonly replicaId: string;
  save(): Uint8Array;
  free(): void;
}

/** Options of `IndexedDbStore.open`. */
export interface IndexedDbStoreOptions<D> {
  /** The package's `Doc` class. */
  Doc: DocClass<D>;
  /** Options for the Doc's constructor, `load` or `resume` (its `replicaId` is used only for a new document). */
  docOptions?: object;
  /** Log bytes past which the log is folded into one snapshot (default 262144). */
  compactBytes?: number;
  /** The IndexedDB factory (default: the host's `indexedDB`). */
  indexedDB?: IDBFactory;
  /** The Web Locks manager (default: `navigator.locks`). */
  locks?: LockManager;
}

/** The codes the store's errors carry (on `error.code`). */
export type StoreErrorCode = 'STORE_UNSUPPORTED' | 'STORE_CORRUPT' | 'STORE_IO' | 'BAD_OPTION';

/** What a `commit` event carries (`event.detail`). */
export interface CommitDetail {
  /** Bytes written: the frames of one log record, or one snapshot. */
  bytes: number;
  /** Whether it was a snapshot (the log folded). */
  snapshot: boolean;
}

/** A Doc kept in IndexedDB: loaded on open, saved incrementally, one writing tab per name. */
export declare class IndexedDbStore<D extends StoredDoc = StoredDoc> extends EventTarget {
  /** Loads the store `name` (or starts a new document); see the README for the lock rules. */
  static open<D extends StoredDoc>(name: string, options: IndexedDbStoreOptions<D>): Promise<IndexedDbStore<D>>;
  private constructor();
  /** The document. */
  readonly doc: D;
  /**
   * Whether this tab holds the store's lock (runs the saved replica and writes); else it loaded a
   * copy under a fresh id, and becomes the writer, under that id, once the lock is free: a
   * `writer` event then. `commit` events carry a `CommitDetail`, `error` events `{ error }`.
   */
  readonly writer: boolean;
  /** What was written so far. */
  readonly stats: { bytesWritten: number; records: number; snapshots: number };
  /** Resolves once everything the document holds now is committed; rejects with `STORE_IO` if that failed. */
  flush(): Promise<void>;
  /** Commits what is pending, then closes the database and releases the lock. */
  close(): Promise<void>;
}
