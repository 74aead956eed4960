// The worker of broadcast.test.mjs: a Doc of its own that joins the main thread's document.
import { parentPort, workerData } from 'node:worker_threads';
import { Doc } from 'deltacrdt-wasm';
import { BroadcastProvider } from 'deltacrdt-wasm/broadcast';

const doc = new Doc();
doc.set('list').add('worker');
const provider = new BroadcastProvider(doc, { name: workerData.name });
parentPort.on('message', () => {
  parentPort.postMessage({ replicaId: doc.replicaId, list: doc.set('list').values() });
});
void provider;
