/**
 * GET /stream on the admin listener: upgrades to a WebSocket (ws) and
 * pushes one JSON LiveSnapshot (src/protocol/admin-stream.ts) right away,
 * then one per interval. One timer and one snapshot per tick, shared by
 * every client; no timer runs while nobody listens. The caller checks the
 * bearer token before handing the upgrade here.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** `zproxy top` refreshes about once a second. */
export const STREAM_INTERVAL_MS = 1000;
/**
 * A client that stops reading gets no more snapshots once this much is
 * queued: a stuck terminal must not grow the admin's memory.
 */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export class StatsStream {
  private readonly wss = new WebSocketServer({ noServer: true, clientTracking: true });
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(private readonly snapshot: () => Promise<unknown>, private readonly intervalMs = STREAM_INTERVAL_MS) {}

  /** Takes over an upgrade request for /stream. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => ws.terminate());
      ws.on('close', () => { if (this.wss.clients.size === 0) this.stopTimer(); });
      void this.push([ws]);
      if (!this.timer) {
        this.timer = setInterval(() => { void this.push(this.wss.clients); }, this.intervalMs);
        this.timer.unref();
      }
    });
  }

  get clients(): number {
    return this.wss.clients.size;
  }

  close(): void {
    this.stopTimer();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private async push(targets: Iterable<WebSocket>): Promise<void> {
    if (this.ticking) return; // the previous snapshot is still being gathered (a slow worker): skip a beat
    this.ticking = true;
    try {
      const text = JSON.stringify(await this.snapshot());
      for (const ws of targets) {
        if (ws.readyState === ws.OPEN && ws.bufferedAmount < MAX_BUFFERED_BYTES) ws.send(text);
      }
    } catch (err) {
      const message = JSON.stringify({ error: (err as Error).message });
      for (const ws of targets) if (ws.readyState === ws.OPEN) ws.send(message);
    } finally {
      this.ticking = false;
    }
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
