// Issue 9: ECB fields read after DONE_WITH_SESSION. IIS keeps no ECB alive after DONE, so an
// extension that reads one is reading freed memory there. In verifier mode the host keeps a
// retired ECB as a poisoned stub: its strings point at a poison text and its function
// pointers at traps that record `ecb_after_done`; in the AddressSanitizer build
// (scripts/asan-host.sh) its other fields are ASan-poisoned as well, so the plain field read
// itself is reported, with the extension's stack. The fixture reads lpszQueryString, then
// calls GetServerVariable through the stub. Run in a host process of its own: under ASan
// the read ends that process.
import assert from 'node:assert/strict';
import { loadBinding } from '../../lib/host/binding.js';
import { eventually, fixture, rawExchange, startHostProcess, type HostProcess } from './support/harness.js';

describe('isapi-host: ECB fields read after DONE_WITH_SESSION (retired ECB)', function () {
  this.timeout(60_000);
  let host: HostProcess;
  const poisoned = loadBinding().retiredEcbsPoisoned;

  before(async () => {
    host = await startHostProcess(['--dll', fixture('verifier_breaker'), '--vdir', '/kallithea', '--verify']);
  });
  after(() => host.stop());

  it(
    poisoned
      ? 'the ASan build reports the field read as a use-after-poison in the extension'
      : 'the read finds the poison text, and the call through the stub is an ecb_after_done violation',
    async () => {
      const response = await rawExchange(
        host.port,
        'GET /kallithea/b?rule=ecb_field_after_done HTTP/1.1\r\nHost: t\r\n\r\n',
        (got) => got.toString('latin1').endsWith('\r\n\r\nok'),
      );
      assert.match(response.toString('latin1'), /^HTTP\/1\.1 200 [^]*\r\n\r\nok$/);
      if (poisoned) {
        assert.ok(
          await eventually(() => host.child.exitCode !== null || host.child.signalCode !== null, 1000),
          'the ASan build did not stop on the read',
        );
        assert.match(host.stderr(), /AddressSanitizer: use-after-poison/);
        assert.match(host.stderr(), /READ of size 8/);
        assert.match(host.stderr(), /verifier_breaker/);
      } else {
        assert.ok(
          await eventually(() =>
            /VIOLATION ecb_after_done: GetServerVariable \(retired ECB\) after DONE_WITH_SESSION/.test(
              host.stderr(),
            ),
          ),
          host.stderr(),
        );
        assert.equal(host.child.exitCode, null);
      }
    },
  );
});
