// BroadcastProvider: the tabs (or, in Node, the threads) of one origin sync one document over a
// BroadcastChannel, one channel per document name. Each tab's Doc treats every other tab as a
// peer; frames are addressed by replica id, so a tab ignores frames for others.
//
// Messages (structured-cloned objects on `deltacrdt:<name>`):
//   { t: 'join', from }        a tab arrived: everyone routes it and answers with an addressed join
//   { t: 'join', from, to }    the answer: `to` routes `from` (no answer to an answer)
//   { t: 'leave', from }       a tab left (close() or pagehide)
//   { t: 'frame', from, to, bytes }   one sync frame for the tab whose Doc is `to`
// A frame from a tab not yet known routes it too (its join was missed). Lost messages cannot
// happen on a BroadcastChannel, but the engine would repair them anyway.

import { driverFor } from './driver.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const fail = (code, message) => Object.assign(new Error(`${code}: ${message}`), { code });

/** Syncs a Doc with the other tabs of this origin that open the same document name. */
export class BroadcastProvider extends EventTarget {
  #driver;
  #channel;
  #me;
  #peers = new Set();
  #onPageHide = () => this.close();

  /**
   * Joins the tabs syncing `options.name` with `doc`, at once.
   * Throws `BAD_OPTION` without a non-empty `name` or a Doc, `BROADCAST_UNSUPPORTED` where the
   * host has no BroadcastChannel.
   */
  constructor(doc, options = {}) {
    super();
    if (typeof doc?.poll !== 'function' || typeof doc?.receive !== 'function') throw fail('BAD_OPTION', 'the first argument must be a Doc');
    const { name } = options ?? {};
    if (typeof name !== 'string' || name === '') throw fail('BAD_OPTION', 'option name must be a non-empty string');
    const Channel = options.BroadcastChannel ?? globalThis.BroadcastChannel;
    if (typeof Channel !== 'function') throw fail('BROADCAST_UNSUPPORTED', 'no BroadcastChannel here');
    this.#me = doc.replicaId;
    this.#driver = driverFor(doc);
    this.#channel = new Channel(`deltacrdt:${name}`);
    this.#channel.onmessage = (e) => this.#onMessage(e.data);
    globalThis.addEventListener?.('pagehide', this.#onPageHide);
    this.#post({ t: 'join', from: this.#me });
  }

  /** The replica ids of the tabs this one syncs with now. */
  get peers() {
    return [...this.#peers];
  }

  /** Whether close() ran. */
  get closed() {
    return this.#channel === undefined;
  }

  /** Leaves: tells the other tabs, disconnects the Doc from them and closes the channel. */
  close() {
    if (!this.#channel) return;
    this.#post({ t: 'leave', from: this.#me });
    for (const peer of this.#peers) this.#driver.unroute(peer);
    this.#peers.clear();
    this.#channel.close();
    this.#channel = undefined;
    globalThis.removeEventListener?.('pagehide', this.#onPageHide);
  }

  #post(message) {
    try {
      this.#channel?.postMessage(message);
    } catch {
      // a closed channel (the tab is going away): nothing to do
    }
  }

  #add(peer) {
    if (this.#peers.has(peer) || peer === this.#me) return false;
    this.#peers.add(peer);
    this.#driver.route(peer, (bytes) => this.#post({ t: 'frame', from: this.#me, to: peer, bytes }));
    this.dispatchEvent(new CustomEvent('peer', { detail: { peer, joined: true } }));
    return true;
  }

  #onMessage(m) {
    if (!m || typeof m !== 'object' || typeof m.from !== 'string' || !UUID.test(m.from)) return;
    if (m.to !== undefined && m.to !== this.#me) return;
    if (m.t === 'join') {
      if (this.#add(m.from) && m.to === undefined) this.#post({ t: 'join', from: this.#me, to: m.from });
    } else if (m.t === 'leave') {
      if (!this.#peers.delete(m.from)) return;
      this.#driver.unroute(m.from);
      this.dispatchEvent(new CustomEvent('peer', { detail: { peer: m.from, joined: false } }));
    } else if (m.t === 'frame' && m.bytes instanceof Uint8Array) {
      this.#add(m.from);
      try {
        this.#driver.receive(m.from, m.bytes);
      } catch (error) {
        // A refused frame changed nothing; report it (its `code` says why) and go on.
        this.dispatchEvent(new CustomEvent('error', { detail: { peer: m.from, error } }));
      }
    }
  }
}
