// Type-checked (tsc --noEmit, never run): the shipped .d.ts describes the API as documented.
import init, { Doc, type ChangeEvent, type DocOptions, type JsonValue, type SyncEvent, type SyncStats, type Transmit } from '../pkg/web/deltacrdt_wasm.js';
import {
  MAX_FRAME_BYTES, SecureChannel, belongsTo, fingerprint, generateIdentity, identityFromSecret, parseAllowList, replicaIdFor,
  type ChannelErrorCode, type ChannelRole, type ChannelState, type Identity, type SecureChannelOptions,
} from 'deltacrdt-wasm/channel';
import { IndexedDbStore, type CommitDetail, type IndexedDbStoreOptions, type StoreErrorCode } from 'deltacrdt-wasm/indexeddb';
import { BroadcastProvider, type BroadcastErrorCode, type BroadcastProviderOptions, type PeerDetail } from 'deltacrdt-wasm/broadcast';
import {
  WebSocketProvider, type ErrorDetail, type StatusDetail, type WebSocketErrorCode, type WebSocketProviderOptions, type WebSocketStatus,
} from 'deltacrdt-wasm/websocket';

export async function example(): Promise<void> {
  await init();
  const options: DocOptions = { replicaId: '00000000-0000-0000-0000-000000000001', maxDriftMs: 5000 };
  const doc = new Doc(options);
  const other = new Doc();
  const id: string = doc.replicaId;

  const likes = doc.counter('likes');
  likes.increment();
  likes.increment(2);
  likes.decrement(1);
  const n: number = likes.value;

  const tags = doc.set('tags');
  tags.add('x');
  tags.add(1);
  tags.add(true);
  tags.delete('x');
  const has: boolean = tags.has(1);
  const values: (string | number | boolean)[] = tags.values();

  const title = doc.register('title');
  title.set({ text: 'hi', nested: [1, null, 'x'] });
  const v: JsonValue | undefined = title.value;

  const done = doc.flag('done');
  done.enable();
  done.disable();
  const on: boolean = done.value;

  const task = doc.map('tasks').map('t1');
  task.register('text').set('write docs');
  task.flag('done').enable();
  doc.map('tasks').delete('t1');
  doc.delete('likes');
  const snapshot: Record<string, JsonValue> = doc.toJSON();

  doc.connect(other.replicaId);
  doc.disconnect(other.replicaId);
  doc.connect(other.replicaId);
  const t: Transmit | undefined = doc.poll();
  if (t) other.receive(id, t.bytes);
  try {
    other.receive(id, new Uint8Array([1, 2, 3]));
  } catch (e) {
    const code: unknown = (e as Error & { code: string }).code;
    void code;
  }
  doc.tick();
  doc.tick(Date.now());
  const due: number | undefined = doc.pollTimeout();
  if (due !== undefined) setTimeout(() => doc.tick(), due - Date.now());
  const stats: SyncStats = doc.stats();
  const peerId: string | undefined = stats.peers[0]?.peer;
  const bytes: Uint8Array = doc.save();
  const restored: Doc = Doc.load(bytes);
  const resumed: Doc = Doc.resume(bytes, { nowMs: 0 });
  resumed.free();
  const unsubscribe: () => void = doc.subscribe(() => console.log(doc.toJSON()));
  unsubscribe();
  doc.subscribe((e: ChangeEvent) => {
    const from: string = e.origin === 'remote' ? e.peer : 'here';
    void from;
  })();
  doc.subscribeSync((e: SyncEvent) => {
    const behind: boolean = !e.synced && e.acked !== null;
    void [e.peer, behind];
  })();
  doc.set('ids').addAll([1, 'two', true]);
  doc.set('ids').deleteAll([1]);
  const everywhere: boolean = doc.syncState().every((s: SyncEvent) => s.synced);
  void everywhere;
  restored.free();
  void [n, has, values, v, on, snapshot, peerId];
}

