"""One Kallithea worker of the kallithea-isapi bridge.

usage: python kallithea_worker.py MY_INI unix:/private/dir/w1.sock
       python kallithea_worker.py MY_INI tcp:127.0.0.1:PORT
       python kallithea_worker.py MY_INI --check      (load the app, then exit)

Loads Kallithea's WSGI app from MY_INI with PasteDeploy, logging configured from the
same file as `gearbox serve` does, and serves it with waitress on ONE thread
(Kallithea is not thread-safe) at the address the bridge chose. The other
waitress settings of [server:main] (max_request_body_size...) still apply.

Prints "ready PID" on stdout once the socket listens. stdin is the lifeline: the
bridge holds the other end of the pipe and never writes; when the bridge dies
the read sees EOF and the worker exits at once, so none is ever orphaned.

What IIS knows first-hand reaches Kallithea as if Kallithea stood where IIS is:
the bridge sends `X-Kallithea-Isapi: TOKEN SCHEME CLIENT_ADDRESS`, and with the
token the bridge gave this worker (env KALLITHEA_ISAPI_WORKER_TOKEN) the worker
sets wsgi.url_scheme (https behind TLS: clone URLs and redirects) and
REMOTE_ADDR. Without the token the header is dropped, never believed.

A user's first login through an external plugin (container: Windows users) creates
the user. Two first requests at once on two workers both find no user and both
insert it; Kallithea 0.7.0 lets the loser's IntegrityError become a 500. Here the
loser rolls back and authenticates once more, now finding the user the other made.
"""

import hmac
import logging.config
import os
import sys
import threading

import waitress
from paste.deploy import loadapp
from paste.deploy.loadwsgi import SERVER, loadcontext
from waitress.adjustments import Adjustments

# Read once and removed: hg and git processes Kallithea starts need not know it.
HOP_TOKEN = os.environ.pop('KALLITHEA_ISAPI_WORKER_TOKEN', '')

# The bridge decides these; my.ini's values are for `gearbox serve`.
DECIDED_HERE = {'host', 'port', 'listen', 'sockets', 'unix_socket', 'unix_socket_perms', 'threads'}


def load(ini):
    here = os.path.dirname(ini)
    logging.config.fileConfig(ini, {'__file__': ini, 'here': here})
    app = loadapp('config:' + ini)
    retry_raced_first_logins()
    return app


def retry_raced_first_logins():
    """Makes the external plugins' user creation retry once if another worker won the race."""
    try:
        from kallithea.lib.auth_modules import KallitheaExternalAuthPlugin
        from kallithea.model import meta
        from sqlalchemy.exc import IntegrityError
    except ImportError:  # not Kallithea (the pool's tests serve a tiny app)
        return
    authenticate = KallitheaExternalAuthPlugin._authenticate

    def _authenticate(self, userobj, username, passwd, settings, **kwargs):
        try:
            return authenticate(self, userobj, username, passwd, settings, **kwargs)
        except IntegrityError:
            if userobj is not None:
                raise  # not a new user: not this race
            meta.Session().rollback()
            logging.getLogger('kallithea_worker').info(
                'first login of a new user raced another worker; authenticating again')
            return authenticate(self, None, username, passwd, settings, **kwargs)

    KallitheaExternalAuthPlugin._authenticate = _authenticate


def flush_without_polling():
    """Makes waitress's main loop wait for the outbuf lock rather than poll for it.

    The app thread holds the lock while it appends a chunk, and wakes the main loop
    (pull_trigger) before it lets go; waitress's main loop then only tries the lock, and
    while it fails, select() finds the socket still writable and the loop turns again.
    Behind the bridge that is often: output waits in this buffer (a Unix socket holds ~200
    KiB where a direct client's TCP socket takes megabytes), every read by the bridge wakes
    the loop, and past 1 MiB the buffer is a temp file whose appends hold the lock longer.
    A 300 MiB hg clone through the path cost 36,000-59,000 select() calls and ~1 s more of
    the worker's CPU than directly. Waiting costs one futex wait: the lock is held only for
    an append (the app thread waits for room on the Condition, which releases it). The
    lock is an RLock, so waitress's own non-blocking acquire inside then succeeds.
    """
    from waitress.channel import HTTPChannel
    flush = HTTPChannel._flush_some_if_lockable

    def _flush_some_if_lockable(self, *args, **kwargs):
        with self.outbuf_lock:
            return flush(self, *args, **kwargs)

    HTTPChannel._flush_some_if_lockable = _flush_some_if_lockable


def behind_the_bridge(app):
    """Takes the scheme and the client's address from the bridge's X-Kallithea-Isapi."""
    def from_the_bridge(environ, start_response):
        claim = environ.pop('HTTP_X_KALLITHEA_ISAPI', '').split(' ')
        if HOP_TOKEN and len(claim) == 3 and hmac.compare_digest(claim[0], HOP_TOKEN):
            if claim[1] in ('http', 'https'):
                environ['wsgi.url_scheme'] = claim[1]
            if claim[2]:
                environ['REMOTE_ADDR'] = claim[2]
        return app(environ, start_response)
    return from_the_bridge


def server_settings(ini):
    """waitress settings from [server:main], minus what the bridge decides."""
    try:
        conf = loadcontext(SERVER, 'config:' + ini).local_conf
    except LookupError:
        return {}
    return {k: v for k, v in conf.items() if k in Adjustments._param_map and k not in DECIDED_HERE}


# waitress moves a response's unsent output to a temporary file once it passes
# outbuf_overflow (1 MiB by default), and keeps that file for the next 16 MiB of output.
# Over a Unix socket (the bridge's workers on POSIX) the kernel holds ~200 KiB (capped by
# net.core.wmem_max) where a TCP client's socket grows to megabytes, so a clone's output
# waits in waitress instead, and chunk after chunk went through the file (3 syscalls per
# append, re-reads after partial sends): git's 4 KiB chunks made that ~1.5 s of CPU per
# 300 MiB clone. In memory up to outbuf_high_watermark (16 MiB by default, where the app
# thread waits anyway), the file is left for larger single writes. [server:main] wins.
UNIX_SOCKET_OUTBUF_OVERFLOW = 16 << 20


def worker_settings(ini, address):
    """All waitress settings of a worker at `address` but the thread count."""
    buffering = {'outbuf_overflow': str(UNIX_SOCKET_OUTBUF_OVERFLOW)} if address.startswith('unix:') else {}
    return {**buffering, **server_settings(ini), **address_settings(address)}


def address_settings(address):
    if address.startswith('unix:'):
        return {'unix_socket': address[len('unix:'):], 'unix_socket_perms': '600'}
    if address.startswith('tcp:'):
        host, _, port = address[len('tcp:'):].rpartition(':')
        return {'host': host, 'port': port}
    raise SystemExit('kallithea_worker: bad address %r: give unix:/path or tcp:host:port' % address)


def watch_lifeline():
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    ini = os.path.abspath(sys.argv[1])
    app = load(ini)
    if sys.argv[2] == '--check':
        print('ok: %s loads' % ini)
        return
    flush_without_polling()
    threading.Thread(target=watch_lifeline, name='lifeline', daemon=True).start()
    server = waitress.create_server(behind_the_bridge(app), threads=1, **worker_settings(ini, sys.argv[2]))
    # With its pid: on Windows a venv's python.exe is a launcher that runs the interpreter as
    # a child, and the bridge sets the priority of the process that serves.
    print('ready %d' % os.getpid(), flush=True)
    server.run()


if __name__ == '__main__':
    main()
