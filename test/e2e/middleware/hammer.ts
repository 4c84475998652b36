/**
 * A client faster than a rate limit: `concurrency` keep-alive loops sending
 * requests back to back for `durationMs`, counting statuses, and when the
 * first and last request were sent (the window a limiter saw).
 */
import http from 'node:http';

export interface HammerResult {
  readonly statuses: Map<number, number>;
  /** performance.now() of the first and the last request sent. */
  readonly firstSentMs: number;
  readonly lastSentMs: number;
  readonly errors: number;
  count(status: number): number;
}

export async function hammer(ports: readonly number[], options: { concurrency: number; durationMs: number; path?: string; headers?: http.OutgoingHttpHeaders }): Promise<HammerResult> {
  const agents = ports.map((_, i) => new http.Agent({ keepAlive: true, maxSockets: options.concurrency, keepAliveMsecs: 1000 + i }));
  const statuses = new Map<number, number>();
  let firstSentMs = Infinity;
  let lastSentMs = 0;
  let errors = 0;
  const start = performance.now();
  const one = (port: number, agent: http.Agent): Promise<void> => new Promise((resolve) => {
    const now = performance.now();
    firstSentMs = Math.min(firstSentMs, now);
    lastSentMs = Math.max(lastSentMs, now);
    const req = http.get({ host: '127.0.0.1', port, path: options.path ?? '/', headers: options.headers, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
        resolve();
      });
    });
    req.on('error', () => { errors++; resolve(); });
  });
  const loop = async (port: number, agent: http.Agent): Promise<void> => {
    // Bounded: at most one request per loop per 0.2 ms of the window (far above any limit tested).
    for (let i = 0; i < options.durationMs * 5 && performance.now() - start < options.durationMs; i++) await one(port, agent);
  };
  const loops: Promise<void>[] = [];
  ports.forEach((port, p) => { for (let c = 0; c < options.concurrency; c++) loops.push(loop(port, agents[p]!)); });
  await Promise.all(loops);
  for (const a of agents) a.destroy();
  return { statuses, firstSentMs, lastSentMs, errors, count: (s) => statuses.get(s) ?? 0 };
}
