// The one INI reader, in its two dialects: kallithea-isapi.ini as the DLL reads it, and my.ini
// as Python's configparser reads it. Where the `ini` package would read differently, the case
// is here (see lib/config/ini-text.ts).
import assert from 'node:assert/strict';
import { parseIni } from '../../../lib/config/ini-text.js';
import { problemText } from '../../../lib/config/problems.js';

describe('config: INI reader', () => {
  it('kallithea-isapi.ini: keeps backslashes, quotes and ; or # inside a value, as the DLL does', () => {
    const { sections, problems } = parseIni(
      [
        '; comment',
        '[isapi] ; the DLL',
        'bridge_address = pipe:\\\\.\\pipe\\kallithea ; connect mode',
        'node = \\\\server\\share\\node.exe',
        'secret_file = "C:\\a;b#c" # quoted is not special',
        'log_file = logs\tx.log\t; tab comment',
        '[bridge]',
        'kallithea_config = my.ini',
      ].join('\r\n'),
      'k.ini',
      'kallithea-isapi',
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(sections, {
      isapi: {
        bridge_address: 'pipe:\\\\.\\pipe\\kallithea',
        node: '\\\\server\\share\\node.exe',
        secret_file: '"C:\\a;b#c"',
        log_file: 'logs\tx.log',
      },
      bridge: { kallithea_config: 'my.ini' },
    });
  });

  it('kallithea-isapi.ini: every syntax problem, each with its line and fix', () => {
    const { problems } = parseIni(
      'stray = 1\n[isapi]\nmode = spawn\nmode = connect\nno equals here\n= 3\n[isapi]\nKey: value\n',
      'k.ini',
      'kallithea-isapi',
    );
    assert.deepEqual(problems.map(problemText), [
      'k.ini:1: stray comes before any [section]; put it under [isapi], [bridge] or [status]',
      'k.ini:4: [isapi] mode is given twice; keep one',
      `k.ini:5: "no equals here" is not 'key = value', a [section] or a ; comment; write it as key = value or remove it`,
      `k.ini:6: "= 3" is not 'key = value', a [section] or a ; comment; write it as key = value or remove it`,
      'k.ini:7: section [isapi] appears twice; merge them',
      `k.ini:8: "Key: value" is not 'key = value', a [section] or a ; comment; write it as key = value or remove it`,
    ]);
  });

  it("my.ini: configparser's rules (key: value, lower-case names, continuation lines, [DEFAULT])", () => {
    const { sections, problems } = parseIni(
      [
        '[DEFAULT]',
        'debug = false',
        '[server:main]',
        'Host: 0.0.0.0',
        'port = 5000 ; not a comment in configparser',
        '    # an indented comment',
        '[pipeline:main]',
        'pipeline = proxy-prefix',
        '    kallithea',
        '[filter:proxy-prefix]',
        'use = egg:PasteDeploy#prefix',
      ].join('\n'),
      'my.ini',
      'configparser',
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(sections['server:main'], {
      debug: 'false',
      host: '0.0.0.0',
      port: '5000 ; not a comment in configparser',
    });
    assert.equal(sections['pipeline:main']?.pipeline, 'proxy-prefix\nkallithea');
    assert.equal(sections['filter:proxy-prefix']?.use, 'egg:PasteDeploy#prefix');
  });

  it('my.ini: problems configparser would raise, with lines', () => {
    const { problems } = parseIni('port = 1\n[a]\nx = 1\nX = 2\njust words\n', 'my.ini', 'configparser');
    assert.deepEqual(
      problems.map((p) => [p.line, p.problem]),
      [
        [1, 'port comes before any [section]'],
        [4, '[a] x is given twice'],
        [5, `"just words" is not 'key = value', a [section] or a ; comment`],
      ],
    );
  });
});
