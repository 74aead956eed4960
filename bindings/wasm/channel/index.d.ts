// Types of `deltacrdt-wasm/channel` (hand-written; index.mjs is the implementation): auth
// protocol 2 (src/auth/PROTOCOL.md) over WebCrypto. One file for `import` and `require`: the
// module has no default export, so the two read it alike.

/** An X25519 key pair as 64 lowercase hex digits each. Keep `secretKey` secret. */
export interface Identity {
  publicKey: string;
  secretKey: string;
}

/** Which end of a connection: the side that dialed is the initiator. */
export type ChannelRole = 'initiator' | 'responder';

/** Where a channel stands; `'failed'` is for good. */
export type ChannelState = 'handshake' | 'open' | 'failed';

/** Options of `new SecureChannel(...)`. */
export interface SecureChannelOptions {
  /** This side's key pair. */
  identity: Identity;
  /** This side's replica id (UUID string); it must belong to `identity.publicKey` (`replicaIdFor`). */
  replicaId: string;
  role: ChannelRole;
  /** The public keys (64 hex digits) of the peers to accept; a Map as `parseAllowList` gives counts by its keys. */
  allow: Iterable<string> | Map<string, string>;
  /** Testing only: a fixed ephemeral secret (32 bytes or 64 hex digits) for golden bytes. Never on a real connection. */
  testing?: { ephemeralSecret?: string | Uint8Array };
}

/** The codes a channel's errors carry (on `error.code`). */
export type ChannelErrorCode =
  | 'AUTH_BAD_MAGIC'
  | 'AUTH_INCOMPATIBLE'
  | 'AUTH_MALFORMED'
  | 'AUTH_BAD_MESSAGE'
  | 'AUTH_NOT_ALLOWED'
  | 'AUTH_FOREIGN_ID'
  | 'AUTH_SELF_CONNECTION'
  | 'AUTH_BAD_TAG'
  | 'AUTH_TOO_LARGE'
  | 'AUTH_STATE'
  | 'AUTH_KEY'
  | 'AUTH_UNSUPPORTED'
  | 'AUTH'
  | 'BAD_OPTION'
  | 'BAD_PEER_ID'
  | 'BAD_VALUE';

/** The largest frame `seal` takes (65,519 bytes: a Noise message is at most 65,535, tag included). */
export declare const MAX_FRAME_BYTES: number;

/** A new X25519 identity from WebCrypto. */
export declare function generateIdentity(): Promise<Identity>;
/** The identity of a stored secret key (64 hex digits; surrounding whitespace ignored). */
export declare function identityFromSecret(secretKey: string): Promise<Identity>;
/** A fresh replica id (UUID string) owned by `publicKey`: its family prefix and 6 random bytes. */
export declare function replicaIdFor(publicKey: string): Promise<string>;
/** Whether `replicaId` is in the family of ids owned by `publicKey`. */
export declare function belongsTo(replicaId: string, publicKey: string): Promise<boolean>;
/** The first 8 hex digits of a public key. */
export declare function fingerprint(publicKey: string): string;
/** An allow-list file's keys (lowercase) and names ('' where a line names none). */
export declare function parseAllowList(text: string): Map<string, string>;

/** One connection's end of auth protocol 2: the Noise XX handshake, then sealed frames. */
export declare class SecureChannel {
  constructor(options: SecureChannelOptions);
  readonly state: ChannelState;
  /** The peer's authenticated replica id, once open. */
  readonly peerId: string | undefined;
  /** The peer's public key (64 hex digits), once open. */
  readonly peerKey: string | undefined;
  /** Initiator, once: message 1 (37 bytes). */
  start(): Promise<Uint8Array>;
  /** The peer's next handshake message in; the message to send back, or null once open with nothing to send. */
  read(bytes: Uint8Array): Promise<Uint8Array | null>;
  /** One outgoing frame (at most MAX_FRAME_BYTES) sealed; resolves in call order. */
  seal(frame: Uint8Array): Promise<Uint8Array>;
  /** One incoming frame opened; resolves in call order; a frame that does not open fails the channel. */
  open(bytes: Uint8Array): Promise<Uint8Array>;
}