/** A browser dialing a native peer: identity, allow-list, the handshake, then sealed frames. */
export async function join(secretKey: string, allowText: string, peerMessage2: Uint8Array, sealed: Uint8Array): Promise<Doc> {
  const identity: Identity = await identityFromSecret(secretKey);
  const fresh: Identity = await generateIdentity();
  const allow: Map<string, string> = parseAllowList(allowText);
  const replicaId: string = await replicaIdFor(identity.publicKey);
  const mine: boolean = await belongsTo(replicaId, identity.publicKey);
  const short: string = fingerprint(fresh.publicKey);
  const doc = new Doc({ replicaId });
  const role: ChannelRole = 'initiator';
  const options: SecureChannelOptions = { identity, replicaId, role, allow, testing: { ephemeralSecret: new Uint8Array(32) } };
  const channel = new SecureChannel(options);
  const hello: Uint8Array = await channel.start();
  const reply: Uint8Array | null = await channel.read(peerMessage2);
  const state: ChannelState = channel.state;
  const peer: string | undefined = channel.peerId;
  const key: string | undefined = channel.peerKey;
  if (peer) doc.receive(peer, await channel.open(sealed));
  const out: Uint8Array = await channel.seal(new Uint8Array(MAX_FRAME_BYTES));
  try {
    await channel.open(sealed);
  } catch (e) {
    const code: ChannelErrorCode = (e as Error & { code: ChannelErrorCode }).code;
    void code;
  }
  void [mine, short, hello, reply, state, key, out, new SecureChannel({ identity, replicaId, role: 'responder', allow: [fresh.publicKey] })];
  return doc;
}

/** The providers: a Doc persisted in IndexedDB and synced with the other tabs. */
export async function providers(): Promise<string[]> {
  const options: IndexedDbStoreOptions<Doc> = { Doc, compactBytes: 65_536, docOptions: { maxDriftMs: 5000 } };
  const store: IndexedDbStore<Doc> = await IndexedDbStore.open('board', options);
  const doc: Doc = store.doc;
  const writer: boolean = store.writer;
  store.addEventListener('writer', () => console.log(store.writer));
  store.addEventListener('commit', (e) => {
    const detail = (e as CustomEvent<CommitDetail>).detail;
    void [detail.bytes, detail.snapshot];
  });
  const provider = new BroadcastProvider(doc, { name: 'board' } satisfies BroadcastProviderOptions);
  provider.addEventListener('peer', (e) => void (e as CustomEvent<PeerDetail>).detail.joined);
  doc.set('list').add('x');
  await store.flush();
  const written: number = store.stats.bytesWritten;
  try {
    await IndexedDbStore.open('other', { Doc });
  } catch (e) {
    const code: StoreErrorCode = (e as Error & { code: StoreErrorCode }).code;
    const other: BroadcastErrorCode = 'BROADCAST_UNSUPPORTED';
    void [code, other];
  }
  const peers: string[] = provider.peers;
  provider.close();
  await store.close();
  void [writer, written, provider.closed];
  return peers;
}

export async function websocket(allowText: string): Promise<WebSocketStatus> {
  await init();
  const identity: Identity = await generateIdentity();
  const doc = new Doc({ replicaId: await replicaIdFor(identity.publicKey) });
  const options: WebSocketProviderOptions = { url: 'ws://127.0.0.1:7401', identity, allow: parseAllowList(allowText), WebSocket, minBackoffMs: 50, maxBackoffMs: 2000 };
  const provider = await WebSocketProvider.open(doc, options);
  provider.addEventListener('status', (e) => void (e as CustomEvent<StatusDetail>).detail.delayMs);
  provider.addEventListener('peer', (e) => void (e as CustomEvent<PeerDetail>).detail.joined);
  provider.addEventListener('error', (e) => {
    const code: string = (e as CustomEvent<ErrorDetail>).detail.error.code;
    const known: WebSocketErrorCode = 'NET';
    void [code, known];
  });
  // @ts-expect-error the constructor is private: open() checks the identity first
  void new WebSocketProvider(doc, options);
  const peer: string | undefined = provider.peer;
  const key: string | undefined = provider.peerKey;
  provider.close();
  void [peer, key];
  return provider.status;
}
