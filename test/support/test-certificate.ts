// A throwaway self-signed certificate for the HTTPS tests, made by openssl in `dir`.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface TestCertificate {
  key: string;
  cert: string;
}

/** Writes key.pem and cert.pem (RSA 2048, two days) for `subject`, e.g. '/CN=127.0.0.1'. */
export function makeTestCertificate(dir: string, subject: string): TestCertificate {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  // openssl runs without the sanitizer runtimes the sanitizer scripts preload into node.
  const env = { ...process.env };
  delete env['LD_PRELOAD'];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      subject,
    ],
    { stdio: 'ignore', env },
  );
  return { key, cert };
}
