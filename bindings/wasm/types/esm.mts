// Type-checked under node16 and nodenext resolution (tsc --noEmit -p types/node16, never run):
// the package imported by its name from an ES module, as the README shows.
import init, { Doc, type JsonValue } from 'deltacrdt-wasm';
import { SecureChannel, generateIdentity, replicaIdFor } from 'deltacrdt-wasm/channel';
import { IndexedDbStore } from 'deltacrdt-wasm/indexeddb';
import { BroadcastProvider } from 'deltacrdt-wasm/broadcast';
import { WebSocketProvider } from 'deltacrdt-wasm/websocket';

export async function esm(): Promise<JsonValue> {
  await init();
  const doc = new Doc();
  doc.counter('likes').increment(2);
  return doc.toJSON();
}

export async function channel(allow: string[]): Promise<Uint8Array> {
  const identity = await generateIdentity();
  const replicaId = await replicaIdFor(identity.publicKey);
  return new SecureChannel({ identity, replicaId, role: 'initiator', allow }).start();
}

export async function persisted(): Promise<boolean> {
  await init();
  const store = await IndexedDbStore.open('board', { Doc });
  new BroadcastProvider(store.doc, { name: 'board' }).close();
  return store.writer;
}

export async function dial(allow: string[], WebSocket: new (url: string) => object): Promise<string> {
  await init();
  const identity = await generateIdentity();
  const doc = new Doc({ replicaId: await replicaIdFor(identity.publicKey) });
  const provider = await WebSocketProvider.open(doc, { url: 'ws://127.0.0.1:7401', identity, allow, WebSocket });
  provider.close();
  return provider.status;
}
