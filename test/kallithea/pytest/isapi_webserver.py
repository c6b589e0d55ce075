"""pytest plugin: run Kallithea's own test_vcs_operations through kallithea-isapi.

Kallithea's tests (kallithea/tests/other/test_vcs_operations.py, shipped in the
pip-installed package) talk to a session fixture `webserver`, defined in
kallithea/tests/conftest.py, that serves the app in-process with werkzeug. This
plugin replaces that fixture, before pytest reads the conftest's fixtures, with
one that runs `kallithea-isapi serve` on the same test.ini (so the same database
and repositories): isapi-host loading the DLL, the bridge the DLL starts, and
the bridge's Kallithea workers (2 on a 2-core machine). The tests' hg and git clients then go through the whole
path. Everything else in Kallithea's test setup stays as it is.

Use: python -m pytest -p isapi_webserver --pyargs kallithea.tests.other.test_vcs_operations
with this folder on PYTHONPATH; env KALLITHEA_ISAPI_CLI names bin/kallithea-isapi.js
and KALLITHEA_ISAPI_NODE the node executable (defaults: this checkout, `node`).
"""

import os
import re
import socket
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get('KALLITHEA_ISAPI_CLI') or os.path.join(HERE, '..', '..', '..', 'bin', 'kallithea-isapi.js')
NODE = os.environ.get('KALLITHEA_ISAPI_NODE') or 'node'


_ADMIN = object()  # the default credentials, known only once Kallithea's tests are imported


class IsapiWebServer:
    """What the tests use of their werkzeug server: server_address and repo_url()."""

    def __init__(self, host, port):
        self.server_address = (host, port)

    def repo_url(self, repo_name, username=_ADMIN, password=_ADMIN):
        from kallithea.tests.base import TEST_USER_ADMIN_LOGIN, TEST_USER_ADMIN_PASS
        # Same defaults and URL shape as conftest.MyWSGIServer.repo_url.
        if username is _ADMIN:
            username = TEST_USER_ADMIN_LOGIN
        if password is _ADMIN:
            password = TEST_USER_ADMIN_PASS
        auth = ''
        if username is not None:
            auth = username
            if password is not None:
                auth += ':' + password
            auth += '@'
        host, port = self.server_address
        return 'http://%s%s:%s/%s' % (auth, host, port, repo_name)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='session')
def isapi_webserver():
    from kallithea.tests.base import TESTS_TMP_PATH
    # test.ini as conftest wrote it, on a free port instead of the fixed 4999.
    with open(os.path.join(TESTS_TMP_PATH, 'test.ini')) as f:
        text = f.read()
    ini = os.path.join(TESTS_TMP_PATH, 'isapi-test.ini')
    with open(ini, 'w') as f:
        f.write(re.sub(r'(?m)^port = \d+$', 'port = %d' % _free_port(), text, count=1))
    log = open(os.path.join(TESTS_TMP_PATH, 'isapi-serve.log'), 'wb')
    proc = subprocess.Popen(
        [NODE, CLI, 'serve', '-c', ini, '--port', '0', '--no-users', '--venv', sys.prefix,
         # The DLL's log holds the bridge's and the Kallithea workers' output.
         '--dll-log', os.path.join(TESTS_TMP_PATH, 'isapi-dll.log')],
        stdout=subprocess.PIPE, stderr=log)
    try:
        url = None
        for line in proc.stdout:
            match = re.search(rb'ready at http://([\d.]+):(\d+)/', line)
            if match:
                url = (match.group(1).decode(), int(match.group(2)))
                break
        if url is None:
            raise RuntimeError('kallithea-isapi serve did not start; see %s' % log.name)
        yield IsapiWebServer(*url)
    finally:
        proc.terminate()
        proc.wait(timeout=90)
        log.close()


@pytest.hookimpl(tryfirst=True)
def pytest_plugin_registered(plugin, manager):
    # Before pytest collects Kallithea's conftest fixtures: its `webserver` becomes ours.
    path = getattr(plugin, '__file__', '') or ''
    if path.replace(os.sep, '/').endswith('kallithea/tests/conftest.py'):
        plugin.webserver = isapi_webserver_as_webserver


@pytest.fixture(scope='session', name='webserver')
def isapi_webserver_as_webserver(isapi_webserver):
    return isapi_webserver
