/**
 * The stream session actor of one worker: owns every StreamSession (stream
 * listener connections) on the thread and the deadline sweeper (ClientHello
 * and idle timeouts). Socket events drive the sessions directly.
 * Takes: stream.drain. Sends: one access record per connection to the sink.
 */
import type net from 'node:net';
import type { Actor, ActorContext } from '../../src/kernel/actor.js';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import type { AccessRecord } from '../session-http1/access-record.js';
import { StreamSession, type StreamOwner, type StreamTarget } from './stream-session.js';

export type StreamMessage = { readonly kind: 'stream.drain' };

/** Deadline resolution: timeouts are seconds long, a 100 ms sweep keeps them within 10%. */
const SWEEP_MS = 100;

export interface StreamStats {
  streams: number;
  streamsTotal: number;
}

export class StreamActor implements Actor<StreamMessage>, StreamOwner {
  private readonly sessions = new Set<StreamSession>();
  private readonly sweeper: NodeJS.Timeout;
  private idCounter = 0;
  private streamsTotal = 0;
  private draining = false;
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly idPrefix: string, readonly recordsWanted: boolean, private readonly sink: (r: AccessRecord) => void) {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const s of this.sessions) s.checkDeadline(now);
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  receive(msg: StreamMessage, _ctx: ActorContext): void {
    switch (msg.kind) {
      case 'stream.drain':
        this.draining = true;
        return;
    }
  }

  terminate(_reason: ErrorRecord | undefined): void {
    clearInterval(this.sweeper);
    for (const s of this.sessions) s.destroy();
  }

  /** A connection accepted on a stream listener. */
  accept(socket: net.Socket, target: StreamTarget): void {
    this.streamsTotal++;
    const s = new StreamSession(socket, target, this);
    if (!s.closed) this.sessions.add(s);
  }

  /**
   * Streams have no request boundary to stop at: they get until the deadline
   * to end on their own, then both legs are closed.
   */
  drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    if (this.sessions.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const s of this.sessions) s.destroy();
        resolve();
      }, deadlineMs);
      this.drainWaiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  stats(): StreamStats {
    return { streams: this.sessions.size, streamsTotal: this.streamsTotal };
  }

  // ---- StreamOwner ----

  nextRequestId(): string {
    return this.idPrefix + (++this.idCounter).toString(36);
  }

  streamDone(record: AccessRecord): void {
    this.sink(record);
  }

  sessionClosed(session: StreamSession): void {
    this.sessions.delete(session);
    if (this.draining && this.sessions.size === 0) for (const w of this.drainWaiters.splice(0)) w();
  }
}
