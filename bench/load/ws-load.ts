// WebSocket echo load generator (no wrk equivalent exists for WebSocket):
// opens N connections through the subject, keeps exactly one message in
// flight on each (send, wait for the echo, send again) for the duration, and
// prints one JSON line: { messages, durationS, errors, p50Us, p99Us }.
// Usage: node ws-load.js --url ws://127.0.0.1:P/ --connections N --duration S --size BYTES
// It is a Node client sharing a core with the Node origin, so its ceiling is
// lower than wrk's: compare subjects with each other, not with other scenarios.

import { WebSocket } from 'ws';

export interface WsLoadReport {
  messages: number;
  durationS: number;
  errors: number;
  /** Connections that never opened (the subject does not forward upgrades). */
  failedConnections: number;
  p50Us: number;
  p99Us: number;
}

function arg(name: string, fallback: string): string {
  const args = process.argv.slice(2);
  const at = args.indexOf(name);
  return at < 0 ? fallback : args[at + 1];
}

function nearestRank(sorted: Float64Array, pct: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((pct / 100) * sorted.length))) - 1];
}

async function main(): Promise<void> {
  const url = arg('--url', '');
  const connections = Number(arg('--connections', '50'));
  const durationMs = Number(arg('--duration', '5')) * 1000;
  const payload = 'x'.repeat(Number(arg('--size', '100')));

  let errors = 0;
  let failedConnections = 0;
  // Latencies in µs; a growing typed array avoids boxing ~100k numbers.
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let measuring = false;
  const sockets: WebSocket[] = [];

  const opened = await Promise.all(
    Array.from({ length: connections }, () => new Promise<WebSocket | null>((resolve) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      socket.once('open', () => resolve(socket));
      socket.once('error', () => {
        failedConnections++;
        resolve(null);
      });
    })),
  );
  for (const socket of opened) if (socket !== null) sockets.push(socket);

  const start = process.hrtime.bigint();
  const deadline = start + BigInt(durationMs) * 1_000_000n;
  measuring = true;
  // A subject that swallows a message would leave its connection waiting
  // forever: 3 s past the deadline every connection is cut.
  const watchdog = setTimeout(() => {
    for (const socket of sockets) socket.terminate();
  }, durationMs + 3000);
  await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => {
    let sentAt = 0n;
    const sendNext = (): void => {
      sentAt = process.hrtime.bigint();
      socket.send(payload);
    };
    socket.on('message', (data: Buffer) => {
      const now = process.hrtime.bigint();
      if (data.length !== payload.length) errors++;
      if (!measuring) return;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = Number(now - sentAt) / 1000;
      if (now >= deadline) {
        resolve();
        return;
      }
      sendNext();
    });
    socket.on('error', () => {
      errors++;
      resolve();
    });
    socket.on('close', () => resolve());
    sendNext();
  })));
  measuring = false;
  clearTimeout(watchdog);
  const durationS = Number(process.hrtime.bigint() - start) / 1e9;
  for (const socket of sockets) socket.terminate();

  const sorted = latencies.subarray(0, count).sort();
  const report: WsLoadReport = {
    messages: count,
    durationS,
    errors,
    failedConnections,
    p50Us: nearestRank(sorted, 50),
    p99Us: nearestRank(sorted, 99),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

await main();
