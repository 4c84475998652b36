/**
 * Child process run by fd-broker.ts: it exists only to hand a listening
 * socket back to its parent over the IPC channel (SCM_RIGHTS), then exits.
 *   bind <ip> <family> <port> <backlog>: creates, binds and listens a socket.
 *     Listening happens here, in a process that never polls it, so the parent
 *     receives a listening fd it does not accept on.
 *   dup: wraps inherited fd 3 (the parent's listening socket) and sends it
 *     back, which gives the parent thread its own duplicate of the fd.
 * Replies { ok: true } with the handle, or { ok: false, errno, syscall }.
 * Started with --no-deprecation: process.binding is deprecated but is the
 * only way to hold a raw listening handle (present on Node 20, 24, 26).
 */

interface RawTcp {
  bind(ip: string, port: number, flags?: number): number;
  bind6(ip: string, port: number, flags?: number): number;
  listen(backlog: number): number;
  open(fd: number): number;
}

const binding = (process as unknown as { binding(name: string): { TCP: new (type: number) => RawTcp; constants: { SERVER: number } } }).binding('tcp_wrap');

function reply(message: object, handle?: RawTcp): void {
  // Exit only once the handle is written: the fd must reach the parent before our copy closes.
  process.send!(message, handle as never, () => process.exit(0));
}

const [mode, ip, family, port, backlog] = process.argv.slice(2);
const handle = new binding.TCP(binding.constants.SERVER);
if (mode === 'bind') {
  let err = family === '6' ? handle.bind6(ip!, Number(port), 0) : handle.bind(ip!, Number(port), 0);
  if (err) {
    reply({ ok: false, errno: err, syscall: 'bind' });
  } else {
    // libuv defers EADDRINUSE from bind to listen, so listen's error may be the bind's.
    err = handle.listen(Number(backlog));
    if (err) reply({ ok: false, errno: err, syscall: 'listen' });
    else reply({ ok: true }, handle);
  }
} else if (mode === 'dup') {
  const err = handle.open(3);
  if (err) reply({ ok: false, errno: err, syscall: 'open' });
  else reply({ ok: true }, handle);
} else {
  reply({ ok: false, errno: 'EINVAL', syscall: `unknown mode '${mode}'` });
}
