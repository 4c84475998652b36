/**
 * Small plain-text error responses written by the proxy itself. The body
 * names the status and the request id so a user can find the access-log
 * line; nothing internal (stack, upstream address) leaks to the client.
 */
import { STATUS_REASONS } from '../../src/protocol/http1/serialize.js';

export function errorResponse(status: number, requestId: string, keepAlive: boolean, extraHeaders?: readonly string[], detail?: string): Buffer {
  const reason = STATUS_REASONS[status] ?? 'Error';
  const body = `${status} ${reason}${detail ? `: ${detail}` : ''}\nrequest id: ${requestId}\n`;
  let head = `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\n`;
  if (extraHeaders) for (let i = 0; i < extraHeaders.length; i += 2) head += `${extraHeaders[i]}: ${extraHeaders[i + 1]}\r\n`;
  head += keepAlive ? '\r\n' : 'connection: close\r\n\r\n';
  return Buffer.from(head + body, 'utf8');
}

/** A response chosen by a middleware (respond decision). */
export function middlewareResponse(status: number, headers: readonly string[] | undefined, body: string | Buffer | undefined, requestId: string, keepAlive: boolean, headOnly: boolean): Buffer {
  const reason = STATUS_REASONS[status] ?? 'Unknown';
  const payload = body === undefined ? Buffer.alloc(0) : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  let hasType = false;
  if (headers) {
    for (let i = 0; i < headers.length; i += 2) {
      const n = headers[i]!;
      const lower = n.toLowerCase();
      if (lower === 'content-length' || lower === 'transfer-encoding' || lower === 'connection') continue;
      if (lower === 'content-type') hasType = true;
      head += `${n}: ${headers[i + 1]}\r\n`;
    }
  }
  const bodyless = status === 204 || status === 304 || (status >= 100 && status < 200);
  if (!bodyless) {
    if (!hasType && payload.length > 0) head += 'content-type: text/plain; charset=utf-8\r\n';
    head += `content-length: ${payload.length}\r\n`;
  }
  head += `x-request-id: ${requestId}\r\n`;
  head += keepAlive ? '\r\n' : 'connection: close\r\n\r\n';
  const h = Buffer.from(head, 'latin1');
  return headOnly || bodyless || payload.length === 0 ? h : Buffer.concat([h, payload]);
}
