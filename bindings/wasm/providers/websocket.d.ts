// Types of `deltacrdt-wasm/websocket` (hand-written; websocket.mjs is the implementation).
import type { Identity } from '../channel/index.js';
import type { PeerDetail, SyncedDoc } from './broadcast.js';

export type { PeerDetail, SyncedDoc };

/** Options of `WebSocketProvider.open(doc, options)`. */
export interface WebSocketProviderOptions {
  /** The native peer's WebSocket listener, `ws://host:port` (`p2p peer --ws ADDR`) or `wss://…`. */
  url: string;
  /** This side's key pair; the Doc's replica id must belong to its public key (`replicaIdFor`). */
  identity: Identity;
  /** The public keys of the peers to accept (a Map as `parseAllowList` gives: its keys). */
  allow: Iterable<string> | Map<string, string>;
  /** The WebSocket class (default: the host's; in Node 20, pass the `ws` package's). */
  WebSocket?: new (url: string) => object;
  /** First redial delay (default 100); doubles per failure, with jitter, up to `maxBackoffMs`. */
  minBackoffMs?: number;
  /** Longest redial delay (default 5000). */
  maxBackoffMs?: number;
  /** A keepalive (an empty sealed frame) after this long without sending (default 1000). */
  keepaliveMs?: number;
  /** Nothing heard for this long closes the session, which is redialed (default 5000). */
  livenessMs?: number;
  /** A dial that has not heard the peer's first sealed frame by then fails (default 3000). */
  handshakeMs?: number;
  /** The jitter's source, in [0, 1) (default Math.random). */
  random?: () => number;
}

/** Where the provider stands. */
export type WebSocketStatus = 'connecting' | 'open' | 'backoff' | 'closed';

/** `status` events: `delayMs` with `'backoff'` (until the next dial), `peer` with `'open'`. */
export interface StatusDetail { status: WebSocketStatus; delayMs?: number; peer?: string }

/** `error` events: a failed dial or session (`NET`, `AUTH_*`), or a frame the Doc refused (with `peer`). */
export interface ErrorDetail { error: Error & { code: string }; peer?: string }

/** The codes the provider's errors carry (on `error.code`), besides the channel's `AUTH_*`. */
export type WebSocketErrorCode = 'BAD_OPTION' | 'WEBSOCKET_UNSUPPORTED' | 'NET' | 'AUTH_FOREIGN_ID' | 'AUTH_KEY';

/** Keeps a Doc synced with one native peer over a WebSocket (auth protocol 2), redialing with backoff. */
export declare class WebSocketProvider extends EventTarget {
  /** Checks the options and the Doc's replica id against the identity, then starts dialing. */
  static open(doc: SyncedDoc, options: WebSocketProviderOptions): Promise<WebSocketProvider>;
  private constructor();
  readonly status: WebSocketStatus;
  /** The peer's authenticated replica id while a session is open. */
  readonly peer: string | undefined;
  /** The peer's public key while a session is open. */
  readonly peerKey: string | undefined;
  /** Closes the connection and stops redialing. */
  close(): void;
}
