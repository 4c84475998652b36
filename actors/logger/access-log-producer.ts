/**
 * Worker side of the access log: turns a finished exchange into an
 * AccessEntry and writes it into this worker's ring to the logger thread.
 * Never waits: a full ring (stalled sink) drops the record and counts it.
 */
import { SpscRing } from '../../src/kernel/ring.js';
import type { AccessRecord } from '../session-http1/access-record.js';
import type { AccessEntryWire } from './access-entry.js';
import { headerSetId, headersNeeded } from './access-log-format.js';
import { redactQueryParams } from './redact-uri.js';

/** Header values never written to a log (credentials); API-key header names are added from config. */
const ALWAYS_SECRET = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];

export class AccessLogProducer {
  private readonly ring: SpscRing;
  private headers: string[] = [];
  private headerSet = 0;
  private secret = new Set<string>();
  private secretQuery: ReadonlySet<string> = new Set();
  written = 0;

  constructor(ringBuffer: SharedArrayBuffer, format: string, private readonly workerId: number, secretHeaders: readonly string[], secretQueryParams: readonly string[] = []) {
    this.ring = SpscRing.attach(ringBuffer);
    this.configure(format, secretHeaders, secretQueryParams);
  }

  /** A reload changed the format or the secret headers: capture what the new format names from the next record on. */
  configure(format: string, secretHeaders: readonly string[], secretQueryParams: readonly string[] = []): void {
    this.secretQuery = new Set(secretQueryParams);
    this.headers = headersNeeded(format);
    this.headerSet = headerSetId(this.headers);
    this.secret = new Set([...ALWAYS_SECRET, ...secretHeaders.map((h) => h.toLowerCase())]);
  }

  /**
   * A reload changed which headers and query parameters carry credentials
   * (api-key middlewares): redact the new ones from the next record on, even
   * while the format itself stays the one the worker started with.
   */
  setSecrets(secretHeaders: readonly string[], secretQueryParams: readonly string[]): void {
    this.secret = new Set([...ALWAYS_SECRET, ...secretHeaders.map((h) => h.toLowerCase())]);
    this.secretQuery = new Set(secretQueryParams);
  }

  readonly write = (r: AccessRecord): void => {
    const values: Array<string | undefined> = new Array(this.headers.length);
    for (let i = 0; i < this.headers.length; i++) {
      const want = this.headers[i]!;
      // A credential's value never leaves the worker; whether it was sent is still logged ("-" when not).
      const secret = this.secret.has(want);
      for (let k = 0; k < r.headers.length; k += 2) {
        const n = r.headers[k]!;
        if (n.length === want.length && n.toLowerCase() === want) {
          values[i] = secret ? '[redacted]' : r.headers[k + 1];
          break;
        }
      }
    }
    const wire: AccessEntryWire = [
      r.time, this.workerId, r.requestId, r.clientAddress, r.clientPort, r.method, redactQueryParams(r.uri, this.secretQuery), r.protocol, r.status, r.bytesSent,
      r.bytesReceived, r.requestTimeMs, r.upstreamAddress, r.upstreamConnectMs, r.upstreamResponseMs, r.route, r.tlsSni, values,
      this.headerSet, r.locals?.apiKeyName ?? '',
    ];
    if (this.ring.writeOrDrop(this.ring.encode(wire))) this.written++;
  };

  stats(): { written: number; dropped: number; fillBytes: number; capacityBytes: number } {
    const s = this.ring.stats();
    return { written: this.written, dropped: s.drops, fillBytes: s.usedBytes, capacityBytes: s.capacityBytes };
  }
}
