// Transports carry sync frames between replicas; the page only needs `ready`, `send(to, bytes)`
// and the callbacks. `RelayTransport` talks to the demo server's WebSocket relay;
// `NativeTransport` dials a native peer's WebSocket listener (`p2p peer --ws ADDR`) directly
// and runs the peers' authentication handshake over it.

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
 * peer --ws 127.0.0.1:7401 --key K`). The native listener accepts only authenticated
 * connections, one binary message per frame: both sides send a hello, then a proof, then only
 * sealed frames (src/auth/PROTOCOL.md). `channel` is an `AuthChannel` made by the caller as
 * `new AuthChannel(key, doc.replicaId, 'initiator')`; the peer id handed to `onPeer` and
 * `onFrame` is the one the handshake authenticated, never one the peer merely claims.
 * `ready` rejects (with the channel's `AUTH_*` error, e.g. `AUTH_BAD_PROOF` for a wrong key)
 * if the handshake fails; `onError` hears a later failure (e.g. `AUTH_BAD_TAG`), after which
 * the socket is closed and `onLeft` is called.
 */
export class NativeTransport {
  /** @param {string} url ws:// address of the native peer; @param channel a fresh AuthChannel (initiator) */
  constructor(url, channel) {
    this.channel = channel;
    this.peer = null;
    this.onPeer = () => {};
    this.onLeft = () => {};
    this.onFrame = () => {};
    this.onError = () => {};
    this.ws = new WebSocket(url);
    this.ws.binaryType = 'arraybuffer';
    let step = 'hello';
    this.ready = new Promise((resolve, reject) => {
      const fail = (err) => {
        this.error = err;
        this.ws.close();
        if (step === 'open') {
          this.onError(err);
          this.onLeft(this.peer);
        } else reject(err);
        step = 'failed';
      };
      this.ws.onopen = () => this.ws.send(channel.hello());
      this.ws.onerror = () => fail(Object.assign(new Error(`WebSocket error on ${url}`), { code: 'NET' }));
      this.ws.onclose = () => {
        if (step === 'open') this.onLeft(this.peer);
        else if (step !== 'failed') fail(Object.assign(new Error(`${url} closed during the handshake`), { code: 'NET' }));
        step = 'failed';
      };
      this.ws.onmessage = (ev) => {
        if (typeof ev.data === 'string') return fail(Object.assign(new Error('text message from a native peer'), { code: 'NET' }));
        const bytes = new Uint8Array(ev.data);
        try {
          if (step === 'hello') {
            this.ws.send(channel.readHello(bytes));
            step = 'proof';
          } else if (step === 'proof') {
            this.peer = channel.readProof(bytes);
            step = 'open';
            resolve(this.peer);
            this.onPeer(this.peer);
          } else if (step === 'open') {
            this.onFrame(this.peer, channel.open(bytes));
          }
        } catch (e) {
          fail(e);
        }
      };
    });
  }

  /** Sends one frame to peer `to` (only the authenticated native peer is reachable here). */
  send(to, bytes) {
    if (to !== this.peer || this.ws.readyState !== 1 || this.channel.state !== 'open') return;
    this.ws.send(this.channel.seal(bytes));
  }
}
