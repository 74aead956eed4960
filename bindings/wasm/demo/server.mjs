// The demo's server: static files on 127.0.0.1 (the demo pages, the --target web build under
// /pkg/ and the JS channel under /channel/) plus a WebSocket relay at /relay that carries sync
// frames between replicas. /providers/ serves the IndexedDB and BroadcastChannel providers.
//
// Relay protocol (what a native WebSocket peer would speak too):
// - text  {"join": "<replica uuid>"}   a client announces itself once, first;
// - text  {"peers": ["<uuid>", ...]}   the relay tells clients who else is there (on join);
// - text  {"left": "<uuid>"}           a client went away;
// - binary [16 B to][16 B from][frame] one sync frame, forwarded to the client that joined as `to`.
//
// Run: node demo/server.mjs [port]   (prints the URL; 0 or nothing picks a free port)
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
const roots = { '/pkg/': path.join(here, '..', 'pkg', 'web'), '/channel/': path.join(here, '..', 'channel'), '/providers/': path.join(here, '..', 'providers'), '/': here };
const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png', '.css': 'text/css',
};

function serveStatic(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  let pathname = decodeURIComponent(url.pathname);
  if (pathname === '/') pathname = '/index.html';
  const prefix = Object.keys(roots).find((p) => pathname.startsWith(p));
  const root = roots[prefix];
  const file = path.join(root, pathname.slice(prefix.length));
  if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
  fs.readFile(file, (err, data) => {
    if (err) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(data);
  });
}

const uuidToBytes = (id) => Buffer.from(id.replace(/-/g, ''), 'hex');
const bytesToUuid = (b) => {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** Starts the server on 127.0.0.1:`port`; resolves to { server, relay, url, close() }. */
export function start(port = 0) {
  const server = http.createServer(serveStatic);
  const relay = new WebSocketServer({ server, path: '/relay' });
  const clients = new Map(); // uuid -> socket
  relay.on('connection', (ws) => {
    let me = null;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        let msg;
        try { msg = JSON.parse(data.toString()); } catch { return; }
        if (typeof msg.join === 'string' && /^[0-9a-f-]{36}$/.test(msg.join) && !me) {
          me = msg.join;
          ws.send(JSON.stringify({ peers: [...clients.keys()] }));
          for (const other of clients.values()) other.send(JSON.stringify({ peers: [me] }));
          clients.set(me, ws);
        }
        return;
      }
      if (!me || data.length < 32) return;
      const to = clients.get(bytesToUuid(data.subarray(0, 16)));
      // The relay vouches for the sender: it overwrites `from` with the id this socket joined as.
      uuidToBytes(me).copy(data, 16);
      if (to && to.readyState === 1) to.send(data, { binary: true });
    });
    ws.on('close', () => {
      if (me && clients.get(me) === ws) {
        clients.delete(me);
        for (const other of clients.values()) other.send(JSON.stringify({ left: me }));
      }
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => {
    const url = `http://127.0.0.1:${server.address().port}/`;
    resolve({
      server, relay, url,
      close: () => new Promise((r) => { for (const c of relay.clients) c.terminate(); relay.close(); server.close(r); }),
    });
  }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await start(Number(process.argv[2] || 8080));
  console.log(`deltacrdt demo: ${url}  (two replicas side by side; open ${url}replica.html in more tabs for more)`);
}
