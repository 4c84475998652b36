/**
 * Socket reads without node's Readable layer. By default every read goes
 * through `Readable.push`, `addChunk` and a `'data'` emit, and node
 * allocates a 64 KiB buffer per read and shrinks it; a proxy that forwards
 * each read at once pays for all of it for nothing. With node's `onread`
 * mode libuv reads into a buffer of ours and calls us directly.
 *
 * One read buffer serves every socket of the thread: libuv runs one read
 * at a time and calls back before the next can land, and the callback
 * copies the bytes out, so consumers get a private chunk they may keep,
 * queue for a write or slice, exactly as with `'data'`; an idle socket
 * holds no buffer.
 *
 * `'end'`, `'close'`, `'error'`, `pause()` and `resume()` behave as before
 * (node's `onread` contract) and `'data'` is no longer emitted, with one
 * difference that decides where this is used: `pause()` stops the handle at
 * once (an `epoll_ctl` each way), where a Readable keeps reading up to its
 * high-water mark. On client sockets, paused only for large uploads and
 * pipelining, that is free; on upstream sockets, paused whenever a client
 * is slower than the origin, it cost more than it saved (docs/PERFORMANCE.md).
 *
 * Node creates accepted sockets without `onread`; `readDirect` switches one
 * over through the same fields node's constructor sets for that option,
 * found by their symbol names. Where a Node lacks them it returns false and
 * the caller keeps its `'data'` listener (checked on Node 20, 24 and 26).
 */
import type net from 'node:net';

const READ_SIZE = 64 * 1024;
const sharedBuffer = Buffer.allocUnsafeSlow(READ_SIZE);

/** Gets a chunk of its own (never overwritten by a later read); `this` is the socket. */
export type ChunkHandler = (this: net.Socket, chunk: Buffer) => void;

/** What node calls after a read into the shared buffer. Make one per kind of consumer, at module level. */
export type DirectReader = (this: net.Socket, bytes: number, buf: Uint8Array) => boolean;

export function directReader(handler: ChunkHandler): DirectReader {
  return function onRead(this: net.Socket, bytes: number): boolean {
    const chunk = Buffer.allocUnsafe(bytes);
    sharedBuffer.copy(chunk, 0, 0, bytes);
    handler.call(this, chunk);
    return true; // flow control stays with pause()/resume()
  };
}

interface OnreadFields {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

/** undefined: not looked up yet; null: this Node has no such fields. */
let fields: OnreadFields | null | undefined;

function onreadFields(socket: net.Socket): OnreadFields | null {
  const symbols = Object.getOwnPropertySymbols(socket);
  const named = (name: string): symbol | undefined => symbols.find((s) => s.description === name);
  const buffer = named('kBuffer');
  const callback = named('kBufferCb');
  const generator = named('kBufferGen');
  return buffer !== undefined && callback !== undefined && generator !== undefined ? { buffer, callback, generator } : null;
}

type SocketInternals = Record<symbol, unknown> & { _handle?: { useUserBuffer?: (buf: Uint8Array) => void } | null };

/**
 * Switches an accepted plain-TCP socket to direct reads. False (nothing
 * changed) for a socket that already buffered bytes, has no handle, already
 * reads into a buffer, or on a Node without the fields.
 */
export function readDirect(socket: net.Socket, reader: DirectReader): boolean {
  if (fields === undefined) fields = onreadFields(socket);
  if (fields === null || socket.readableLength > 0) return false;
  const s = socket as unknown as SocketInternals;
  const handle = s._handle;
  if (handle == null || typeof handle.useUserBuffer !== 'function' || s[fields.buffer] !== null) return false;
  s[fields.buffer] = sharedBuffer;
  s[fields.generator] = null;
  s[fields.callback] = reader;
  handle.useUserBuffer(sharedBuffer);
  return true;
}
