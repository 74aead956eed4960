// WebSocketProvider: keeps a Doc synced with one native peer (`p2p peer --ws ADDR`) over a
// WebSocket, speaking the native channel: auth protocol 2 (src/auth/PROTOCOL.md) through a fresh
// initiator SecureChannel per connection, then one sealed sync frame per binary message.
//
// A connection's life, as the native dialer's (src/net/network.rs `dial_loop`,
// src/net/connection.rs):
//   connecting  the socket opens, message 1 out, message 2 in, message 3 out (the channel is
//               open: the peer's key is on `allow` and its replica id is its key's);
//   open        the peer's first sealed frame opened (it accepted this side too): the Doc is
//               connected to the peer's authenticated id and the driver routes its frames here;
//               a keepalive (an empty sealed frame) goes out after a quiet `keepaliveMs`, and
//               nothing heard for `livenessMs` closes the connection;
//   backoff     after any failure or close: the next dial waits an exponential, jittered delay
//               (min doubling to max, times a random factor in [0.5, 1.5), as `Backoff`), which
//               starts again from the minimum after a session that heard its peer.
// A session that closes disconnects the Doc from the peer (the engine resends what was not
// acknowledged to the next session).

import { SecureChannel, belongsTo, identityFromSecret } from '../channel/index.mjs';
import { driverFor } from './driver.mjs';

const fail = (code, message) => Object.assign(new Error(`${code}: ${message}`), { code });
const net = (message) => fail('NET', message);
const token = Symbol('WebSocketProvider.open');
const positive = (v) => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** Syncs a Doc with one native peer over a WebSocket, redialing with backoff for as long as it is open. */
export class WebSocketProvider extends EventTarget {
  #driver;
  #me;
  #url;
  #identity;
  #allow;
  #Socket;
  #min;
  #max;
  #keepalive;
  #liveness;
  #handshake;
  #random;
  #delay; // the next backoff's base delay
  #status = 'connecting';
  #conn; // the current connection: { ws, channel, step, peer, sentAt, heardAt, timer }
  #redial; // the backoff timer
  #peer;
  #peerKey;

  /**
   * Checks the options, then dials `options.url` and keeps the connection (see the README).
   * Rejects with BAD_OPTION for a missing or malformed option, WEBSOCKET_UNSUPPORTED without a
   * WebSocket class, AUTH_KEY for a malformed key or an identity whose halves do not match, and
   * AUTH_FOREIGN_ID when the Doc's replica id does not belong to `identity.publicKey` (the peer
   * would refuse every connection; make the id with `replicaIdFor`).
   * @returns {Promise<WebSocketProvider>}
   */
  static async open(doc, options) {
    const provider = new WebSocketProvider(token, doc, options);
    const { publicKey, secretKey } = options.identity;
    if ((await identityFromSecret(secretKey)).publicKey !== publicKey.toLowerCase()) {
      throw fail('AUTH_KEY', 'identity.publicKey is not the public key of identity.secretKey');
    }
    if (!(await belongsTo(doc.replicaId, publicKey))) {
      throw fail('AUTH_FOREIGN_ID', `the Doc's replica id ${doc.replicaId} does not belong to identity.publicKey (make it with replicaIdFor)`);
    }
    // Only now: the driver takes poll() over, which a Doc refused here may still need.
    provider.#driver = driverFor(doc);
    provider.#dial();
    return provider;
  }

