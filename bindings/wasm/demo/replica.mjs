// One replica of the task board: a wasm Doc, a transport, and a render loop.
// With `?native=ws://127.0.0.1:7401&allow=KEY[,KEY…]` it also dials a native peer of the p2p
// demo (`p2p peer --ws 127.0.0.1:7401 --identity FILE --allow FILE`) over an encrypted
// SecureChannel, accepting only the native public keys listed in `allow`. The page's own
// identity is `secret=` (64 hex digits, e.g. a file `p2p keygen` wrote) or else one kept in
// localStorage (made on first use); its public key is shown, for the native peer's allow-list.
import init, { Doc } from './pkg/deltacrdt_wasm.js';
import { SecureChannel, generateIdentity, identityFromSecret, parseAllowList, replicaIdFor } from './channel/index.mjs';
import { RelayTransport, NativeTransport } from './transport.mjs';

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
    nativeSetup = { allow: parseAllowList((params.get('allow') ?? '').split(',').join('\n')) };
  } catch (e) {
    window.nativeError = e.code;
    show(`native peer not dialed: ${e.message}`);
  }
}
const doc = new Doc(identity && nativeSetup ? { replicaId: await replicaIdFor(identity.publicKey) } : {});
$('replica').textContent = doc.replicaId;
let offline = false;

const transports = [new RelayTransport(`ws://${location.host}/relay`, doc.replicaId)];
if (nativeSetup) {
  const channel = new SecureChannel({ identity, replicaId: doc.replicaId, role: 'initiator', allow: nativeSetup.allow });
  transports.push(new NativeTransport(params.get('native'), channel));
  window.pageKey = identity.publicKey;
  show(`this page's key ${identity.publicKey}: dialing ${params.get('native')}…`);
}
const route = new Map(); // peer id -> the transport that reaches it
for (const transport of transports) {
  transport.onPeer = (peer) => { route.set(peer, transport); doc.connect(peer); flush(); };
  transport.onLeft = (peer) => { route.delete(peer); doc.disconnect(peer); };
  transport.onError = (e) => console.warn(`native peer connection closed: ${e.code}`);
  transport.onFrame = (from, bytes) => {
    if (offline) return; // a partitioned replica hears nothing
    try {
      doc.receive(from, bytes);
    } catch (e) {
      console.warn(`refused a frame from ${from}: ${e.code}`); // e.g. DECODE, CLOCK_DRIFT
    }
    flush();
  };
}

let timer;
/**
 * Sends everything the engine has to say (dropped while offline: the engine retransmits), then
 * schedules the next `tick` for the engine's own deadline: no timer at all while idle.
 */
function flush() {
  for (let t = doc.poll(); t; t = doc.poll()) if (!offline) route.get(t.to)?.send(t.to, t.bytes);
  clearTimeout(timer);
  const due = doc.pollTimeout();
  if (due !== undefined) timer = setTimeout(() => { doc.tick(); flush(); render(); }, Math.max(0, due - Date.now()));
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

doc.subscribe(() => { render(); flush(); });

$('set-title').onclick = () => { doc.register('title').set($('title-input').value); $('title-input').value = ''; };
$('add-task').onclick = () => {
  const text = $('task-input').value.trim();
  if (text) doc.set('tasks').add(text);
  $('task-input').value = '';
};
$('like').onclick = () => doc.counter('likes').increment();
$('offline').onchange = () => {
  offline = $('offline').checked;
  $('offline-label').classList.toggle('on', offline);
  render();
};


window.doc = doc; // for tests and the console
if (transports[1]) {
  // The native peer's id comes from the authenticated handshake. Handled before anything is
  // awaited: a refusal that came before the first transport was ready would otherwise be an
  // unhandled rejection.
  transports[1].ready.then(
    (peer) => { window.nativePeer = peer; show(`native peer ${peer} (key ${transports[1].channel.peerKey.slice(0, 8)}…, encrypted)\nthis page's key ${identity.publicKey}`); render(); },
    (e) => { window.nativeError = e.code; show(`native peer refused: ${e.message}\nthis page's key ${identity.publicKey}`); },
  );
}
await transports[0].ready;
render();
window.demoReady = true;
