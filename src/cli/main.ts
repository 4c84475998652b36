/**
 * `zproxy <command>`: dispatches to one file per command. Exit codes follow
 * sysexits-style conventions: 0 ok, 1 failure, 2 usage error.
 */
import { readFileSync } from 'node:fs';
import { runValidate } from './validate-command.js';
import { runStart } from './start-command.js';
import { runReload, runStop } from './admin-commands.js';
import { runTop } from './top-command.js';

const USAGE = `Usage: zproxy <command> [options]

Commands:
  start      run the proxy (default config when no -c is given)
  validate   check a config file and print every problem
  reload     apply a changed config to a running zproxy without dropping connections
  stop       drain and stop a running zproxy
  top        live view of workers, actors, routes and upstreams

Run 'zproxy <command> --help' for a command's options.
Options: --version, --help
`;

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': return runStart(rest);
    case 'validate': return runValidate(rest);
    case 'reload': return runReload(rest);
    case 'stop': return runStop(rest);
    case 'top': return runTop(rest);
    case '--version':
    case '-v':
      process.stdout.write(`zproxy ${packageVersion()} (node ${process.version})\n`);
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`zproxy: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}
