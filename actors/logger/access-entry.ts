/**
 * The record a worker writes into its ring for the logger thread: the
 * AccessRecord minus the full header list (only the header values the
 * format names travel, in format order, already redacted).
 */
export interface AccessEntry {
  readonly time: number;
  readonly workerId: number;
  readonly requestId: string;
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly method: string;
  readonly uri: string;
  readonly protocol: string;
  readonly status: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly requestTimeMs: number;
  readonly upstreamAddress: string;
  readonly upstreamConnectMs: number;
  readonly upstreamResponseMs: number;
  readonly route: string;
  readonly tlsSni: string;
  readonly headerValues: ReadonlyArray<string | undefined>;
}
