// SecureChannel: auth protocol 2 (src/auth/PROTOCOL.md) in JavaScript over WebCrypto, so that a
// page or a Node process can join native peers without any cryptography in the wasm module.
//
// Noise_XX_25519_AESGCM_SHA256 (Noise revision 34), prologue "deltacrdt-auth/2":
//   -> "DCAH" 02 || e                          37 bytes
//   <- e, ee, s, es, payload = responder's id 112 bytes
//   -> s, se, payload = initiator's id         80 bytes
// then AES-256-GCM frames, one key and one implicit counter per direction (Split()).
//
// Sans IO like the rest of the package: the caller carries the bytes. Every method that touches
// WebCrypto returns a promise; `seal` and `open` bind their nonce when they are called and resolve
// in call order. Every refusal is an Error with a stable `code`, and any error leaves the channel
// failed for good (the connection must be closed), as the native side closes it.

const PROTOCOL_NAME = 'Noise_XX_25519_AESGCM_SHA256';
const PROLOGUE = 'deltacrdt-auth/2';
const FAMILY_LABEL = 'deltacrdt-auth/2 replica family';
const HEADER = [0x44, 0x43, 0x41, 0x48, 0x02]; // "DCAH", version 2
const MSG1_LEN = 37;
const MSG2_LEN = 112;
const MSG3_LEN = 80;
const V1_HELLO_LEN = 53;
const TAG_LEN = 16;
/** The largest frame `seal` takes: a Noise message is at most 65,535 bytes, tag included. */
export const MAX_FRAME_BYTES = 65_519;
/** RFC 8410 PKCS#8 prefix of an X25519 private key; the 32-byte secret follows. */
const PKCS8_X25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20];

const utf8 = (s) => new TextEncoder().encode(s);
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const fromBase64Url = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

