/**
 * A copy of a config safe to show on /config and in logs: API keys, the admin
 * token, passwords in Redis URLs, secret-looking plugin options and header
 * values, and any PEM key pasted where a file name belongs become "[redacted]".
 */

import type { HeaderOps, HeaderRules, ZproxyConfig } from './types.js';

export const REDACTED = '[redacted]';

// Names that conventionally hold credentials (header names and plugin option keys).
const SECRET_NAME = /secret|password|passwd|token|api[-_]?key|credential|private|^authorization$|^proxy-authorization$|^cookie$/i;
const PEM = /-----BEGIN /;

export function redactConfig(config: ZproxyConfig): ZproxyConfig {
  const copy = structuredClone(config);
  if (copy.admin.token !== undefined) copy.admin.token = REDACTED;
  for (const listener of copy.listeners) {
    for (const certificate of listener.tls?.certificates ?? []) {
      if (PEM.test(certificate.keyFile)) certificate.keyFile = REDACTED;
    }
  }
  for (const group of Object.values(copy.upstreams)) {
    if (group.tls?.keyFile !== undefined && PEM.test(group.tls.keyFile)) group.tls.keyFile = REDACTED;
  }
  for (const route of copy.routes) redactHeaderRules(route.headers);
  for (const m of Object.values(copy.middleware)) {
    switch (m.type) {
      case 'api-key':
        for (const key of m.keys) key.key = REDACTED;
        break;
      case 'rate-limit':
        if (m.redis !== undefined) m.redis.url = redactUrlPassword(m.redis.url);
        break;
      case 'headers':
        redactHeaderRules(m);
        break;
      case 'plugin':
        m.options = redactSecretKeys(m.options) as Record<string, unknown>;
        break;
      case 'cors':
      case 'cache':
      case 'compression':
        break;
    }
  }
  return copy;
}

// JSON pointers (into the config document) of values that are credentials wherever they appear.
const SECRET_POINTER = /^\/admin\/token$|^\/middleware\/[^/]+\/keys\/\d+\/key$/;
const REDIS_URL_POINTER = /^\/middleware\/[^/]+\/redis\/url$/;
// Header values (route or headers middleware) and plugin options, where the name says whether it is a secret.
const NAMED_VALUE_POINTER = /\/(?:set|add)\/[^/]+$|\/options(?:\/[^/]+)+$/;

/**
 * The value found at `pointer` in a config document, safe to echo in an error
 * message: config errors reach terminals, CI logs and the app log, so the
 * same values redactConfig hides are hidden here too.
 */
export function redactValueAt(pointer: string, value: unknown): unknown {
  if (SECRET_POINTER.test(pointer)) return REDACTED;
  if (REDIS_URL_POINTER.test(pointer)) return typeof value === 'string' ? redactUrlPassword(value) : value;
  if (NAMED_VALUE_POINTER.test(pointer) && SECRET_NAME.test(pointer.slice(pointer.lastIndexOf('/') + 1))) return REDACTED;
  if (typeof value === 'string' && PEM.test(value)) return REDACTED;
  return value;
}

/** "redis://user:pw@host:6379" -> "redis://user:[redacted]@host:6379"; userinfo without ":" may be a bare password. */
export function redactUrlPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon === -1 ? `${scheme}${REDACTED}@` : `${scheme}${userinfo.slice(0, colon)}:${REDACTED}@`;
  });
}

function redactHeaderRules(rules: HeaderRules): void {
  redactHeaderOps(rules.request);
  redactHeaderOps(rules.response);
}

function redactHeaderOps(ops: HeaderOps): void {
  for (const map of [ops.add, ops.set]) {
    for (const name of Object.keys(map)) if (SECRET_NAME.test(name)) map[name] = REDACTED;
  }
}

function redactSecretKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecretKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) out[key] = SECRET_NAME.test(key) ? REDACTED : redactSecretKeys(child);
  return out;
}
