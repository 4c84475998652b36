/**
 * A real ClientHello from node's TLS client, for the SNI reader's tests:
 * a raw TCP server takes the first record and hangs up.
 */
import net from 'node:net';
import tls from 'node:tls';

export /** Connects node's TLS client to a raw TCP server and returns the first record it sent (the ClientHello). */
async function captureHello(options: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  let client: tls.TLSSocket | undefined;
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ClientHello within 5 s')), 5000);
      server.once('connection', (socket) => {
        let got = Buffer.alloc(0);
        socket.on('data', (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) {
            clearTimeout(timer);
            socket.destroy();
            resolve(got.subarray(0, 5 + got.readUInt16BE(3)));
          }
        });
        socket.on('error', () => {});
      });
      client = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
      client.on('error', () => {});
    });
  } finally {
    client?.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
