// One replica of the task board: a wasm Doc, a transport, and a render loop.
// With `?native=ws://127.0.0.1:7401&allow=KEY[,KEY…]` it also dials a native peer of the p2p
// demo (`p2p peer --ws 127.0.0.1:7401 --identity FILE --allow FILE`) over an encrypted
// SecureChannel, accepting only the native public keys listed in `allow`. The page's own
// identity is `secret=` (64 hex digits, e.g. a file `p2p keygen` wrote) or else one kept in
// localStorage (made on first use); its public key is shown, for the native peer's allow-list.
import init, { Doc } from './pkg/deltacrdt_wasm.js';
import { generateIdentity, identityFromSecret, parseAllowList, replicaIdFor } from './channel/index.mjs';
import { driverFor } from './providers/driver.mjs';
import { WebSocketProvider } from './providers/websocket.mjs';
import { RelayTransport } from './transport.mjs';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const name = params.get('name') || 'Replica';
$('name').textContent = name;
const show = (text) => { $('native').hidden = false; $('native').textContent = text; };

const t0 = performance.now();
await init();
window.instantiateMs = performance.now() - t0;

/** This page's identity: `secret=` if given, else the one this browser keeps (made once). */
async function pageIdentity() {
  if (params.get('secret')) return identityFromSecret(params.get('secret'));
  const kept = localStorage.getItem('deltacrdt-demo-secret');
  if (kept) return identityFromSecret(kept);
  const fresh = await generateIdentity();
  localStorage.setItem('deltacrdt-demo-secret', fresh.secretKey);
  return fresh;
}

// With a native peer, the replica id must belong to the page's key (the peer checks it).
let identity;
let nativeSetup;
if (params.get('native')) {
  try {
    identity = await pageIdentity();
    nativeSetup = { url: params.get('native'), allow: parseAllowList((params.get('allow') ?? '').split(',').join('\n')) };
  } catch (e) {
    window.nativeError = e.code;
    show(`native peer not dialed: ${e.message}`);
  }
}
const doc = new Doc(identity && nativeSetup ? { replicaId: await replicaIdFor(identity.publicKey) } : {});
$('replica').textContent = doc.replicaId;
let offline = false;

// The providers' driver owns the Doc's poll()/tick() loop (drained after every change, ticked at
// pollTimeout()); the relay is routed through it so that it shares the Doc with the WebSocket
// provider. (The driver is internal to the package; the demo, which ships with it, uses it.)
const driver = driverFor(doc);
// `?relay=off`: no demo relay, so the page reaches only the native peer (a sync server test).
const relay = params.get('relay') === 'off' ? null : new RelayTransport(`ws://${location.host}/relay`, doc.replicaId);
if (relay) relay.onPeer = (peer) => driver.route(peer, (bytes) => { if (!offline) relay.send(peer, bytes); });
if (relay) relay.onLeft = (peer) => driver.unroute(peer);
if (relay) relay.onFrame = (from, bytes) => {
  if (offline) return; // a partitioned replica hears nothing
  try {
    driver.receive(from, bytes);
  } catch (e) {
    console.warn(`refused a frame from ${from}: ${e.code}`); // e.g. DECODE, CLOCK_DRIFT
  }
};

let native; // the WebSocketProvider to the native peer, while online
/** Dials the native peer (deltacrdt-wasm/websocket: auth protocol 2, keepalives, redials with backoff). */
async function dialNative() {
  native = await WebSocketProvider.open(doc, { url: nativeSetup.url, identity, allow: nativeSetup.allow });
  native.addEventListener('peer', (e) => {
    if (e.detail.joined) {
      window.nativePeer = e.detail.peer;
      window.nativeError = undefined;
      show(`native peer ${e.detail.peer} (key ${native.peerKey.slice(0, 8)}…, encrypted)\nthis page's key ${identity.publicKey}`);
    } else show(`native peer ${e.detail.peer} left: redialing…\nthis page's key ${identity.publicKey}`);
    render();
  });
  native.addEventListener('error', (e) => {
    if (e.detail.peer) return console.warn(`refused a frame from ${e.detail.peer}: ${e.detail.error.code}`);
    window.nativeError = e.detail.error.code;
    show(`native peer refused: ${e.detail.error.message}\nthis page's key ${identity.publicKey} (redialing with backoff)`);
  });
  native.addEventListener('status', () => render());
}
if (nativeSetup) {
  window.pageKey = identity.publicKey;
  show(`this page's key ${identity.publicKey}: dialing ${nativeSetup.url}…`);
  try {
    await dialNative();
  } catch (e) {
    window.nativeError = e.code;
    show(`native peer not dialed: ${e.message}`);
  }
}

let scheduled = false;
function render() {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    const state = doc.toJSON();
    $('board-title').textContent = state.title ?? '(untitled board)';
    $('likes').textContent = String(state.likes ?? 0);
    const done = state.done ?? {};
    const list = $('tasks');
    list.replaceChildren(...(state.tasks ?? []).map((task) => {
      const li = document.createElement('li');
      li.className = done[task] ? 'done' : '';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = !!done[task];
      box.onchange = () => { const f = doc.map('done').flag(task); box.checked ? f.enable() : f.disable(); };
      const label = document.createElement('span');
      label.textContent = ` ${task} `;
      const del = document.createElement('button');
      del.textContent = '✕';
      del.onclick = () => { doc.set('tasks').delete(task); doc.map('done').delete(task); };
      li.append(box, label, del);
      return li;
    }));
    $('json').textContent = JSON.stringify(state);
    const s = doc.stats();
    $('stats').textContent = [
      `sent ${s.sent.total.messages} frames / ${s.sent.total.bytes} B (deltas ${s.sent.delta.bytes} B)`,
      `received ${s.received.total.messages} frames / ${s.received.total.bytes} B`,
      `full states ${s.fullStates.total}, retransmissions ${s.retransmissions}, decode errors ${s.decodeErrors}`,
      `buffered ${s.bufferedDeltas} deltas / ${s.bufferedBytes} B`,
      ...s.peers.map((p) => `peer ${p.peer.slice(0, 8)}… ${p.connected ? 'open' : 'hello sent'}, acked ${p.acked ?? '-'}, lag ${p.lag}`),
      `wasm instantiated in ${window.instantiateMs.toFixed(1)} ms`,
    ].join('\n');
  });
}

doc.subscribe(() => render());

$('set-title').onclick = () => { doc.register('title').set($('title-input').value); $('title-input').value = ''; };
$('add-task').onclick = () => {
  const text = $('task-input').value.trim();
  if (text) doc.set('tasks').add(text);
  $('task-input').value = '';
};
$('like').onclick = () => doc.counter('likes').increment();
$('offline').onchange = () => {
  offline = $('offline').checked;
  // Offline partitions the native peer too: the provider closes, and dials again when back.
  if (offline) native?.close();
  else if (native?.status === 'closed') dialNative();
  $('offline-label').classList.toggle('on', offline);
  render();
};


window.doc = doc; // for tests and the console
await relay?.ready;
render();
window.demoReady = true;
