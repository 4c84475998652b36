// The origin's fixed responses, shared by the nginx origin (files on disk)
// and the Node origin (buffers in memory) so both serve identical bytes.

export const ORIGIN_BODIES: ReadonlyArray<{ path: string; sizeBytes: number }> = [
  { path: '/small', sizeBytes: 100 },
  { path: '/64k', sizeBytes: 64 * 1024 },
  { path: '/1m', sizeBytes: 1024 * 1024 },
];

/** Reply of the origin's POST sink (after it has read the whole body). */
export const POST_REPLY = 'ok';

export const POST_BODY_BYTES = 64 * 1024;

/** ASCII filler so bodies are printable when debugging with curl. */
export function originBody(sizeBytes: number): Buffer {
  return Buffer.alloc(sizeBytes, 'a');
}