/** An Error with a stable `code` (the message, for people, may change). */
function fail(code, message) {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** Whether `e` is one of ours (a DOMException's `code` is a legacy number). */
const isCoded = (e) => typeof e?.code === 'string';

function subtle() {
  const s = globalThis.crypto?.subtle;
  if (!s) throw fail('AUTH_UNSUPPORTED', 'no WebCrypto here (crypto.subtle needs a secure context: https or localhost)');
  return s;
}

/** Runs a WebCrypto step; an algorithm the host lacks (X25519 in an old browser) is AUTH_UNSUPPORTED. */
async function webcrypto(step) {
  try {
    return await step(subtle());
  } catch (e) {
    if (isCoded(e)) throw e;
    if (e?.name === 'NotSupportedError') throw fail('AUTH_UNSUPPORTED', `WebCrypto lacks X25519, AES-GCM or SHA-256 here (${e.message})`);
    throw e;
  }
}

/** 64 hex digits (either case) as 32 bytes, else AUTH_KEY. */
function parseKey(text, what = 'key') {
  if (typeof text !== 'string' || !/^[0-9a-fA-F]{64}$/.test(text)) {
    throw fail('AUTH_KEY', `a ${what} is 64 hex digits, got ${typeof text === 'string' ? `"${text.slice(0, 80)}"` : typeof text}`);
  }
  return unhex(text.toLowerCase());
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
function uuidBytes(id) {
  if (typeof id !== 'string' || !UUID.test(id)) throw fail('BAD_PEER_ID', `not a UUID string: ${String(id).slice(0, 80)}`);
  return unhex(id.replace(/-/g, '').toLowerCase());
}
const uuidString = (b) => hex(b).replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');

function bytesArg(x, what) {
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  throw fail('BAD_VALUE', `${what} must be a Uint8Array`);
}

const importSecret = (secret, extractable) =>
  webcrypto((s) => s.importKey('pkcs8', concat(PKCS8_X25519, secret), { name: 'X25519' }, extractable, ['deriveBits']));

/** X25519(secret key, peer's public key bytes): 32 bytes. */
async function dh(secretKey, publicBytes) {
  return webcrypto(async (s) => {
    const pub = await s.importKey('raw', publicBytes, { name: 'X25519' }, false, []);
    return new Uint8Array(await s.deriveBits({ name: 'X25519', public: pub }, secretKey, 256));
  });
}

const sha256 = async (data) => new Uint8Array(await webcrypto((s) => s.digest('SHA-256', data)));

async function hmac(key, data) {
  return webcrypto(async (s) => {
    const k = await s.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await s.sign('HMAC', k, data));
  });
}

/** Noise's HKDF with two outputs (XX has no psk token, so three are never needed). */
async function hkdf2(chainingKey, ikm) {
  const temp = await hmac(chainingKey, ikm);
  const out1 = await hmac(temp, new Uint8Array([1]));
  const out2 = await hmac(temp, concat(out1, [2]));
  return [out1, out2];
}

const aesKey = (bytes) => webcrypto((s) => s.importKey('raw', bytes, 'AES-GCM', false, ['encrypt', 'decrypt']));

/** The AESGCM nonce of Noise: 4 zero bytes, then the counter as a big-endian u64. */
function nonce(n) {
  const iv = new Uint8Array(12);
  const view = new DataView(iv.buffer);
  view.setUint32(4, Math.floor(n / 2 ** 32));
  view.setUint32(8, n >>> 0);
  return iv;
}

/** Starts AES-GCM at once (so the counter order is the call order); resolves to the bytes. */
const aead = (op, key, n, ad, data) =>
  subtle()[op]({ name: 'AES-GCM', iv: nonce(n), additionalData: ad, tagLength: 128 }, key, data).then((b) => new Uint8Array(b));

/** The family prefix F(S) of public key `S`: the first 10 bytes of every replica id it owns. */
async function family(publicKey) {
  const f = (await sha256(concat(utf8(FAMILY_LABEL), publicKey))).slice(0, 10);
  f[6] = (f[6] & 0x0f) | 0x80; // UUID version 8
  f[8] = (f[8] & 0x3f) | 0x80; // RFC 9562 variant
  return f;
}

/** The public key of an X25519 secret key (through a JWK export, which carries both). */
async function publicOf(secret) {
  const key = await importSecret(secret, true);
  const jwk = await webcrypto((s) => s.exportKey('jwk', key));
  return { key, publicKey: fromBase64Url(jwk.x) };
}

/**
 * A new identity: an X25519 key pair from WebCrypto, as `{ publicKey, secretKey }`, each 64
 * lowercase hex digits. Store the secret (it is the identity; a native peer keeps the same text
 * in its `--identity` file) and give the public key to the peers that should allow it.
 * @returns {Promise<{publicKey: string, secretKey: string}>}
 * @throws AUTH_UNSUPPORTED where WebCrypto has no X25519.
 */
export async function generateIdentity() {
  const pair = await webcrypto((s) => s.generateKey({ name: 'X25519' }, true, ['deriveBits']));
  const jwk = await webcrypto((s) => s.exportKey('jwk', pair.privateKey));
  return { publicKey: hex(fromBase64Url(jwk.x)), secretKey: hex(fromBase64Url(jwk.d)) };
}

/**
 * The identity of a stored secret key: 64 hex digits, surrounding whitespace ignored (so the
 * text of a native secret key file works as it is).
 * @param {string} secretKey
 * @returns {Promise<{publicKey: string, secretKey: string}>}
 * @throws AUTH_KEY for anything but 64 hex digits.
 */
export async function identityFromSecret(secretKey) {
  const secret = parseKey(typeof secretKey === 'string' ? secretKey.trim() : secretKey, 'secret key');
  return { publicKey: hex((await publicOf(secret)).publicKey), secretKey: hex(secret) };
}

/**
 * A fresh replica id owned by `publicKey`: its family prefix and 6 random bytes, as a UUID string.
 * Use it as the `replicaId` of the `Doc` that syncs over channels of this identity.
 * @param {string} publicKey 64 hex digits
 * @returns {Promise<string>}
 * @throws AUTH_KEY for a malformed key.
 */
export async function replicaIdFor(publicKey) {
  const prefix = await family(parseKey(publicKey, 'public key'));
  return uuidString(concat(prefix, crypto.getRandomValues(new Uint8Array(6))));
}

/**
 * Whether `replicaId` belongs to `publicKey` (its first 10 bytes are the key's family prefix).
 * @param {string} replicaId UUID string
 * @param {string} publicKey 64 hex digits
 * @returns {Promise<boolean>}
 * @throws BAD_PEER_ID for a replica id that is not a UUID string, AUTH_KEY for a malformed key.
 */
export async function belongsTo(replicaId, publicKey) {
  const id = uuidBytes(replicaId);
  return equal(id.subarray(0, 10), await family(parseKey(publicKey, 'public key')));
}

/**
 * A key's short name for people and logs: its first 8 hex digits.
 * @param {string} publicKey
 * @returns {string}
 * @throws AUTH_KEY for a malformed key.
 */
export function fingerprint(publicKey) {
  return hex(parseKey(publicKey, 'public key').subarray(0, 4));
}

/**
 * Parses an allow-list file: one public key (64 hex digits) per line, optionally followed by
 * whitespace and a name; `#` starts a comment; blank lines are ignored.
 * @param {string} text
 * @returns {Map<string, string>} lowercase public key -> name ('' when the line names none);
 *   usable as `allow` as it is.
 * @throws AUTH_KEY naming the first line that is anything else (also on `err.line`).
 */
export function parseAllowList(text) {
  if (typeof text !== 'string') throw fail('AUTH_KEY', 'an allow-list is text');
  const keys = new Map();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const [, key, name = ''] = line.match(/^(\S+)(?:\s+(.*))?$/);
    if (!/^[0-9a-fA-F]{64}$/.test(key)) {
      throw Object.assign(fail('AUTH_KEY', `allow-list line ${i + 1}: not a public key (64 hex digits): "${key.slice(0, 80)}"`), { line: i + 1 });
    }
    keys.set(key.toLowerCase(), name);
  });
  return keys;
}

