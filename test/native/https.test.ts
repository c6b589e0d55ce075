// HTTPS with a given certificate: HTTPS=on, SERVER_PORT_SECURE=1 and the HTTPS_* variables
// from the TLS session and the server certificate.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHost, variableValue, type RunningHost, type VariableReport } from './support/harness.js';
import { makeTestCertificate } from '../support/test-certificate.js';

describe('isapi-host over HTTPS', () => {
  let dir: string;
  let running: RunningHost;
  let report: VariableReport;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isapi-host-tls-'));
    const { key, cert } = makeTestCertificate(dir, '/O=Kallithea Test/CN=localhost');
    running = await startHost('variables', {}, (handler) =>
      createServer({ key: readFileSync(key), cert: readFileSync(cert) }, handler),
    );
    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: running.port,
          path: '/kallithea/tls',
          rejectUnauthorized: false,
          headers: {
            'X-Var-Names':
              'HTTPS,SERVER_PORT_SECURE,HTTPS_KEYSIZE,HTTPS_SECRETKEYSIZE,HTTPS_SERVER_SUBJECT,HTTPS_SERVER_ISSUER',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        },
      );
      req.on('error', reject);
      req.end();
    });
    report = JSON.parse(body.toString()) as VariableReport;
  });
  after(async () => {
    await running.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('HTTPS is on and SERVER_PORT_SECURE is 1', () => {
    assert.equal(variableValue(report, 'HTTPS'), 'on');
    assert.equal(variableValue(report, 'SERVER_PORT_SECURE'), '1');
  });

  it('HTTPS_KEYSIZE is the session key size, HTTPS_SECRETKEYSIZE the certificate key size', () => {
    assert.match(variableValue(report, 'HTTPS_KEYSIZE') ?? '', /^(128|256)$/);
    assert.equal(variableValue(report, 'HTTPS_SECRETKEYSIZE'), '2048');
  });

  it('HTTPS_SERVER_SUBJECT and HTTPS_SERVER_ISSUER name the certificate', () => {
    assert.equal(variableValue(report, 'HTTPS_SERVER_SUBJECT'), 'O=Kallithea Test, CN=localhost');
    assert.equal(variableValue(report, 'HTTPS_SERVER_ISSUER'), 'O=Kallithea Test, CN=localhost');
  });
});
