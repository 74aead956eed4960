// Transports carry sync frames between replicas; the page only needs `ready`, `send(to, bytes)`
// and the callbacks. `RelayTransport` talks to the demo server's WebSocket relay;
// `NativeTransport` dials a native peer's WebSocket listener (`p2p peer --ws ADDR`) directly
// and runs auth protocol 2 over it (a SecureChannel from the package's channel/).

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
export const uuidToBytes = (id) => Uint8Array.from(id.replace(/-/g, '').match(/../g), (h) => parseInt(h, 16));
export const bytesToUuid = (b) => {
  const h = hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

export class RelayTransport {
  /** @param {string} url ws:// address of the relay; @param {string} me this replica's id */
  constructor(url, me) {
    this.me = me;
    this.onPeer = () => {};
    this.onLeft = () => {};
    this.onFrame = () => {};
    this.ws = new WebSocket(url);
    this.ws.binaryType = 'arraybuffer';
    this.ready = new Promise((resolve, reject) => {
      this.ws.onopen = () => { this.ws.send(JSON.stringify({ join: me })); resolve(); };
      this.ws.onerror = reject;
    });
    this.ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') {
        const msg = JSON.parse(ev.data);
        for (const p of msg.peers || []) this.onPeer(p);
        if (msg.left) this.onLeft(msg.left);
        return;
      }
      const b = new Uint8Array(ev.data);
      if (b.length >= 32) this.onFrame(bytesToUuid(b.subarray(16, 32)), b.subarray(32));
    };
  }

  /** Sends one frame to peer `to`. */
  send(to, bytes) {
    if (this.ws.readyState !== 1) return;
    const out = new Uint8Array(32 + bytes.length);
    out.set(uuidToBytes(to), 0);
    out.set(uuidToBytes(this.me), 16);
    out.set(bytes, 32);
    this.ws.send(out);
  }
}

/**
 * A direct WebSocket connection to a native peer (`cargo run --features tokio --example p2p --
 * peer --ws 127.0.0.1:7401 --identity KEY_FILE --allow ALLOW_FILE`), one binary message per
 * frame, encrypted and mutually authenticated by auth protocol 2 (src/auth/PROTOCOL.md):
 * message 1, 2 and 3 of the Noise handshake, then only sealed frames. `channel` is a fresh
 * initiator `SecureChannel` (deltacrdt-wasm/channel) made by the caller with this page's identity,
 * a replica id its key owns and the native peers' public keys as `allow`.
 *
 * `onPeer(peerId)` is called once the channel opened (the peer's key is on `allow` and its replica
 * id is its key's), with the id the handshake authenticated, never one the peer merely claims.
 * `ready` resolves to that id when the peer's first sealed frame opened, which shows that the peer
 * accepted this page too; it rejects with the channel's error (`AUTH_NOT_ALLOWED` for a peer key
 * not on `allow`, …), or with `NET` if the socket closed first (the peer refused this page: its
 * key is not on the peer's allow-list, or the peer speaks another protocol). `onError` hears a
 * failure after that (`AUTH_BAD_TAG`, …); the socket is then closed and `onLeft` called.
 * Like the native peers, it sends a keepalive (an empty sealed frame) after a quiet second and
 * closes the connection when nothing, not even a keepalive, was heard for 5 s; received
 * keepalives never reach `onFrame`.
 */
const KEEPALIVE_MS = 1000;
const LIVENESS_MS = 5000;

export class NativeTransport {
  /** @param {string} url ws:// address of the native peer; @param channel a fresh SecureChannel (initiator) */
  constructor(url, channel) {
    this.channel = channel;
    this.peer = null;
    this.onPeer = () => {};
    this.onLeft = () => {};
    this.onFrame = () => {};
    this.onError = () => {};
    this.ws = new WebSocket(url);
    this.ws.binaryType = 'arraybuffer';
    const net = (message) => Object.assign(new Error(`NET: ${message}`), { code: 'NET' });
    let step = 'handshake'; // → 'open' (channel open) → 'ready' (the peer's first frame) | 'failed'
    let inbox = Promise.resolve(); // one message at a time, in arrival order
    // Liveness, as the native peers keep it (NetConfig::keepalive, ::liveness_timeout): an
    // empty sealed frame after a quiet second; nothing heard for 5 s closes the connection.
    this.sentAt = this.heardAt = Date.now();
    const live = setInterval(() => {
      if (step !== 'open' && step !== 'ready') return;
      if (Date.now() - this.heardAt > LIVENESS_MS) return this.fail(net('nothing heard from the native peer for 5 s'));
      if (Date.now() - this.sentAt >= KEEPALIVE_MS) this.sendSealed(new Uint8Array(0));
    }, KEEPALIVE_MS / 4);
    this.ready = new Promise((resolve, reject) => {
      this.fail = (err) => {
        if (step === 'failed') return;
        clearInterval(live);
        const was = step;
        step = 'failed';
        this.error = err;
        this.ws.close();
        if (was === 'ready') {
          this.onError(err);
        } else reject(err);
        if (was !== 'handshake') this.onLeft(this.peer);
      };
      this.ws.onopen = () => channel.start().then((m1) => this.ws.send(m1), this.fail);
      this.ws.onerror = () => this.fail(net(`WebSocket error on ${url}`));
      this.ws.onclose = () => {
        if (step === 'ready') {
          step = 'failed';
          clearInterval(live);
          this.onLeft(this.peer);
        } else this.fail(net(`${url} closed the connection during the handshake (is this page's key on its allow-list?)`));
      };
      const handle = async (data) => {
        if (step === 'failed') return;
        if (typeof data === 'string') throw net('text message from a native peer');
        const bytes = new Uint8Array(data);
        if (step === 'handshake') {
          this.ws.send(await channel.read(bytes)); // message 2 in, message 3 out: the channel is open
          step = 'open';
          this.peer = channel.peerId;
          this.onPeer(this.peer);
          return;
        }
        const frame = await channel.open(bytes);
        this.heardAt = Date.now();
        if (step === 'open') {
          step = 'ready';
          resolve(this.peer);
        }
        if (frame.length > 0) this.onFrame(this.peer, frame); // empty: a keepalive
      };
      this.ws.onmessage = (ev) => {
        inbox = inbox.then(() => handle(ev.data)).catch(this.fail);
      };
    });
  }

  /** Sends one frame to peer `to` (only the authenticated native peer is reachable here). */
  send(to, bytes) {
    if (to !== this.peer) return;
    this.sendSealed(bytes);
  }

  /** Seals and sends one frame; seal resolves in call order, so frames leave in order. */
  sendSealed(bytes) {
    if (this.ws.readyState !== 1 || this.channel.state !== 'open') return;
    this.sentAt = Date.now();
    this.channel.seal(bytes).then((sealed) => { if (this.ws.readyState === 1) this.ws.send(sealed); }, this.fail);
  }
}
