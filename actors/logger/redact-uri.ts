/**
 * Query parameters that carry credentials (an api-key middleware's
 * `queryParam`) are written to the access log as `name=[redacted]`:
 * $request_uri is the target as received, and a log line must never hold a key.
 */

/** `uri` with the value of every query parameter named in `names` replaced by "[redacted]". */
export function redactQueryParams(uri: string, names: ReadonlySet<string>): string {
  if (names.size === 0) return uri;
  const q = uri.indexOf('?');
  if (q < 0) return uri;
  const pairs = uri.slice(q + 1).split('&');
  let changed = false;
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (!names.has(decodeName(name))) continue;
    pairs[i] = `${name}=[redacted]`;
    changed = true;
  }
  return changed ? `${uri.slice(0, q + 1)}${pairs.join('&')}` : uri;
}

function decodeName(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
