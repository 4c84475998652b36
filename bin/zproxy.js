#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to dist/ by `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('zproxy: not built yet; run `npm run build` (or `npm start`) in the zproxy directory first\n');
  process.exit(1);
}
const { runCli } = await import(main.href);
// Exit explicitly: after a drained stop, handles owned by libraries (the fd
// broker's listening socket, pino's destination) must not keep the process up.
// stdout/stderr to pipes and files are synchronous on Linux, so nothing is lost.
process.exit(await runCli(process.argv.slice(2)));