/**
 * One connection's end of auth protocol 2: the Noise XX handshake, then sealed frames.
 *
 * The dialing side is the `'initiator'`: `start()` gives message 1; `read(message 2)` checks
 * the responder and gives message 3; the channel is then open. The `'responder'` answers
 * `read(message 1)` with message 2, and `read(message 3)` resolves to `null` once it is open.
 * Send each message as one frame of the connection (one binary WebSocket message). After that,
 * every outgoing frame is `await seal(frame)` and every incoming one `await open(bytes)`.
 */
export class SecureChannel {
  #role;
  #secret;
  #publicKey;
  #id;
  #allow;
  #ephemeral;
  #step = 0; // initiator: 0 → 1 (message 1 sent) → open; responder: 0 → 2 (message 2 sent) → open
  #busy = false;
  #state = 'handshake';
  #hs = null; // { h, ck, k, n, e, re, s }
  #send = null; // { key, n, last }
  #recv = null;
  #peerId;
  #peerKey;

  /**
   * @param {object} options
   * @param {{publicKey: string, secretKey: string}} options.identity this side's key pair
   * @param {string} options.replicaId this side's replica id (UUID string); it must belong to the
   *   identity's key (`replicaIdFor`), or the peer refuses it with AUTH_FOREIGN_ID
   * @param {'initiator'|'responder'} options.role `'initiator'` for the side that dialed
   * @param {Iterable<string>|Map<string, string>} options.allow the peers' public keys to accept (a Map: its keys, as `parseAllowList` gives)
   * @param {{ephemeralSecret?: string|Uint8Array}} [options.testing] a fixed ephemeral secret for
   *   golden bytes; never on a real connection (it makes the session keys predictable)
   * @throws BAD_OPTION for a missing option or a bad role, AUTH_KEY for a malformed key,
   *   BAD_PEER_ID for a replica id that is not a UUID string.
   */
  constructor(options) {
    const { identity, replicaId, role, allow, testing } = options ?? {};
    if (role !== 'initiator' && role !== 'responder') throw fail('BAD_OPTION', `role must be 'initiator' or 'responder', got ${String(role)}`);
    if (!identity || typeof identity !== 'object') throw fail('BAD_OPTION', 'identity { publicKey, secretKey } is required');
    if (allow == null || typeof allow === 'string' || typeof allow[Symbol.iterator] !== 'function') {
      throw fail('BAD_OPTION', 'allow is an iterable of public keys or a Map (parse a file\'s text with parseAllowList)');
    }
    this.#role = role;
    this.#secret = parseKey(identity.secretKey, 'secret key');
    this.#publicKey = parseKey(identity.publicKey, 'public key');
    this.#id = uuidBytes(replicaId);
    const keys = allow instanceof Map ? allow.keys() : allow;
    this.#allow = new Set(Array.from(keys, (k) => hex(parseKey(k, 'allowed public key'))));
    const e = testing?.ephemeralSecret;
    if (e !== undefined && !(e instanceof Uint8Array && e.length === 32) && typeof e !== 'string') {
      throw fail('BAD_OPTION', 'testing.ephemeralSecret is 32 bytes or 64 hex digits');
    }
    this.#ephemeral = typeof e === 'string' ? parseKey(e, 'ephemeral secret') : e;
  }

