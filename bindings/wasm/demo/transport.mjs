// The demo relay's transport: `ready`, `send(to, bytes)` and the callbacks `onPeer`, `onLeft`,
// `onFrame`. (A native peer's WebSocket listener is dialed by the package's own
// WebSocketProvider, `deltacrdt-wasm/websocket`, in providers/websocket.mjs.)

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
