/**
 * Socket reads without node's Readable layer. By default every read goes
 * through `Readable.push`, `addChunk` and a `'data'` emit, and node
 * allocates a 64 KiB buffer per read and shrinks it; a proxy that forwards
 * each read at once pays for all of it for nothing. With node's `onread`
 * mode libuv reads into one buffer of ours and calls us directly.
 *
 * One read buffer serves every socket of the thread: libuv runs one read
 * at a time and calls back before the next can land, and the callback
 * copies the bytes out, so consumers get a private chunk they may keep,
 * queue for a write or slice, exactly as with `'data'`. The copy is the
 * same size as the read; node's default path also allocates per read.
 *
 * `'end'`, `'close'`, `'error'`, `pause()` and `resume()` behave as before
 * (node's `onread` contract); `'data'` is no longer emitted.
 *
 * Sockets we connect take the public `onread` option of `net.connect`.
 * Sockets node accepted were created without it; `readDirect` switches
 * them over through the same fields node's constructor sets for `onread`,
 * found by their symbol names. Where a Node lacks them it returns false and
 * the caller keeps its `'data'` listener (checked on Node 20, 24 and 26).
 */
import type net from 'node:net';

const READ_SIZE = 64 * 1024;
const readBuffer = Buffer.allocUnsafeSlow(READ_SIZE);

/** Gets a private copy of the bytes read; `this` is the socket. */
export type ChunkHandler = (this: net.Socket, chunk: Buffer) => void;

/** What node calls after a read into the shared buffer. */
export type ReadCallback = (this: net.Socket, bytes: number, buf: Uint8Array) => boolean;

/** Make once per kind of consumer (module level): one function serves all its sockets. */
export function readCallback(handler: ChunkHandler): ReadCallback {
  return function onRead(this: net.Socket, bytes: number): boolean {
    const chunk = Buffer.allocUnsafe(bytes);
    readBuffer.copy(chunk, 0, 0, bytes);
    handler.call(this, chunk);
    return true; // flow control stays with pause()/resume()
  };
}

/** The `onread` option for `net.connect`. */
export function connectReadOption(callback: ReadCallback): net.OnReadOpts {
  return { buffer: readBuffer, callback };
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
 * changed) for a socket that already buffered bytes, has no TCP handle, or
 * on a Node without the fields.
 */
export function readDirect(socket: net.Socket, callback: ReadCallback): boolean {
  if (fields === undefined) fields = onreadFields(socket);
  if (fields === null || socket.readableLength > 0) return false;
  const s = socket as unknown as SocketInternals;
  const handle = s._handle;
  if (handle == null || typeof handle.useUserBuffer !== 'function' || s[fields.buffer] !== null) return false;
  s[fields.buffer] = readBuffer;
  s[fields.generator] = null;
  s[fields.callback] = callback;
  handle.useUserBuffer(readBuffer);
  return true;
}