  /** `'handshake'` until both sides accepted, then `'open'`; `'failed'` after any error, for good. */
  get state() { return this.#state; }

  /** The peer's replica id (UUID string), authenticated by its key; `undefined` until open. */
  get peerId() { return this.#peerId; }

  /** The peer's public key (64 hex digits); `undefined` until open. */
  get peerKey() { return this.#peerKey; }

  /**
   * Initiator only, once: message 1 (37 bytes), to send first.
   * @returns {Promise<Uint8Array>}
   * @throws (rejects) AUTH_STATE out of order; AUTH_KEY if the identity's halves do not match.
   */
  start() {
    return this.#step_(this.#role === 'initiator' && this.#step === 0, 'start() is the initiator\'s first call', async () => {
      await this.#begin();
      const msg = concat(HEADER, await this.#writeE());
      await this.#mixHash(new Uint8Array(0)); // the empty payload
      this.#step = 1;
      return msg;
    });
  }

  /**
   * Reads the peer's next handshake message. Resolves to the message to send back (message 2
   * for a responder reading message 1, message 3 for an initiator reading message 2), or `null`
   * when the channel is open and nothing is to be sent (a responder reading message 3).
   * @param {Uint8Array} bytes one frame from the peer
   * @returns {Promise<Uint8Array|null>}
   * @throws (rejects) AUTH_BAD_MAGIC, AUTH_INCOMPATIBLE, AUTH_MALFORMED, AUTH_BAD_MESSAGE,
   *   AUTH_NOT_ALLOWED, AUTH_FOREIGN_ID, AUTH_SELF_CONNECTION, AUTH_STATE; AUTH_KEY (a responder
   *   whose identity's halves do not match); BAD_VALUE for a non-Uint8Array.
   */
  read(bytes) {
    const ok = this.#state === 'handshake' && (this.#role === 'initiator' ? this.#step === 1 : this.#step !== 1);
    return this.#step_(ok, 'read() after start() (initiator) or on message 1 and 3 (responder), one at a time', async () => {
      const msg = bytesArg(bytes, 'a handshake message');
      if (this.#role === 'initiator') return this.#readMessage2(msg);
      return this.#step === 0 ? this.#readMessage1(msg) : this.#readMessage3(msg);
    });
  }

  /**
   * Seals one outgoing frame (at most `MAX_FRAME_BYTES`): the ciphertext with its 16-byte tag.
   * The frame's counter is taken when `seal` is called; the promises resolve in call order.
   * @param {Uint8Array} frame
   * @returns {Promise<Uint8Array>}
   * @throws (rejects) AUTH_STATE before the handshake ended or after a failure;
   *   AUTH_TOO_LARGE for a frame over `MAX_FRAME_BYTES`; BAD_VALUE for a non-Uint8Array.
   */
  seal(frame) {
    return this.#transport(this.#send, () => {
      const data = bytesArg(frame, 'a frame');
      if (data.length > MAX_FRAME_BYTES) throw fail('AUTH_TOO_LARGE', `frame of ${data.length} bytes; a sealed frame holds at most ${MAX_FRAME_BYTES}`);
      return aead('encrypt', this.#send.key, this.#send.n++, new Uint8Array(0), data.slice());
    }, (e) => e);
  }

