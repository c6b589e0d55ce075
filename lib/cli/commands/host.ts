// `kallithea-isapi host`: the IIS stand-in. Loads an ISAPI extension (a .so built from the
// DLL's sources) and serves HTTP (or HTTPS) through it on a Node server.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AuthOptions } from '../../host/auth.js';
import { acceptRawTargets, IsapiHost } from '../../host/isapi-host.js';
import { parseCommandArgs } from '../command-args.js';

export const summary = 'serve HTTP through an ISAPI extension (.so/.dll), as IIS would';

const usage = `usage: kallithea-isapi host --dll FILE [options]
  --dll FILE                  the ISAPI extension to load
  --port N                    port to listen on (default 8080; 0 = any, printed)
  --host ADDR                 address to listen on (default 127.0.0.1)
  --vdir PATH                 virtual directory of the * map (default /)
  --site-id N                 IIS site id (default 1)
  --physical-path DIR         folder the virtual directory maps to
  --tls CERT,KEY              serve HTTPS with this certificate and key (PEM files)
  --auth basic:USERS_FILE     emulate Windows auth with Basic against user:password lines
  --auth-domain NAME          domain in AUTH_USER (default CORP)
  --anonymous-fallback        with --auth: let unauthenticated requests pass anonymously
  --threads N                 host threads each pool starts with (default one per CPU)
  --read-ahead BYTES          UploadReadAheadSize (default 49152)
  --write-buffer BYTES        response bytes per request taken before the socket has them
                              (default 262144)
  --verify                    verifier mode: report contract breaches
  --close-timeout MS          on SIGTERM/SIGINT, wait this long for outstanding requests
                              before giving up on them (default 30000)
`;

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(
    'host',
    args,
    {
      dll: { type: 'string' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      vdir: { type: 'string', default: '/' },
      'site-id': { type: 'string' },
      'physical-path': { type: 'string' },
      tls: { type: 'string' },
      auth: { type: 'string' },
      'auth-domain': { type: 'string' },
      'anonymous-fallback': { type: 'boolean', default: false },
      threads: { type: 'string' },
      'read-ahead': { type: 'string' },
      'write-buffer': { type: 'string' },
      verify: { type: 'boolean', default: false },
      'close-timeout': { type: 'string' },
    },
    usage,
  );
  if (typeof values === 'number') return values;
  if (values.dll === undefined) {
    process.stderr.write(`kallithea-isapi host: --dll is required\n${usage}`);
    return 2;
  }
  let auth: AuthOptions | undefined;
  if (values.auth !== undefined) {
    const match = /^basic:(.+)$/.exec(values.auth);
    if (match === null) {
      process.stderr.write(`kallithea-isapi host: --auth must be basic:USERS_FILE\n`);
      return 2;
    }
    auth = { mode: 'basic', usersFile: match[1], anonymousFallback: values['anonymous-fallback'] };
    if (values['auth-domain'] !== undefined) auth.domain = values['auth-domain'];
  }
  const number = (text: string | undefined): number | undefined =>
    text === undefined ? undefined : Number(text);
  const host = new IsapiHost({
    dll: values.dll,
    virtualDir: values.vdir,
    siteId: number(values['site-id']),
    physicalPath: values['physical-path'],
    threads: number(values.threads),
    readAhead: number(values['read-ahead']),
    writeBuffer: number(values['write-buffer']),
    verify: values.verify,
    closeTimeoutMs: number(values['close-timeout']),
    auth,
    accessLog: (line) => process.stderr.write(`${line}\n`),
  });
  host.on('violation', (v: { rule: string; message: string }) =>
    process.stderr.write(`isapi-host: VIOLATION ${v.rule}: ${v.message}\n`),
  );
  host.on('log', (line: string) => process.stderr.write(`${line}\n`));

  let server: Server;
  if (values.tls !== undefined) {
    const [cert, key] = values.tls.split(',');
    if (cert === undefined || key === undefined) {
      process.stderr.write(`kallithea-isapi host: --tls must be CERT,KEY\n`);
      return 2;
    }
    server = createHttpsServer({ cert: readFileSync(cert), key: readFileSync(key) }, (q, s) =>
      host.handle(q, s),
    );
  } else {
    server = createHttpServer((q, s) => host.handle(q, s));
  }
  acceptRawTargets(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(values.port), values.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : values.port;
  const scheme = values.tls !== undefined ? 'https' : 'http';
  process.stdout.write(
    `isapi-host listening on ${scheme}://${values.host}:${port}${values.vdir} (${host.extension.description})\n`,
  );

  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // Stop accepting, then drop every connection, in-flight ones included (server.close()
  // alone waits for them); the host then sees its clients gone and can drain.
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await serverClosed;
  await host.close();
  return 0;
}
