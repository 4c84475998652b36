/** AccessRecords for the logger tests: a finished exchange with known values. */
import type { AccessRecord } from '../../../actors/session-http1/access-record.js';

export function accessRecord(overrides: Partial<AccessRecord> = {}): AccessRecord {
  return {
    time: Date.UTC(2025, 0, 31, 12, 0, 0, 250),
    requestId: '1ab2-7',
    clientAddress: '127.0.0.1',
    clientPort: 50123,
    method: 'GET',
    uri: '/api/users/42?x=1',
    protocol: 'HTTP/1.1',
    status: 200,
    bytesSent: 512,
    bytesReceived: 97,
    requestTimeMs: 12.4,
    upstreamAddress: '127.0.0.1:8081',
    upstreamConnectMs: 0.6,
    upstreamResponseMs: 11.2,
    route: 'api',
    headers: ['Host', 'example.com', 'User-Agent', 'curl/8.5', 'Authorization', 'Bearer s3cr3t', 'Cookie', 'sid=abc', 'X-Api-Key', 'k-123'],
    tlsSni: '',
    locals: undefined,
    ...overrides,
  };
}
