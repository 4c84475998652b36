/**
 * Content negotiation for Accept-Encoding (RFC 9110 12.5.3): pure, no
 * sockets. Picks the coding to answer with from the client's weighted list.
 */

/**
 * Returns the coding to use from `offered` (in the server's preference
 * order), or undefined for identity. The client's q-value ranks first; among
 * equal q-values the server's order decides (clients list codings in no
 * meaningful order: Chrome sends "gzip, deflate, br, zstd"). A coding with
 * q=0 is refused, and `*` stands for every coding not named.
 */
export function chooseEncoding<T extends string>(acceptEncoding: string | undefined, offered: readonly T[]): T | undefined {
  if (acceptEncoding === undefined || acceptEncoding.length === 0) return undefined;
  const q = new Map<string, number>();
  let star: number | undefined;
  for (const part of acceptEncoding.split(',')) {
    const [rawName, ...params] = part.split(';');
    const name = rawName!.trim().toLowerCase();
    if (name.length === 0) continue;
    let weight = 1;
    for (const p of params) {
      const eq = p.indexOf('=');
      if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== 'q') continue;
      const v = Number(p.slice(eq + 1).trim());
      weight = Number.isFinite(v) && v >= 0 && v <= 1 ? v : 0;
    }
    if (name === '*') star = weight;
    else q.set(name, Math.max(weight, q.get(name) ?? 0));
  }
  let best: T | undefined;
  let bestQ = 0;
  for (const coding of offered) {
    const weight = q.get(coding) ?? (coding === 'gzip' ? q.get('x-gzip') : undefined) ?? star ?? 0;
    if (weight > bestQ) {
      best = coding;
      bestQ = weight;
    }
  }
  return best;
}