  /**
   * Opens one incoming frame, which must be the peer's next one. The promises resolve in call
   * order. A frame that does not open fails the channel: close the connection.
   * @param {Uint8Array} bytes
   * @returns {Promise<Uint8Array>} the frame, to hand to `doc.receive(channel.peerId, …)`
   * @throws (rejects) AUTH_BAD_TAG for a frame injected, replayed, reordered, truncated or
   *   altered; AUTH_STATE before the handshake ended or after a failure.
   */
  open(bytes) {
    return this.#transport(this.#recv, () => {
      const data = bytesArg(bytes, 'a sealed frame');
      const n = this.#recv.n++;
      if (data.length < TAG_LEN || data.length > MAX_FRAME_BYTES + TAG_LEN) {
        return Promise.reject(fail('AUTH_BAD_TAG', `frame ${n} of ${data.length} bytes cannot be a sealed frame`));
      }
      return aead('decrypt', this.#recv.key, n, new Uint8Array(0), data.slice());
    }, (e, n) => (isCoded(e) ? e : fail('AUTH_BAD_TAG', `frame ${n} from the peer does not open (injected, replayed, reordered or altered)`)));
  }

  // --- internals ----------------------------------------------------------------------------

  /** Marks the channel failed for good and forgets its keys; returns `err` coded. */
  #fail(err) {
    this.#state = 'failed';
    this.#hs = this.#send = this.#recv = null;
    return isCoded(err) ? err : fail('AUTH', `unexpected failure: ${err?.message ?? err}`);
  }

  /** Throws AUTH_STATE if another call failed the channel while this one awaited WebCrypto. */
  #live() {
    if (this.#state === 'failed') throw fail('AUTH_STATE', 'the channel failed during this call');
  }

  /** Runs one handshake step: `ok` says the call is in order; one step at a time. */
  async #step_(ok, what, run) {
    if (!ok || this.#busy) {
      const why = this.#state === 'failed' ? 'the channel failed' : `call out of order: ${what}`;
      throw this.#fail(fail('AUTH_STATE', why));
    }
    this.#busy = true;
    try {
      const out = await run();
      this.#live();
      return out;
    } catch (e) {
      // A step still running when another call failed the channel finds its state gone.
      if (this.#state === 'failed' && !isCoded(e)) throw fail('AUTH_STATE', 'the channel failed during this call');
      throw this.#fail(e);
    } finally {
      this.#busy = false;
    }
  }

  /** Queues a seal or open: `start` runs now (binding the counter), results resolve in call order. */
  #transport(dir, start, coded) {
    if (this.#state !== 'open') {
      const why = this.#state === 'failed' ? 'the channel failed' : 'the handshake has not ended';
      return Promise.reject(this.#fail(fail('AUTH_STATE', why)));
    }
    const n = dir.n;
    let pending;
    try {
      pending = start();
    } catch (e) {
      return Promise.reject(this.#fail(e));
    }
    // Handled here at once: it may fail while an earlier frame is still being worked on, and a
    // rejection with no handler yet would be reported as unhandled (and end a Node process).
    pending.catch(() => {});
    const result = dir.last.then(() => pending).then(
      (out) => {
        if (this.#state === 'failed') throw fail('AUTH_STATE', 'the channel failed before this frame');
        return out;
      },
      (e) => {
        throw this.#state === 'failed' ? fail('AUTH_STATE', 'the channel failed before this frame') : this.#fail(coded(e, n));
      },
    );
    dir.last = result.catch(() => {});
    return result;
  }

  /**
   * Checks the identity's halves match, then InitializeSymmetric and MixHash(prologue). The
   * replica id is not checked here: the peer refuses one its key does not own (AUTH_FOREIGN_ID),
   * exactly as it would refuse an impostor's.
   */
  async #begin() {
    const { key, publicKey } = await publicOf(this.#secret);
    this.#live();
    if (!equal(publicKey, this.#publicKey)) throw fail('AUTH_KEY', 'identity.publicKey is not the public key of identity.secretKey');
    const h = concat(utf8(PROTOCOL_NAME), new Uint8Array(32 - PROTOCOL_NAME.length));
    this.#hs = { h, ck: h, k: null, n: 0, s: key };
    await this.#mixHash(utf8(PROLOGUE));
  }

  async #mixHash(data) { this.#hs.h = await sha256(concat(this.#hs.h, data)); }

  async #mixKey(ikm) {
    const [ck, k] = await hkdf2(this.#hs.ck, ikm);
    Object.assign(this.#hs, { ck, k: await aesKey(k), n: 0 });
  }

  async #encryptAndHash(plaintext) {
    const c = await aead('encrypt', this.#hs.k, this.#hs.n++, this.#hs.h, plaintext);
    await this.#mixHash(c);
    return c;
  }

  async #decryptAndHash(ciphertext, what) {
    let p;
    try {
      p = await aead('decrypt', this.#hs.k, this.#hs.n++, this.#hs.h, ciphertext);
    } catch {
      throw fail('AUTH_BAD_MESSAGE', `${what} does not decrypt (altered, or from another handshake)`);
    }
    await this.#mixHash(ciphertext);
    return p;
  }

  /** A DH that WebCrypto refuses (a low-order point gives all zeros) is a bad message. */
  async #dh(secretKey, publicBytes, what) {
    try {
      return await dh(secretKey, publicBytes);
    } catch (e) {
      if (e?.code === 'AUTH_UNSUPPORTED') throw e;
      throw fail('AUTH_BAD_MESSAGE', `${what}: unusable ephemeral or static key`);
    }
  }

  /** The `e` token of a message this side writes: a new ephemeral key pair, MixHash(e.public). */
  async #writeE() {
    let secret = this.#ephemeral;
    if (!secret) {
      const pair = await webcrypto((s) => s.generateKey({ name: 'X25519' }, true, ['deriveBits']));
      secret = fromBase64Url((await webcrypto((s) => s.exportKey('jwk', pair.privateKey))).d);
    }
    const { key, publicKey } = await publicOf(secret);
    this.#hs.e = key;
    await this.#mixHash(publicKey);
    return publicKey;
  }

  /** Responder: message 1 (`-> e`) in, message 2 (`<- e, ee, s, es`, our replica id) out. */
  async #readMessage1(msg) {
    if (msg.length < 4 || !equal(msg.subarray(0, 4), HEADER.slice(0, 4))) throw fail('AUTH_BAD_MAGIC', 'not a deltacrdt auth handshake');
    if (msg.length < 5) throw fail('AUTH_MALFORMED', `message 1 of ${msg.length} bytes; expected ${MSG1_LEN}`);
    if (msg[4] !== 2) throw fail('AUTH_INCOMPATIBLE', `peer speaks auth protocol version ${msg[4]}; this side speaks 2`);
    if (msg.length !== MSG1_LEN) throw fail('AUTH_MALFORMED', `message 1 of ${msg.length} bytes; expected ${MSG1_LEN}`);
    await this.#begin();
    this.#hs.re = msg.slice(5);
    await this.#mixHash(this.#hs.re);
    await this.#mixHash(new Uint8Array(0)); // the empty payload
    const e = await this.#writeE();
    await this.#mixKey(await this.#dh(this.#hs.e, this.#hs.re, 'message 1')); // ee
    const s = await this.#encryptAndHash(this.#publicKey);
    await this.#mixKey(await this.#dh(this.#hs.s, this.#hs.re, 'message 1')); // es
    const payload = await this.#encryptAndHash(this.#id);
    this.#step = 2;
    return concat(e, s, payload);
  }

  /** Initiator: message 2 in (checked BEFORE anything of ours is sent), message 3 out. */
  async #readMessage2(msg) {
    if (msg.length === V1_HELLO_LEN && equal(msg.subarray(0, 5), [...HEADER.slice(0, 4), 1])) {
      throw fail('AUTH_INCOMPATIBLE', 'peer speaks auth protocol version 1; this side speaks 2');
    }
    if (msg.length !== MSG2_LEN) throw fail('AUTH_MALFORMED', `message 2 of ${msg.length} bytes; expected ${MSG2_LEN}`);
    const hs = this.#hs;
    hs.re = msg.slice(0, 32);
    await this.#mixHash(hs.re);
    await this.#mixKey(await this.#dh(hs.e, hs.re, 'message 2')); // ee
    const rs = await this.#decryptAndHash(msg.subarray(32, 80), 'message 2');
    await this.#mixKey(await this.#dh(hs.e, rs, 'message 2')); // es
    const peerId = await this.#decryptAndHash(msg.subarray(80), 'message 2');
    await this.#accept(rs, peerId);
    const s = await this.#encryptAndHash(this.#publicKey);
    await this.#mixKey(await this.#dh(hs.s, hs.re, 'message 2')); // se
    const payload = await this.#encryptAndHash(this.#id);
    await this.#split();
    return concat(s, payload);
  }

  /** Responder: message 3 (`-> s, se`, the initiator's replica id) in; the channel opens. */
  async #readMessage3(msg) {
    if (msg.length !== MSG3_LEN) throw fail('AUTH_MALFORMED', `message 3 of ${msg.length} bytes; expected ${MSG3_LEN}`);
    const rs = await this.#decryptAndHash(msg.subarray(0, 48), 'message 3');
    await this.#mixKey(await this.#dh(this.#hs.e, rs, 'message 3')); // se
    const peerId = await this.#decryptAndHash(msg.subarray(48), 'message 3');
    await this.#accept(rs, peerId);
    await this.#split();
    return null;
  }

  /** The peer's static key and replica id, against the allow-list, its family and our own id. */
  async #accept(rs, id) {
    const key = hex(rs);
    if (!this.#allow.has(key)) throw fail('AUTH_NOT_ALLOWED', `peer key ${key.slice(0, 8)} is not on the allow-list`);
    if (!equal(id.subarray(0, 10), await family(rs))) {
      throw fail('AUTH_FOREIGN_ID', `peer key ${key.slice(0, 8)} does not own replica id ${uuidString(id)}`);
    }
    if (equal(id, this.#id)) throw fail('AUTH_SELF_CONNECTION', `peer claims this replica's own id ${uuidString(id)}`);
    this.#hs.peer = [key, uuidString(id)];
  }

  /** Split(): the initiator sends with the first key, the responder with the second. */
  async #split() {
    const [k1, k2] = await hkdf2(this.#hs.ck, new Uint8Array(0));
    const [mine, theirs] = this.#role === 'initiator' ? [k1, k2] : [k2, k1];
    const [send, recv] = [await aesKey(mine), await aesKey(theirs)];
    this.#live();
    [this.#peerKey, this.#peerId] = this.#hs.peer;
    this.#send = { key: send, n: 0, last: Promise.resolve() };
    this.#recv = { key: recv, n: 0, last: Promise.resolve() };
    this.#hs = null;
    this.#state = 'open';
  }
}