  /** Use `WebSocketProvider.open(doc, options)`. */
  constructor(key, doc, options) {
    super();
    if (key !== token) throw fail('BAD_OPTION', 'use WebSocketProvider.open(doc, options)');
    if (typeof doc?.poll !== 'function' || typeof doc?.receive !== 'function') throw fail('BAD_OPTION', 'the first argument must be a Doc');
    const o = options ?? {};
    if (typeof o.url !== 'string' || !/^wss?:\/\//i.test(o.url)) throw fail('BAD_OPTION', 'option url must be a ws:// or wss:// address');
    const Socket = o.WebSocket ?? globalThis.WebSocket;
    if (typeof Socket !== 'function') throw fail('WEBSOCKET_UNSUPPORTED', 'no WebSocket here: pass options.WebSocket (in Node 20, the ws package\'s)');
    const ms = { minBackoffMs: 100, maxBackoffMs: 5000, keepaliveMs: 1000, livenessMs: 5000, handshakeMs: 3000 };
    for (const name of Object.keys(ms)) {
      if (o[name] === undefined) continue;
      if (!positive(o[name])) throw fail('BAD_OPTION', `option ${name} must be a positive number of milliseconds`);
      ms[name] = o[name];
    }
    if (o.random !== undefined && typeof o.random !== 'function') throw fail('BAD_OPTION', 'option random must be a function returning [0, 1)');
    // Checks identity, replica id and allow-list shapes at once (BAD_OPTION, AUTH_KEY, BAD_PEER_ID).
    new SecureChannel({ identity: o.identity, replicaId: doc.replicaId, role: 'initiator', allow: o.allow });
    this.#me = doc.replicaId;
    this.#url = o.url;
    this.#identity = { publicKey: o.identity.publicKey, secretKey: o.identity.secretKey };
    this.#allow = o.allow instanceof Map ? [...o.allow.keys()] : [...o.allow];
    this.#Socket = Socket;
    this.#min = ms.minBackoffMs;
    this.#max = Math.max(ms.maxBackoffMs, ms.minBackoffMs);
    this.#keepalive = ms.keepaliveMs;
    this.#liveness = ms.livenessMs;
    this.#handshake = ms.handshakeMs;
    this.#random = o.random ?? Math.random;
    this.#delay = this.#min;
  }

  /** `'connecting'`, `'open'` (a session that heard the peer), `'backoff'` or `'closed'`. */
  get status() {
    return this.#status;
  }

  /** The peer's authenticated replica id while a session is open, else undefined. */
  get peer() {
    return this.#peer;
  }

  /** The peer's public key while a session is open, else undefined. */
  get peerKey() {
    return this.#peerKey;
  }

  /** Closes the connection and stops redialing, for good. */
  close() {
    if (this.#status === 'closed') return;
    clearTimeout(this.#redial);
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn) this.#end(conn, undefined);
    this.#setStatus('closed');
  }

  #setStatus(status, extra = {}) {
    this.#status = status;
    this.dispatchEvent(new CustomEvent('status', { detail: { status, ...extra } }));
  }

  #dial() {
    if (this.#status === 'closed') return;
    this.#setStatus('connecting');
    const channel = new SecureChannel({ identity: this.#identity, replicaId: this.#me, role: 'initiator', allow: this.#allow });
    let ws;
    try {
      ws = new this.#Socket(this.#url);
    } catch (e) {
      return this.#failed(undefined, Object.assign(net(`cannot dial ${this.#url}: ${e?.message ?? e}`), { cause: e }));
    }
    ws.binaryType = 'arraybuffer';
    const conn = { ws, channel, step: 'handshake', peer: undefined, sentAt: Date.now(), heardAt: Date.now(), timer: undefined, inbox: Promise.resolve() };
    this.#conn = conn;
    // A peer that never answers, or a socket that never opens, must not hold the dialer.
    conn.timer = setTimeout(() => this.#failed(conn, net(`no handshake with ${this.#url} within ${this.#handshake} ms`)), this.#handshake);
    ws.onopen = () => channel.start().then((m1) => this.#send(conn, m1), (e) => this.#failed(conn, e));
    ws.onerror = () => this.#failed(conn, net(`WebSocket error on ${this.#url}`));
    ws.onclose = () => {
      if (conn.step === 'heard') this.#failed(conn, undefined); // the peer went away: redial
      else if (conn.step === 'open') this.#failed(conn, net(`${this.#url} closed the connection during the handshake (is this key on its allow-list?)`));
      else this.#failed(conn, net(`${this.#url} closed the connection before answering the handshake`));
    };
    ws.onmessage = (ev) => {
      conn.inbox = conn.inbox.then(() => this.#handle(conn, ev.data)).catch((e) => this.#failed(conn, e));
    };
  }

  async #handle(conn, data) {
    if (conn !== this.#conn) return;
    if (typeof data === 'string') throw net('a text message from the native peer');
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (conn.step === 'handshake') {
      const m3 = await conn.channel.read(bytes); // message 2 in, message 3 out: the channel is open
      if (conn !== this.#conn) return;
      this.#send(conn, m3);
      conn.step = 'open';
      conn.peer = conn.channel.peerId;
      return;
    }
    const frame = await conn.channel.open(bytes);
    if (conn !== this.#conn) return;
    conn.heardAt = Date.now();
    if (conn.step === 'open') {
      // The peer accepted this side too: a session. Route the peer and reset the backoff.
      conn.step = 'heard';
      clearTimeout(conn.timer);
      this.#delay = this.#min;
      this.#peer = conn.peer;
      this.#peerKey = conn.channel.peerKey;
      this.#driver.route(conn.peer, (f) => this.#seal(conn, f));
      this.#setStatus('open', { peer: conn.peer });
      this.dispatchEvent(new CustomEvent('peer', { detail: { peer: conn.peer, joined: true } }));
      this.#live(conn);
    }
    if (frame.length === 0) return; // a keepalive
    try {
      this.#driver.receive(conn.peer, frame);
    } catch (error) {
      // A frame the Doc refused changed nothing; report it (its `code` says why) and go on.
      this.dispatchEvent(new CustomEvent('error', { detail: { peer: conn.peer, error } }));
    }
  }

  /** Keepalive and liveness: one timer, at the earlier of the two deadlines. */
  #live(conn) {
    clearTimeout(conn.timer);
    const now = Date.now();
    if (now - conn.heardAt >= this.#liveness) return this.#failed(conn, net(`nothing heard from ${this.#url} for ${this.#liveness} ms`));
    if (now - conn.sentAt >= this.#keepalive) this.#seal(conn, new Uint8Array(0));
    const next = Math.min(conn.sentAt + this.#keepalive, conn.heardAt + this.#liveness);
    conn.timer = setTimeout(() => this.#live(conn), Math.max(1, next - Date.now()));
  }

  #send(conn, bytes) {
    if (conn === this.#conn && conn.ws.readyState === 1) conn.ws.send(bytes);
  }

  /** Seals and sends one frame; seal resolves in call order, so frames leave in order. */
  #seal(conn, frame) {
    if (conn !== this.#conn || conn.channel.state !== 'open' || conn.ws.readyState !== 1) return;
    conn.sentAt = Date.now();
    conn.channel.seal(frame).then((sealed) => this.#send(conn, sealed), (e) => this.#failed(conn, e));
  }

  /** Ends a connection (`error`, if any, is reported) and schedules the next dial. */
  #failed(conn, error) {
    if (conn !== undefined && conn !== this.#conn) return; // already ended
    this.#conn = undefined;
    if (conn) this.#end(conn, error);
    else if (error) this.dispatchEvent(new CustomEvent('error', { detail: { error } }));
    if (this.#status === 'closed') return;
    const delayMs = Math.round(this.#delay * (0.5 + this.#random()));
    this.#delay = Math.min(this.#delay * 2, this.#max);
    this.#setStatus('backoff', { delayMs });
    this.#redial = setTimeout(() => this.#dial(), delayMs);
  }

  #end(conn, error) {
    clearTimeout(conn.timer);
    // Handlers that do nothing rather than none: the ws package throws an 'error' nobody hears.
    const ignore = () => {};
    conn.ws.onopen = conn.ws.onmessage = conn.ws.onerror = conn.ws.onclose = ignore;
    try {
      conn.ws.close();
    } catch {
      // closing a socket that never opened may throw in some hosts
    }
    if (error) this.dispatchEvent(new CustomEvent('error', { detail: { error } }));
    if (conn.step === 'heard') {
      this.#peer = this.#peerKey = undefined;
      this.#driver.unroute(conn.peer);
      this.dispatchEvent(new CustomEvent('peer', { detail: { peer: conn.peer, joined: false } }));
    }
  }
}
