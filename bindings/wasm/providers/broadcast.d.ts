// Types of `deltacrdt-wasm/broadcast` (hand-written; broadcast.mjs is the implementation).

/** What the provider needs of a Doc (the package's `Doc` has it all). */
export interface SyncedDoc {
  readonly replicaId: string;
  connect(peerId: string): void;
  disconnect(peerId: string): void;
  receive(peerId: string, bytes: Uint8Array): void;
  poll(): { to: string; bytes: Uint8Array } | undefined;
  tick(nowMs?: number): void;
  pollTimeout(): number | undefined;
  subscribe(callback: () => void): () => void;
}

/** Options of `new BroadcastProvider(doc, options)`. */
export interface BroadcastProviderOptions {
  /** The document's name: tabs that use the same name sync (channel `deltacrdt:<name>`). */
  name: string;
  /** The BroadcastChannel class (default: the host's). */
  BroadcastChannel?: typeof BroadcastChannel;
}

/** The codes the provider's errors carry (on `error.code`). */
export type BroadcastErrorCode = 'BAD_OPTION' | 'BROADCAST_UNSUPPORTED';

/** `peer` events: a tab joined or left. `error` events: `{ peer, error }`, a frame the Doc refused. */
export interface PeerDetail { peer: string; joined: boolean }

/** Syncs a Doc with the other tabs (or threads) of this origin that use the same name. */
export declare class BroadcastProvider extends EventTarget {
  constructor(doc: SyncedDoc, options: BroadcastProviderOptions);
  /** The replica ids of the tabs synced with now. */
  readonly peers: string[];
  /** Whether `close()` ran. */
  readonly closed: boolean;
  /** Tells the other tabs, disconnects from them and closes the channel (also on `pagehide`). */
  close(): void;
}
