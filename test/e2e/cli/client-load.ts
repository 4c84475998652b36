/**
 * Continuous client load for the reload and shutdown tests: `concurrency`
 * loops of keep-alive node:http requests on one agent, bounded by a request
 * count, each result recorded with when it was sent and what it showed.
 */
import http from 'node:http';

export interface LoadResponse {
  /** performance.now() when the request was sent and when its body ended. */
  readonly sentAtMs: number;
  readonly doneAtMs: number;
  readonly status: number;
  /** The origin that answered (its x-up header) and a header a reload adds (x-gen). */
  readonly up: string | undefined;
  readonly gen: string | undefined;
  readonly body: string;
}

export interface LoadFailure {
  readonly sentAtMs: number;
  readonly atMs: number;
  readonly error: string;
  /** Sent on a keep-alive connection that had carried an earlier request (node's req.reusedSocket). */
  readonly reused: boolean;
}

export interface Load {
  readonly responses: LoadResponse[];
  readonly failures: LoadFailure[];
  /** Requests sent so far. */
  sent(): number;
  /** No new requests; resolves when every loop finished its last one. */
  stop(): Promise<void>;
  /** Resolves when `maxRequests` were sent and answered (or failed). */
  readonly finished: Promise<void>;
}

export function keepAliveLoad(port: number, options: { concurrency: number; maxRequests: number; path?: (i: number) => string }): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const responses: LoadResponse[] = [];
  const failures: LoadFailure[] = [];
  let sent = 0;
  let running = true;
  const one = (i: number): Promise<void> => new Promise((resolve) => {
    const sentAtMs = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: options.path?.(i) ?? `/load/${i}`, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        responses.push({ sentAtMs, doneAtMs: performance.now(), status: res.statusCode ?? 0, up: res.headers['x-up'] as string | undefined, gen: res.headers['x-gen'] as string | undefined, body });
        resolve();
      });
      res.on('error', (err) => {
        failures.push({ sentAtMs, atMs: performance.now(), error: `response: ${err.message}`, reused: req.reusedSocket });
        resolve();
      });
    });
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      failures.push({ sentAtMs, atMs: performance.now(), error: err.code ?? err.message, reused: req.reusedSocket });
      // A refused connection fails in microseconds: pace the retries instead of spinning a CPU.
      setTimeout(resolve, 5);
    });
  });
  const loop = async (): Promise<void> => {
    while (running && sent < options.maxRequests) await one(sent++);
  };
  const finished = Promise.all(Array.from({ length: options.concurrency }, loop)).then(() => agent.destroy());
  return {
    responses,
    failures,
    sent: () => sent,
    stop: async () => {
      running = false;
      await finished;
    },
    finished,
  };
}
