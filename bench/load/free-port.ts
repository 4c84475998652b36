// Ports are picked fresh each run (bind 0 on 127.0.0.1, read, close) so that
// parallel runs and leftovers from a crashed run never collide.

import { createServer } from 'node:net';

export const LOOPBACK = '127.0.0.1';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
