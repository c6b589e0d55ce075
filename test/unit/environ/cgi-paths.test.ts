// Requests from nginx or cgi-fcgi (no APPL_MD_PATH): SCRIPT_NAME/PATH_INFO/REQUEST_URI as given.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { buildEnviron } from '../../../lib/bridge/environ/build.js';
import { RequestAbort } from '../../../lib/bridge/fastcgi/request-abort.js';

function environFor(params: Record<string, string>) {
  return buildEnviron({
    params: new Map(Object.entries(params)),
    stdin: new PassThrough(),
    stdinEmpty: false,
    abort: new RequestAbort(),
  });
}

describe('environ: CGI-style web servers', () => {
  it('keeps SCRIPT_NAME, PATH_INFO and REQUEST_URI as nginx gives them', () => {
    const environ = environFor({
      SCRIPT_NAME: '/kallithea',
      PATH_INFO: '/a/b',
      REQUEST_URI: '/kallithea/a%2Fb?x=1',
      QUERY_STRING: 'x=1',
    });
    assert.equal(environ.SCRIPT_NAME, '/kallithea');
    assert.equal(environ.PATH_INFO, '/a/b');
    assert.equal(environ['kallithea_isapi.raw_target'], '/kallithea/a%2Fb?x=1');
    assert.equal(environ.QUERY_STRING, 'x=1');
  });

  it('reads decoded UTF-8 bytes in PATH_INFO as UTF-8 and does not decode % again', () => {
    const environ = environFor({
      SCRIPT_NAME: '',
      PATH_INFO: Buffer.from('/répo/100%', 'utf8').toString('latin1'),
    });
    assert.equal(environ.PATH_INFO, '/répo/100%');
    assert.equal(environ['kallithea_isapi.raw_target'], '/r%C3%A9po/100%25');
  });

  it('without REQUEST_URI builds the target from the paths and the query', () => {
    const environ = environFor({ SCRIPT_NAME: '/app', PATH_INFO: '/x y', QUERY_STRING: 'q=1' });
    assert.equal(environ['kallithea_isapi.raw_target'], '/app/x%20y?q=1');
  });
});
