/**
 * The config zproxy runs with when given none: a listener on 127.0.0.1:8080
 * in front of the built-in demo upstream, admin API on 127.0.0.1:9901.
 */

import { fileURLToPath } from 'node:url';
import { loadConfigFile } from './load-config.js';
import type { ZproxyConfig } from './types.js';

/** dist/src/config/ -> the package root's conf/default.json. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../../conf/default.json', import.meta.url));

export function loadDefaultConfig(env: NodeJS.ProcessEnv = process.env): ZproxyConfig {
  return loadConfigFile(DEFAULT_CONFIG_PATH, env);
}
