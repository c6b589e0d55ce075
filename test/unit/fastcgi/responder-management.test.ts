// Management records (request id 0): GET_VALUES answered with what the responder knows,
// other types answered with UNKNOWN_TYPE.
import assert from 'node:assert/strict';
import { FastCgiServer } from '../../../lib/bridge/fastcgi/server.js';
import { encodeRecord } from '../../../lib/bridge/fastcgi/records.js';
import { RecordType } from '../../../lib/bridge/fastcgi/protocol.js';
import { FastCgiTestClient } from '../../support/fastcgi-client.js';
import { echoHandler } from '../../support/fastcgi-echo-handler.js';

describe('FastCGI responder: management records', () => {
  let server: FastCgiServer;
  let address: string;
  before(async () => {
    server = new FastCgiServer({ secret: 's', handler: echoHandler, maxConnections: 64, log: () => {} });
    address = await server.listen('tcp:127.0.0.1:0');
  });
  after(() => server.close(1000));

  it('answers FCGI_MAX_CONNS, FCGI_MAX_REQS and FCGI_MPXS_CONNS=0, and skips names it does not know', async () => {
    const client = await FastCgiTestClient.connect(address);
    const values = await client.getValues([
      'FCGI_MAX_CONNS',
      'FCGI_MAX_REQS',
      'FCGI_MPXS_CONNS',
      'NOT_A_NAME',
    ]);
    assert.deepEqual(
      values,
      new Map([
        ['FCGI_MAX_CONNS', '64'],
        ['FCGI_MAX_REQS', '64'],
        ['FCGI_MPXS_CONNS', '0'],
      ]),
    );
    client.close();
  });

  it('answers a management record of an unknown type with UNKNOWN_TYPE and stays open', async () => {
    const client = await FastCgiTestClient.connect(address);
    client.send(encodeRecord(77, 0, Buffer.from('what')));
    assert.deepEqual(await client.nextRecord(), {
      kind: 'unknown-type',
      type: RecordType.UnknownType,
      requestId: 0,
      unknownType: 77,
    });
    const values = await client.getValues(['FCGI_MPXS_CONNS']);
    assert.equal(values.get('FCGI_MPXS_CONNS'), '0');
    client.close();
  });
});
