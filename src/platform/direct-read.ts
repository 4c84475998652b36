/**
 * Socket reads without node's Readable layer. By default every read goes
 * through `Readable.push`, `addChunk` and a `'data'` emit, and node
 * allocates a 64 KiB buffer per read and shrinks it; a proxy that forwards
 * each read at once pays for all of it for nothing. With node's `onread`
 * mode libuv reads into one buffer of ours and calls us directly.
 *
 * Small reads (requests, small responses) land in one buffer shared by
 * every socket of the thread: libuv runs one read at a time and calls back
 * before the next can land, and the callback copies the bytes out, so
 * consumers get a private chunk they may keep, queue for a write or slice,
 * exactly as with `'data'`.
 *
 * Bulk mode, for sockets whose number is bounded (upstream connections):
 * a socket whose read fills half the buffer is moving a large body, so it
 * gets a buffer of its own for the next read, and while its reads stay
 * large each is handed over as it is (no copy) and a fresh buffer takes
 * its place, as node's default path does; its first small read is copied
 * out and the socket goes back to the shared buffer. A socket keeps its
 * own buffer until its next read (node offers no way to swap it sooner),
 * so one that goes quiet right after a large read holds 64 KiB: fine for
 * a pool of upstream connections, not for 10,000 idle clients, which is
 * why client sockets always copy.
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
/** A read at least this large means a bulk transfer: worth a buffer of its own. */
const BULK_READ = READ_SIZE / 2;
const sharedBuffer = Buffer.allocUnsafeSlow(READ_SIZE);

/**
 * The buffer for the next read of the socket whose callback just ran:
 * node calls the generator right after the callback, without the socket,
 * so the callback leaves its choice here.
 */
let nextBuffer: Buffer = sharedBuffer;

function takeNextBuffer(): Buffer {
  const b = nextBuffer;
  nextBuffer = sharedBuffer;
  return b;
}

/** Gets a chunk of its own (never overwritten by a later read); `this` is the socket. */
export type ChunkHandler = (this: net.Socket, chunk: Buffer) => void;

/** What node calls after a read into the socket's current buffer. */
type ReadCallback = (this: net.Socket, bytes: number, buf: Uint8Array) => boolean;

/** Made once per kind of consumer (module level): one reader serves all its sockets. */
export interface DirectReader {
  readonly callback: ReadCallback;
  /** Large reads get buffers of their own and are handed over without a copy. */
  readonly bulk: boolean;
}

export function directReader(handler: ChunkHandler, options: { bulk: boolean }): DirectReader {
  const bulk = options.bulk;
  const callback = function onRead(this: net.Socket, bytes: number, buf: Uint8Array): boolean {
    let chunk: Buffer;
    if (bulk && buf !== sharedBuffer && bytes >= BULK_READ) {
      chunk = bytes === buf.length ? (buf as Buffer) : (buf as Buffer).subarray(0, bytes);
      nextBuffer = Buffer.allocUnsafeSlow(READ_SIZE);
    } else {
      chunk = Buffer.allocUnsafe(bytes);
      (buf as Buffer).copy(chunk, 0, 0, bytes);
      // Bulk: a large read into the shared buffer earns the socket its own; a small one sends it back.
      if (bulk) nextBuffer = bytes >= BULK_READ ? Buffer.allocUnsafeSlow(READ_SIZE) : sharedBuffer;
    }
    handler.call(this, chunk);
    return true; // flow control stays with pause()/resume()
  };
  return { callback, bulk };
}

/** The `onread` option for `net.connect`. */
export function connectReadOption(reader: DirectReader): net.OnReadOpts {
  return { buffer: reader.bulk ? takeNextBuffer : sharedBuffer, callback: reader.callback };
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
export function readDirect(socket: net.Socket, reader: DirectReader): boolean {
  if (fields === undefined) fields = onreadFields(socket);
  if (fields === null || socket.readableLength > 0) return false;
  const s = socket as unknown as SocketInternals;
  const handle = s._handle;
  if (handle == null || typeof handle.useUserBuffer !== 'function' || s[fields.buffer] !== null) return false;
  s[fields.buffer] = sharedBuffer;
  s[fields.generator] = reader.bulk ? takeNextBuffer : null;
  s[fields.callback] = reader.callback;
  handle.useUserBuffer(sharedBuffer);
  return true;
}
