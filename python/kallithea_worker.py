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

A git client that stops reading its clone for a while gets the rest once it reads again
(Kallithea 0.7.0's reader of git's output gave up after 12 s and left the response, and
this worker, waiting forever). Kallithea reads git's output in 64 KiB chunks, not 4 KiB.
"""

import hmac
import logging.config
import os
import select
import sys
import threading
import weakref

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
    wait_for_slow_git_clients()
    larger_git_chunks()
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


# What Kallithea 0.7.0's reader of git's output says when it gives up: how the patch below
# knows the class it replaces.
GAVE_UP = 'Timed out while waiting for input from subprocess.'
# How long git's output may pause before what has come goes out as a chunk: short beside a
# person watching progress, long beside the gaps between a flowing pack's writes.
GIT_PAUSE_MS = 10


def wait_for_slow_git_clients():
    """Makes the reader of git's output wait for room as long as the response lives.

    Kallithea streams git's output (subprocessio): a thread (InputStreamChunker) reads git's
    stdout into a bounded deque that the response iterator (BufferedGenerator) empties. In
    0.7.0 that thread waits 12 s at most for room, then dies of an IOError without setting
    EOF; the iterator, once it has sent what was queued, polls for more forever. So a git
    client that stops reading for 12 s (a slow disk, a suspended laptop; the response backs
    up through waitress until its app thread waits for room) gets a clone that never ends,
    and the worker's only app thread never comes back, even after the client goes away:
    waitress learns that only on its next write.

    Here a full deque is backpressure: the reader waits until the iterator takes a chunk or
    the response is stopped (close(), which waitress calls when the client goes away, or the
    iterator being dropped). However the reader ends, it says so, and an error it met is
    raised by the iterator instead of a quiet end, so waitress cuts the response rather than
    passing a short one off as whole. Only 0.7.0's classes are patched.
    """
    try:
        from kallithea.lib.vcs import subprocessio
    except ImportError:  # not Kallithea (the pool's tests serve a tiny app)
        return
    log = logging.getLogger('kallithea_worker')
    chunker, generator = subprocessio.InputStreamChunker, subprocessio.BufferedGenerator
    uses = {'source', 'target', 'chunk_size', 'chunk_count_max', 'data_added', 'keep_reading', 'EOF', 'go'}
    if (GAVE_UP not in chunker.run.__code__.co_consts
            or not uses <= set(chunker.__init__.__code__.co_names)
            or not {'data', 'worker'} <= set(generator.__init__.__code__.co_names)):
        log.warning("subprocessio is not Kallithea 0.7.0's: its reader of git's output is left as it is")
        return

    def run(self):
        read = chunk_reader(self)
        try:
            while self.go.is_set():
                try:
                    chunk = read()
                except ValueError:  # closed under it: only stop() may end a read early
                    if self.go.is_set():
                        raise
                    break
                if not chunk or not wait_for_room(self):
                    break
                self.target.append(chunk)
                self.data_added.set()
        except Exception as error:
            log.exception("reading git's output failed")
            self.failure = error
        finally:
            # git writing to a closed pipe ends (SIGPIPE), it does not wait forever.
            try:
                self.source.close()
            except Exception:
                pass
            self.EOF.set()
            self.data_added.set()

    def chunk_reader(self):
        """A function that reads the next chunk: what git writes, gathered up to chunk_size.

        0.7.0's read() waits for a whole chunk_size (or the end), and its constructor waits for
        a full queue (or the end) before the response starts: while git counted and compressed
        a big repository, the client saw no progress, and git's keep-alive packets stayed in
        the pipe. Here a chunk ends when git pauses for GIT_PAUSE_MS: progress lines go out as
        git writes them, and a pack that flows still comes in whole chunks (one read1 per
        write of git's, taken alone, cost the worker 0.5-0.8 s more CPU per 300 MiB clone).
        """
        source, size = self.source, self.chunk_size
        read1 = getattr(source, 'read1', None)
        try:
            fd = source.fileno()
        except (AttributeError, OSError, ValueError):
            fd = None
        if read1 is None or fd is None:
            return lambda: source.read(size)
        pipe = select.poll()
        pipe.register(fd, select.POLLIN)

        def read():
            chunk = read1(size)
            if len(chunk) == 0 or len(chunk) >= size:
                return chunk
            parts, have = [chunk], len(chunk)
            # What read1 left in the reader's buffer is not seen by poll: it is the next
            # chunk's start, a pause later at most.
            while have < size and pipe.poll(GIT_PAUSE_MS):
                more = read1(size - have)
                if not more:
                    break  # the end: the next read1 says so again
                parts.append(more)
                have += len(more)
            return b''.join(parts)

        return read

    def wait_for_room(self):
        """Whether there is room for a chunk; False once stop()ped."""
        while len(self.target) > self.chunk_count_max and self.go.is_set():
            self.keep_reading.clear()
            # A chunk taken between the test above and clear() has set keep_reading for
            # nothing: test again, or this wait would miss it.
            if len(self.target) > self.chunk_count_max and self.go.is_set():
                self.keep_reading.wait()
        return self.go.is_set()

    def stop(self):
        # 0.7.0 also closed the source here, but a BufferedReader's close() waits for the
        # read in progress in the reader; the reader closes it when it ends.
        self.go.clear()
        self.EOF.set()
        self.keep_reading.set()
        self.data_added.set()

    def __next__(self):
        reader = self.worker
        while not self.data and not reader.EOF.is_set():
            reader.data_added.clear()
            # The same race as in wait_for_room; 0.7.0 polled every 0.2 s instead.
            if not self.data and not reader.EOF.is_set():
                reader.data_added.wait()
        if self.data:
            reader.keep_reading.set()
            return bytes(self.data.popleft())
        if reader.failure is not None:
            raise OSError("reading git's output failed") from reader.failure
        raise StopIteration

    init = generator.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        # A response dropped without close() stops its reader too (0.7.0's reader ended on
        # its own 12 s later): the reader holds the deque and itself, not the iterator.
        weakref.finalize(self, self.worker.stop).atexit = False

    chunker.failure = None
    chunker.run, chunker.stop = run, stop
    generator.__init__, generator.__next__ = __init__, __next__


# Kallithea reads git's output in 4 KiB chunks (subprocessio's default, which its git
# middleware keeps for info/refs, upload-pack and receive-pack), and each chunk costs a hand-
# off between the reader thread and the app thread (Events, the GIL), a waitress append and
# an HTTP chunk header, and behind the bridge an on_body event in its HTTP client and a
# FastCGI STDOUT piece: 75,000 of each per 300 MiB clone. In 64 KiB chunks, a 300 MiB git
# clone (bench/kallithea, medians of 12, shared machine) cost the worker 0.96 s of CPU through
# the path instead of 1.99 (directly 1.21 instead of 3.01) and the bridge 0.38 s instead of
# 0.45; its time did not change beyond the noise. At most 16 + 1 chunks wait for the client,
# as 0.7.0's 64 KiB in 4 KiB chunks did: 1 MiB per response in flight. A chunk is up to
# GIT_CHUNK: it ends early when git pauses (wait_for_slow_git_clients, chunk_reader).
GIT_CHUNK = 64 << 10
GIT_BUFFER = 1 << 20


def larger_git_chunks():
    """Makes Kallithea read git's output in GIT_CHUNK chunks, where its callers keep the default."""
    try:
        from kallithea.lib.vcs.subprocessio import SubprocessIOChunker
    except ImportError:  # not Kallithea (the pool's tests serve a tiny app)
        return
    init = SubprocessIOChunker.__init__
    # 0.7.0's (cmd, inputstream=None, buffer_size=65536, chunk_size=4096, starting_values=None)
    if init.__code__.co_varnames[1:5] != ('cmd', 'inputstream', 'buffer_size', 'chunk_size'):
        logging.getLogger('kallithea_worker').warning(
            "subprocessio is not Kallithea 0.7.0's: git's output is read in its own chunks")
        return

    def __init__(self, cmd, inputstream=None, buffer_size=GIT_BUFFER, chunk_size=GIT_CHUNK, **kwargs):
        init(self, cmd, inputstream, buffer_size, chunk_size, **kwargs)

    SubprocessIOChunker.__init__ = __init__


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
