// Type-checked under node16 and nodenext resolution: the package required from CommonJS.
import wasm = require('deltacrdt-wasm');
import channel = require('deltacrdt-wasm/channel');
import indexeddb = require('deltacrdt-wasm/indexeddb');
import broadcast = require('deltacrdt-wasm/broadcast');
import websocket = require('deltacrdt-wasm/websocket');

export async function cjs(): Promise<number> {
  await wasm.default();
  const doc = new wasm.Doc();
  doc.counter('likes').increment(1);
  return doc.counter('likes').value;
}

export async function identity(): Promise<string> {
  const id: channel.Identity = await channel.generateIdentity();
  const state: channel.ChannelState = new channel.SecureChannel({ identity: id, replicaId: await channel.replicaIdFor(id.publicKey), role: 'responder', allow: [] }).state;
  return `${channel.fingerprint(id.publicKey)} ${state}`;
}

export async function persisted(): Promise<string[]> {
  const store = await indexeddb.IndexedDbStore.open('board', { Doc: wasm.Doc });
  const provider = new broadcast.BroadcastProvider(store.doc, { name: 'board' });
  return provider.peers;
}

export async function dial(identity: channel.Identity): Promise<websocket.WebSocketStatus> {
  const doc = new wasm.Doc({ replicaId: await channel.replicaIdFor(identity.publicKey) });
  const provider = await websocket.WebSocketProvider.open(doc, { url: 'ws://127.0.0.1:7401', identity, allow: [] });
  provider.close();
  return provider.status;
}
