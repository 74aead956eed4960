// Internal to the providers: one driver per Doc owns its poll()/tick() loop, so that several
// providers (a BroadcastChannel, an IndexedDB store, an app's own WebSocket) can share one
// document. Each provider routes the peers it reaches; the driver drains poll() after every
// change, frame and connect (in a microtask, never inside a Doc callback), hands each frame to
// the route of its `to`, and schedules the next tick() at pollTimeout() (no interval).

const drivers = new WeakMap();

/** The driver of `doc`, made on first use. */
export function driverFor(doc) {
  let driver = drivers.get(doc);
  if (!driver) {
    driver = new Driver(doc);
    drivers.set(doc, driver);
  }
  return driver;
}

class Driver {
  constructor(doc) {
    this.doc = doc;
    this.routes = new Map();
    this.timer = undefined;
    this.queued = false;
    doc.subscribe(() => this.kick());
  }

  /** Frames to `peer` go to `send(bytes)`; connects the Doc to it. */
  route(peer, send) {
    this.routes.set(peer, send);
    this.doc.connect(peer);
    this.kick();
  }

  /** Forgets `peer` (disconnects the Doc from it). */
  unroute(peer) {
    if (!this.routes.delete(peer)) return;
    this.doc.disconnect(peer);
    this.kick();
  }

  /** One frame from `peer` into the Doc; throws the Doc's coded error for a refused frame. */
  receive(peer, bytes) {
    try {
      this.doc.receive(peer, bytes);
    } finally {
      this.kick();
    }
  }

  /** Drains poll() soon (in a microtask). */
  kick() {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      this.flush();
    });
  }

  /** Drains poll() now, then schedules the next tick. */
  flush() {
    for (let t = this.doc.poll(); t; t = this.doc.poll()) {
      const send = this.routes.get(t.to);
      try {
        send?.(t.bytes); // an unrouted peer's frame is dropped: the engine resends it
      } catch {
        // a failed send is repaired by retransmission
      }
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    const due = this.doc.pollTimeout();
    if (due === undefined || this.routes.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.doc.tick();
      this.flush();
    }, Math.max(0, due - Date.now()));
    this.timer.unref?.(); // Node: a pending retransmission alone does not keep the process up
  }
}
