/** One finished exchange, as the access log sees it. Built only when access logging is on. */
export interface AccessRecord {
  readonly time: number;
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
  /** -1 when no upstream connection was made. */
  readonly upstreamConnectMs: number;
  /** Time to the first upstream byte; -1 when none came. */
  readonly upstreamResponseMs: number;
  readonly route: string;
  /** Request headers (flat pairs) for $http_<name>; secrets are redacted by the formatter. */
  readonly headers: readonly string[];
  readonly tlsSni: string;
  readonly locals: Readonly<Record<string, string>> | undefined;
}
