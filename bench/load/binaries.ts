// Which external programs are installed: a missing one turns into a
// "skipped: not installed" line rather than a failed run.

import { accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { createRequire } from 'node:module';

export function findBinary(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return null;
}

const requireHere = createRequire(import.meta.url);

export function hasModule(specifier: string): boolean {
  try {
    requireHere.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

/** "1.22.1" from `nginx -v` (printed on stderr), or null. */
export function nginxVersion(): string | null {
  return toolVersion('nginx', ['-v'], /nginx\/(\d+\.\d+\.\d+)/);
}

export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < b.length; i++) {
    if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i];
  }
  return true;
}

/** First capture of pattern in the command's stdout+stderr (many tools print versions on stderr). */
export function toolVersion(command: string, args: string[], pattern: RegExp): string | null {
  const out = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 });
  if (out.error !== undefined) return null;
  return pattern.exec(`${out.stdout}${out.stderr}`)?.[1] ?? null;
}
