/**
 * Hop-by-hop header fields: meaningful for one connection only, so a proxy drops
 * them before forwarding (RFC 9110 7.6.1), together with every field the
 * Connection header names. The list is RFC 9110 7.6.1's (Connection,
 * Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade) plus RFC 2616
 * 13.5.1's Trailer, Proxy-Authenticate and Proxy-Authorization, which a reverse
 * proxy must not pass on either.
 *
 * Framing (Content-Length, Transfer-Encoding) is set apart instead of dropped:
 * - body forwarded unchanged (raw chunked bytes or exactly Content-Length bytes):
 *   re-add the framing pairs as they are;
 * - body re-encoded (compression, cache replay): drop them and write new framing.
 * Upgrade + Connection: upgrade are dropped here; the caller re-adds them for a
 * WebSocket/upgrade request it decides to forward.
 */

/** True for a hop-by-hop field name; `lowerName` must already be lowercase. */
export function isHopByHop(lowerName: string): boolean {
  switch (lowerName.length) {
    case 2: return lowerName === 'te';
    case 7: return lowerName === 'upgrade' || lowerName === 'trailer';
    case 10: return lowerName === 'connection' || lowerName === 'keep-alive';
    case 16: return lowerName === 'proxy-connection';
    case 17: return lowerName === 'transfer-encoding';
    case 18: return lowerName === 'proxy-authenticate';
    case 19: return lowerName === 'proxy-authorization';
    default: return false;
  }
}

/**
 * Returns a new flat [name, value, ...] array without hop-by-hop fields, without
 * fields named in `connectionTokens` (lowercase, as the parsers give them) and
 * without the framing fields Content-Length and Transfer-Encoding; those framing
 * pairs are appended to `framingOut` when given (see the module comment for when to
 * re-add them). A Connection token naming content-length, transfer-encoding or host
 * is ignored: letting a client strip them would change how the next hop frames or
 * routes the message.
 */
export function filterHopByHop(
  headers: readonly string[], connectionTokens: readonly string[], framingOut?: string[],
): string[] {
  const out: string[] = [];
  const tokenCount = connectionTokens.length;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    const kind = classify(name);
    if (kind === FRAMING) {
      if (framingOut !== undefined) framingOut.push(name, headers[i + 1]);
      continue;
    }
    if (kind === HOP_BY_HOP) continue;
    if (tokenCount > 0 && kind !== HOST && isListed(name, connectionTokens)) continue;
    out.push(name, headers[i + 1]);
  }
  return out;
}

const END_TO_END = 0;
const HOP_BY_HOP = 1;
const FRAMING = 2;
const HOST = 3;

/** Case-insensitive by length then char codes, so no lowercased copy of each name is made. */
function classify(name: string): number {
  switch (name.length) {
    case 2: return equalsLower(name, 'te') ? HOP_BY_HOP : END_TO_END;
    case 4: return equalsLower(name, 'host') ? HOST : END_TO_END;
    case 7: return equalsLower(name, 'upgrade') || equalsLower(name, 'trailer') ? HOP_BY_HOP : END_TO_END;
    case 10: return equalsLower(name, 'connection') || equalsLower(name, 'keep-alive') ? HOP_BY_HOP : END_TO_END;
    case 14: return equalsLower(name, 'content-length') ? FRAMING : END_TO_END;
    case 16: return equalsLower(name, 'proxy-connection') ? HOP_BY_HOP : END_TO_END;
    case 17: return equalsLower(name, 'transfer-encoding') ? FRAMING : END_TO_END;
    case 18: return equalsLower(name, 'proxy-authenticate') ? HOP_BY_HOP : END_TO_END;
    case 19: return equalsLower(name, 'proxy-authorization') ? HOP_BY_HOP : END_TO_END;
    default: return END_TO_END;
  }
}

function isListed(name: string, tokens: readonly string[]): boolean {
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t];
    if (token.length === name.length && equalsLower(name, token)) return true;
  }
  return false;
}

/**
 * `name` (any case) equals `lower` (lowercase, same length checked by the caller).
 * Only 'A'-'Z' are folded: a blind `| 0x20` would also fold '^' onto '~', both tchars.
 */
function equalsLower(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}
