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
  /** The api-key middleware's key name ("" when none). */
  readonly apiKeyName?: string;
}

/**
 * The wire form in the ring: a positional array, not a keyed object. msgpack
 * then carries no field names, which halves the bytes and the encode time on
 * the request path (measured in bench/micro/access-log.bench.ts).
 * `headerSetId` names which headers `headerValues` holds, in which order
 * (headerSetId() of the producer's list): after a reload changes the format,
 * workers still on the old one and respawned ones on the new one write
 * different lists into rings the same logger reads.
 */
export type AccessEntryWire = [
  time: number, workerId: number, requestId: string, clientAddress: string, clientPort: number, method: string, uri: string,
  protocol: string, status: number, bytesSent: number, bytesReceived: number, requestTimeMs: number, upstreamAddress: string,
  upstreamConnectMs: number, upstreamResponseMs: number, route: string, tlsSni: string, headerValues: Array<string | undefined>,
  headerSetId: number, apiKeyName?: string,
];

/** WIRE_HEADER_SET: index of headerSetId in AccessEntryWire. */
export const WIRE_HEADER_SET = 18;

export function entryFromWire(w: AccessEntryWire): AccessEntry {
  return {
    time: w[0], workerId: w[1], requestId: w[2], clientAddress: w[3], clientPort: w[4], method: w[5], uri: w[6], protocol: w[7],
    status: w[8], bytesSent: w[9], bytesReceived: w[10], requestTimeMs: w[11], upstreamAddress: w[12], upstreamConnectMs: w[13],
    upstreamResponseMs: w[14], route: w[15], tlsSni: w[16], headerValues: w[17], apiKeyName: w[19],
  };
}
