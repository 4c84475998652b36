/**
 * A copy of a config safe to show on /config and in logs: API keys, the admin
 * token, passwords in Redis URLs, secret-looking plugin options and header
 * values, and any PEM key pasted where a file name belongs become "[redacted]".
 */

import type { ZproxyConfig } from './types.js';

export const REDACTED = '[redacted]';

// Names that conventionally hold credentials (header names and plugin option keys).
const SECRET_NAME = /secret|password|passwd|token|api[-_]?key|credential|private|^authorization$|^proxy-authorization$|^cookie$/i;
const PEM = /-----BEGIN /;

export function redactConfig(config: ZproxyConfig): ZproxyConfig {
  return redactTree(structuredClone(config), '') as ZproxyConfig;
}

/**
 * Redacts in place, children first, every value redactValueAt would hide:
 * one rule set (by JSON pointer) serves /config, the logs and config errors.
 */
function redactTree(value: unknown, pointer: string): unknown {
  if (value !== null && typeof value === 'object') {
    const node = value as Record<string, unknown>;
    for (const key of Object.keys(node)) node[key] = redactTree(node[key], `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  }
  return redactValueAt(pointer, value);
}

// JSON pointers (into the config document) of values that are credentials wherever they appear.
const SECRET_POINTER = /^\/admin\/token$|^\/middleware\/[^/]+\/keys\/\d+\/key$/;
const REDIS_URL_POINTER = /^\/middleware\/[^/]+\/redis\/url$/;
// Header values (route or headers middleware) and plugin options, where the name says whether it is a secret.
const NAMED_VALUE_POINTER = /\/(?:set|add)\/[^/]+$|\/options(?:\/[^/]+)+$/;

/**
 * The value found at `pointer` in a config document, safe to echo in an error
 * message or on /config: config errors reach terminals, CI logs and the app
 * log. The one rule set for both (redactConfig walks the document with it).
 */
export function redactValueAt(pointer: string, value: unknown): unknown {
  if (value === undefined) return value; // an unset token stays unset
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
