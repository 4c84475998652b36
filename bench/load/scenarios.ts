// The traffic shapes measured: each names its load generator, path and what
// the subject must support (TLS+h2, WebSocket upgrades).

import { POST_BODY_BYTES } from './body-sizes.js';

export type ScenarioName = 'small' | '64k' | '1m' | 'post64k' | 'newconn' | 'h2' | 'ws';

export interface Scenario {
  name: ScenarioName;
  title: string;
  generator: 'wrk' | 'h2load' | 'ws-load';
  path: string;
  /** Subject listens with TLS and offers h2 via ALPN. */
  h2: boolean;
  /** Needs the WebSocket echo origin and a subject that forwards upgrades. */
  ws: boolean;
  headers: readonly string[];
  postBytes: number;
}

const base: Pick<Scenario, 'h2' | 'ws' | 'headers' | 'postBytes' | 'generator'> = { h2: false, ws: false, headers: [], postBytes: 0, generator: 'wrk' };

export const SCENARIOS: readonly Scenario[] = [
  { ...base, name: 'small', title: 'keep-alive GET, 100-byte body', path: '/small' },
  { ...base, name: '64k', title: 'keep-alive GET, 64 KiB body', path: '/64k' },
  { ...base, name: '1m', title: 'keep-alive GET, 1 MiB body', path: '/1m' },
  { ...base, name: 'post64k', title: `keep-alive POST, ${POST_BODY_BYTES / 1024} KiB request body, 2-byte reply`, path: '/post', postBytes: POST_BODY_BYTES },
  { ...base, name: 'newconn', title: 'new connection per request (Connection: close), 100-byte body', path: '/small', headers: ['Connection: close'] },
  { ...base, name: 'h2', title: 'HTTP/2 over TLS (h2load), 100-byte body, origin over HTTP/1.1', path: '/small', h2: true, generator: 'h2load' },
  { ...base, name: 'ws', title: 'WebSocket echo, 100-byte text messages, one in flight per connection', path: '/', ws: true, generator: 'ws-load' },
];

export const SCENARIO_NAMES: readonly ScenarioName[] = SCENARIOS.map((s) => s.name);

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
