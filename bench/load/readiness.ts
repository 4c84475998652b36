// Waiting until a started process answers: the harness never measures a
// subject before a real request has gone through it end to end.

import { request } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { LOOPBACK } from './free-port.js';
import type { TrackedProcess } from './process-group.js';

export class NotReadyError extends Error {
  readonly code = 'LOAD_NOT_READY';
  constructor(readonly processName: string, reason: string) {
    super(`${processName}: ${reason}`);
  }
}

export interface Probe {
  port: number;
  path: string;
  /** Probe over HTTP/2 with TLS (certificate not verified: it is self-signed). */
  h2: boolean;
  expectBytes: number;
  /** Extra request headers ("Name: value"), HTTP/1.1 probes only. */
  headers?: readonly string[];
}

function headerObject(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function probeHttp1(probe: Probe): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: LOOPBACK, port: probe.port, path: probe.path, headers: headerObject(probe.headers ?? []), agent: false, timeout: 2000 }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve(res.statusCode === 200 && bytes === probe.expectBytes ? 200 : (res.statusCode ?? 0)));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function probeHttp2(probe: Probe): Promise<number> {
  return new Promise((resolve) => {
    const session = h2connect(`https://${LOOPBACK}:${probe.port}`, { rejectUnauthorized: false });
    const timer = setTimeout(() => session.destroy(), 2000);
    const finish = (status: number): void => {
      clearTimeout(timer);
      session.close();
      resolve(status);
    };
    session.on('error', () => finish(0));
    const stream = session.request({ ':path': probe.path });
    let status = 0;
    let bytes = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
    stream.on('end', () => finish(status === 200 && bytes === probe.expectBytes ? 200 : status || 1));
    stream.on('error', () => finish(0));
    stream.end();
  });
}

/** Polls every 100 ms until the probe gets 200 with the expected body length. */
export async function waitUntilServing(proc: TrackedProcess, probe: Probe, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    if (proc.hasExited()) {
      throw new NotReadyError(proc.name, `exited with ${await proc.exited} before serving: ${proc.outputTail().trim().slice(-600)}`);
    }
    last = await (probe.h2 ? probeHttp2(probe) : probeHttp1(probe));
    if (last === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const seen = last === 0 ? 'no answer' : `last status ${last} (or wrong body length)`;
  throw new NotReadyError(proc.name, `did not serve ${probe.path} within ${timeoutMs / 1000} s (${seen}): ${proc.outputTail().trim().slice(-600)}`);
}
