// Kallithea's my.ini, read (never written) for the default upstream: [server:main] host and
// port are where waitress (`gearbox serve -c my.ini`) listens. A wildcard bind address
// (0.0.0.0, ::) is reached on loopback.
import { ConfigError } from '../bridge/errors.js';
import { readIniFile } from './ini-file.js';

const DEFAULT_PORT = '5000';

function connectHost(host: string): string {
  if (host === '' || host === '0.0.0.0' || host === '*') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  if (host.includes(':') && !host.startsWith('[')) return `[${host}]`;
  return host;
}

/** The origin (`http://host:port`) Kallithea's server listens on according to my.ini. */
export async function kallitheaUpstream(file: string): Promise<string> {
  const ini = await readIniFile(file, "Kallithea's configuration (kallithea_config)");
  const server = ini['server:main'];
  if (server === undefined) {
    throw new ConfigError(
      file,
      '[server:main]',
      'the section is missing',
      'name the my.ini that `gearbox serve` uses, or set upstream in [bridge]',
    );
  }
  const port = (server.port ?? DEFAULT_PORT).trim();
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new ConfigError(
      file,
      '[server:main] port',
      `'${port}' is not a port`,
      'give a number from 1 to 65535',
    );
  }
  return `http://${connectHost((server.host ?? '').trim())}:${port}`;
}
