// Type-checked (tsc --noEmit, never run): the shipped .d.ts describes the API as documented.
import init, { AuthChannel, Doc, type AuthChannelOptions, type AuthRole, type AuthState, type DocOptions, type JsonValue, type SyncStats, type Transmit } from '../pkg/web/deltacrdt_wasm.js';

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
  restored.free();
  void [n, has, values, v, on, snapshot, peerId];
}

/** A browser dialing a native peer: the handshake, then sealed frames. */
export function authenticate(doc: Doc, peerHello: Uint8Array, peerProof: Uint8Array, sealed: Uint8Array): string {
  const role: AuthRole = 'initiator';
  const options: AuthChannelOptions = { nonce: new Uint8Array(32) };
  const channel = new AuthChannel('team passphrase', doc.replicaId, role, options);
  const hello: Uint8Array = channel.hello();
  const proof: Uint8Array = channel.readHello(peerHello);
  const peerId: string = channel.readProof(peerProof);
  const known: string | undefined = channel.peerId;
  const state: AuthState = channel.state;
  const out: Uint8Array = channel.seal(new Uint8Array([1, 2]));
  const frame: Uint8Array = channel.open(sealed);
  doc.receive(peerId, frame);
  channel.free();
  void [hello, proof, known, state, out, new AuthChannel('k', doc.replicaId, 'responder')];
  return peerId;
}
