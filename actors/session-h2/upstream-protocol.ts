/**
 * Upstream groups with `protocol: "h2"` (HTTP/2 to the upstream) are
 * described by the schema but not proxied by this build: both sessions speak
 * HTTP/1.1 upstream. Rather than send HTTP/1.1 to an HTTP/2-only server (a
 * gRPC backend answers that with a GOAWAY: every request a 502), the worker
 * refuses such a config at start and on reload, naming the group and the fix.
 */
import type { ZproxyConfig } from '../../src/config/types.js';
import { ZproxyError } from '../../src/kernel/errors.js';

export function refuseH2Upstreams(config: ZproxyConfig): void {
  const h2 = Object.values(config.upstreams).filter((g) => g.protocol === 'h2').map((g) => g.name);
  if (h2.length === 0) return;
  throw new ZproxyError({
    code: 'config.unsupported',
    message: `upstream ${h2.map((n) => `'${n}'`).join(', ')}: protocol "h2" (HTTP/2 to the upstream) is not available in this build yet; set /upstreams/${h2[0]}/protocol to "http1" (clients may still speak HTTP/2 to zproxy)`,
    source: 'config',
    context: { upstream: h2[0]! },
  });
}
