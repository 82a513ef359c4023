"""Integration test harness: starts a real posthornd on free loopback ports.

    import harness
    class T(harness.TestCase):
        listeners = {'pop3': dict(protocol='pop3', tls='none',
                                  allow_plaintext='yes')}
        users = [('alice', 'secret')]
        extra = {'pop3': {'some_key': 'v'}}   # merged into the INI
        def test_x(self):
            port = self.server.port('pop3')
    if __name__ == '__main__':
        harness.main()

Each TestCase subclass gets one server (setUpClass/tearDownClass). The
config has workers=1, a self-signed cert (self.server.ca_file), passwd-file
users with {PLAIN} passwords and, only when their plugins exist in
build/plugins, [storage] storage-maildir (root = <tmp>/mail/%u/Maildir)
and [auth] auth-passwdfile. Works as root and as a normal user.

Class attributes: listeners, users, extra, workers, core (extra [core]
keys), sanitizer_clean (fail when ASan/UBSan/LSan wrote to the log).
Server: port(name), host, hosts, connect(name) / connect_tls(name) ->
LineClient (line(), cmd(), send(), read_exact(), is_closed(), starttls(),
buf), ssl_context(), ca_file, maildir(user), log_text(), wait_log(regex),
wait_idle() (the readiness probes are gone), reload() (rewrite config from
the attributes + SIGHUP), signal(sig), stop() -> exit status, pid,
config_path, state_dir, tmp. Module: deliver(server_or_maildir, user,
bytes, folder=None), check_config(text) -> (rc, stdout, stderr, path),
make_cert(dir), free_port(host), plugin_exists(name), main(),
check_listener_config(server, text).
Set PH_KEEP_TMP=1 to keep the temp directories.
"""

import errno
import fcntl
import imaplib
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

SOURCE_DIR = os.environ.get(
    'PH_SOURCE_DIR',
    os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..')))
BUILD_DIR = os.environ.get('PH_BUILD_DIR', os.path.join(SOURCE_DIR, 'build'))
CORPUS_DIR = os.environ.get('PH_CORPUS_DIR',
                            os.path.join(SOURCE_DIR, 'tests', 'corpus'))
POSTHORND = os.path.join(BUILD_DIR, 'bin', 'posthornd')
PLUGIN_DIR = os.path.join(BUILD_DIR, 'plugins')
HOST = '127.0.0.1'


def plugin_exists(name, plugin_dir=PLUGIN_DIR):
    return os.path.exists(os.path.join(plugin_dir, name + '.so'))


_PORT_LOCK_DIR = os.path.join(tempfile.gettempdir(), 'posthorn-test-ports')
_reserved_ports = {}  # port -> open lock file, held for this process's life


def _reserve_port(port):
    """True when no other caller, in this process or another test process,
    has been handed `port`. The kernel may offer the same free port to two
    consecutive bind(0) calls, so a port is free only once reserved."""
    if port in _reserved_ports:
        return False
    os.makedirs(_PORT_LOCK_DIR, mode=0o1777, exist_ok=True)
    try:
        os.chmod(_PORT_LOCK_DIR, 0o1777)
    except OSError:
        pass  # made by another user, who already opened it up
    path = os.path.join(_PORT_LOCK_DIR, str(port))
    try:
        f = open(path, 'a')
    except PermissionError:
        return False  # another user's test holds it
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        return False
    _reserved_ports[port] = f
    return True


def _port_free_on_ipv6_loopback(port):
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
            s6.bind(('::1', port))
        return True
    except OSError as e:
        return e.errno == errno.EADDRNOTAVAIL  # no IPv6 loopback here


def free_port(host=HOST):
    """A currently free TCP port on `host` (IPv4 or IPv6 literal), never
    handed out before to this or any other concurrently running test. For
    the IPv4 loopback the port must be free on ::1 too: clients that
    connect to "localhost" (mbsync, neomutt) try ::1 first and would
    otherwise reach whatever another test runs there."""
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    for _ in range(200):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if host == HOST and socket.has_ipv6 and \
                not _port_free_on_ipv6_loopback(port):
            continue
        if _reserve_port(port):
            return port
    raise ServerError('no free port on the loopback addresses')


def make_cert(directory, cn='localhost'):
    """Writes a self-signed cert.pem + key.pem into `directory`."""
    cert = os.path.join(directory, 'cert.pem')
    key = os.path.join(directory, 'key.pem')
    subprocess.run(
        ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
         '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=' + cn,
         '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1'],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o644)  # workers may run as another user
    return cert, key


def render_ini(sections):
    """sections: ordered dict name -> dict key -> value (None = skip)."""
    out = []
    for name, keys in sections.items():
        out.append('[%s]' % name)
        for k, v in keys.items():
            if v is None:
                continue
            if isinstance(v, (list, tuple)):
                v = ', '.join(str(x) for x in v)
            out.append('%s = %s' % (k, v))
        out.append('')
    return '\n'.join(out)


def deliver(path, user, message_bytes, folder=None):
    """Drops a message into a Maildir like an MTA: write tmp/, rename to new/.

    `path` is a Server (then its maildir(user) is used) or the Maildir
    directory itself. `folder`: a mailbox name with '/' as separator, in
    the Maildir++ layout ("Sent" -> <Maildir>/.Sent, "a/b" -> .a.b),
    created when missing. Returns the new file's path."""
    if isinstance(path, Server):
        path = path.maildir(user)
    if folder:
        path = os.path.join(path, '.' + folder.replace('/', '.'))
    for sub in ('tmp', 'new', 'cur'):
        os.makedirs(os.path.join(path, sub), mode=0o700, exist_ok=True)
    deliver.counter += 1
    name = '%d.M%dP%dQ%d.%s' % (time.time(), time.time_ns() % 1000000,
                                os.getpid(), deliver.counter,
                                socket.gethostname())
    tmp = os.path.join(path, 'tmp', name)
    with open(tmp, 'wb') as f:
        f.write(message_bytes)
        f.flush()
        os.fsync(f.fileno())
    new = os.path.join(path, 'new', name)
    os.rename(tmp, new)
    return new


deliver.counter = 0


class ServerError(Exception):
    pass


class Server:
    """A posthornd with a generated config in a temp directory."""

    host = HOST

    def __init__(self, listeners, users=(), extra=None, workers=1,
                 core=None, storage=True, auth=True, plugin_dir=PLUGIN_DIR):
        self.tmp = tempfile.mkdtemp(prefix='posthorn-test-')
        os.chmod(self.tmp, 0o755)
        self.plugin_dir = plugin_dir
        self.cert_file, self.key_file = make_cert(self.tmp)
        self.ca_file = self.cert_file
        self.users = list(users)
        self.state_dir = os.path.join(self.tmp, 'state')
        os.makedirs(self.state_dir)
        self.mail_root = os.path.join(self.tmp, 'mail')
        os.makedirs(self.mail_root)
        self.users_file = os.path.join(self.tmp, 'users')
        self.core_extra = dict(core or {})
        self.write_users(self.users)
        self.ports = {}
        self.hosts = {}  # listener -> host of its first address
        self.probes = 0  # readiness probe connections made so far
        self.listeners = {}
        for name, opts in listeners.items():
            self.listeners[name] = dict(opts)
        self.extra = {k: dict(v) for k, v in (extra or {}).items()}
        self.workers = workers
        self.use_storage = storage and plugin_exists('storage-maildir',
                                                     plugin_dir)
        self.use_auth = auth and plugin_exists('auth-passwdfile', plugin_dir)
        self.config_path = os.path.join(self.tmp, 'posthorn.ini')
        self.log_path = os.path.join(self.tmp, 'posthornd.log')
        self.proc = None
        self._log = None
        self.write_config()

    # ---- configuration ----

    def write_users(self, users):
        # Virtual users carry the uid the workers run as (the mail uid),
        # so they are served in the workers, not in per-user sessions.
        uid, gid = os.getuid(), os.getgid()
        if self.core_extra.get('user') and os.getuid() == 0:
            import pwd
            pw = pwd.getpwnam(self.core_extra['user'])
            uid, gid = pw.pw_uid, pw.pw_gid
        with open(self.users_file, 'w') as f:
            for u in users:
                name, password = u[0], u[1]
                extra_fields = u[2] if len(u) > 2 else ''
                f.write('%s:{PLAIN}%s:%d:%d::%s::%s\n' %
                        (name, password, uid, gid,
                         os.path.join(self.tmp, 'home', name), extra_fields))

    def sections(self):
        s = {}
        core = {
            'plugin_dir': self.plugin_dir,
            'workers': self.workers,
            'log': 'stderr',
            'log_level': 'debug',
            'state_dir': self.state_dir,
        }
        core.update(self.core_extra)
        s['core'] = core
        if self.use_storage:
            s['storage'] = {'plugin': 'storage-maildir'}
            s['storage-maildir'] = {
                'root': os.path.join(self.mail_root, '%u', 'Maildir')}
        if self.use_auth:
            s['auth'] = {'plugins': 'auth-passwdfile'}
            s['auth-passwdfile'] = {'path': self.users_file}
        for name, opts in self.listeners.items():
            opts = dict(opts)
            if 'listen' not in opts:
                if name not in self.ports:
                    self.ports[name] = free_port()
                opts['listen'] = '%s:%d' % (HOST, self.ports[name])
            else:
                m = re.match(r'\s*(\[[^\]]*\]|[^:,]+):(\d+)', opts['listen'])
                if m:
                    self.ports[name] = int(m.group(2))
                    host = m.group(1).strip('[]')
                    self.hosts[name] = HOST if host == '*' else host
            if opts.get('tls', 'none') != 'none':
                opts.setdefault('cert', self.cert_file)
                opts.setdefault('key', self.key_file)
            s['listener.' + name] = opts
        for sec, keys in self.extra.items():
            s.setdefault(sec, {}).update(keys)
        return s

    def write_config(self):
        with open(self.config_path, 'w') as f:
            f.write(render_ini(self.sections()))

    # ---- process control ----

    def start(self, timeout=15):
        """Starts posthornd and waits until every port accepts. A port
        taken meanwhile by another process is replaced and the start
        retried (free_port() reserves among tests only)."""
        for attempt in range(3):
            mark = len(self.log_text())
            self._log = open(self.log_path, 'ab')
            self.proc = subprocess.Popen(
                [POSTHORND, '-c', self.config_path],
                stdin=subprocess.DEVNULL, stdout=self._log,
                stderr=self._log, cwd=self.tmp)
            try:
                self._wait_started(mark, timeout)
                self.wait_ports(timeout)
                return self
            except ServerError:
                if self.proc.poll() is None or attempt == 2 or \
                        'Address already in use' not in self.log_text():
                    raise
                self._log.close()
                for name, opts in self.listeners.items():
                    if 'listen' not in opts:
                        self.ports.pop(name, None)
                self.write_config()
        return self

    def _wait_started(self, mark, timeout):
        """Every worker logged 'serving' after `mark` (so the sockets are
        ours, not another process's on a port taken meanwhile)."""
        deadline = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise ServerError('posthornd exited with %s:\n%s' %
                                  (self.proc.returncode, self.log_text()))
            if self.log_text()[mark:].count(': info: serving ') >= \
                    (int(self.workers) if str(self.workers).isdigit() else 1):
                return
            if time.time() > deadline:
                raise ServerError('posthornd did not start:\n' +
                                  self.log_text())
            time.sleep(0.05)

    def wait_idle(self, timeout=10):
        """Waits until every connection logged so far has disconnected
        (e.g. the readiness probes of start())."""
        deadline = time.time() + timeout
        while True:
            text = self.log_text()
            connects = len(re.findall(r': connect: ', text))
            if connects >= self.probes and \
                    connects <= len(re.findall(r': disconnect: ', text)):
                return
            if time.time() > deadline:
                raise AssertionError('connections still open:\n' + text)
            time.sleep(0.05)

    def wait_ports(self, timeout=15, ports=None):
        deadline = time.time() + timeout
        for port in (ports or self.ports.values()):
            host = next((self.hosts.get(n, HOST) for n, p in
                         self.ports.items() if p == port), HOST)
            while True:
                if self.proc.poll() is not None:
                    raise ServerError('posthornd exited with %s:\n%s' %
                                      (self.proc.returncode, self.log_text()))
                try:
                    socket.create_connection((host, port), 0.5).close()
                    self.probes += 1
                    break
                except OSError:
                    if time.time() > deadline:
                        raise ServerError('port %d not ready:\n%s' %
                                          (port, self.log_text()))
                    time.sleep(0.05)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self):
        """Rewrites the config from the current attributes and SIGHUPs."""
        self.write_config()
        self.signal(signal.SIGHUP)

    def stop(self, timeout=15):
        """SIGTERM and wait; returns the exit status (None if killed)."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = None
        self._log.close()
        return rc

    def cleanup(self):
        self.stop()
        if os.environ.get('PH_KEEP_TMP'):
            sys.stderr.write('kept %s\n' % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- accessors ----

    def port(self, name):
        return self.ports[name]

    def maildir(self, user):
        return os.path.join(self.mail_root, user, 'Maildir')

    def worker_pid(self, n=1):
        """Pid of worker n, from its most recent log line."""
        pids = re.findall(r'posthornd\[(\d+)\] worker %d:' % n,
                          self.log_text())
        if not pids:
            raise AssertionError('worker %d pid not in the log' % n)
        return int(pids[-1])

    def log_text(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def wait_log(self, pattern, timeout=10):
        """Waits until the log matches regex `pattern`; returns the match."""
        deadline = time.time() + timeout
        while True:
            m = re.search(pattern, self.log_text())
            if m:
                return m
            if time.time() > deadline:
                raise AssertionError('log never matched %r:\n%s' %
                                     (pattern, self.log_text()))
            time.sleep(0.05)

    def connect(self, name, timeout=10):
        return LineClient(socket.create_connection(
            (self.hosts.get(name, HOST), self.port(name)), timeout))

    def connect_tls(self, name, timeout=10):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        s = socket.create_connection((self.hosts.get(name, HOST),
                                      self.port(name)), timeout)
        return LineClient(ctx.wrap_socket(s, server_hostname='localhost'))

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_file)


class LineClient:
    """A tiny line-oriented client for tests (CRLF). `buf` holds bytes
    received but not consumed yet."""

    def __init__(self, sock):
        self.sock = sock
        self._buf = bytearray()
        self._pos = 0

    @property
    def buf(self):
        return bytes(self._buf[self._pos:])

    @buf.setter
    def buf(self, value):
        self._buf = bytearray(value)
        self._pos = 0

    def _fill(self):
        chunk = self.sock.recv(262144)
        if chunk:
            if self._pos > 1048576:
                del self._buf[:self._pos]
                self._pos = 0
            self._buf += chunk
        return chunk

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def cmd(self, line):
        self.send(line + '\r\n')
        return self.line()

    def line(self):
        """Next line without CRLF as str; '' at EOF."""
        scanned = 0  # bytes after _pos known to hold no LF
        while True:
            i = self._buf.find(b'\n', self._pos + scanned)
            if i >= 0:
                break
            scanned = len(self._buf) - self._pos
            if not self._fill():
                rest = bytes(self._buf[self._pos:])
                self.buf = b''
                return rest.decode('utf-8', 'replace')
        line = bytes(self._buf[self._pos:i])
        self._pos = i + 1
        return line.rstrip(b'\r').decode('utf-8', 'replace')

    def read_exact(self, n):
        while len(self._buf) - self._pos < n:
            if not self._fill():
                break
        data = bytes(self._buf[self._pos:self._pos + n])
        self._pos += len(data)
        return data

    def is_closed(self, timeout=5):
        """True when the server closed the connection within `timeout`."""
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([self.sock], [], [], 0.1)
            if r:
                try:
                    if not self._fill():
                        return True
                except (ConnectionResetError, ssl.SSLError):
                    return True
        return False

    def starttls(self, ctx, server_hostname='localhost'):
        self.sock = ctx.wrap_socket(self.sock,
                                    server_hostname=server_hostname)
        self.buf = b''

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def check_config(text, path=None):
    """Runs `posthornd -t -c` on `text`; returns (exit code, stdout, stderr,
    config path)."""
    d = tempfile.mkdtemp(prefix='posthorn-check-')
    path = path or os.path.join(d, 'posthorn.ini')
    with open(path, 'w') as f:
        f.write(text)
    p = subprocess.run([POSTHORND, '-t', '-c', path], capture_output=True,
                       text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr, path


def check_listener_config(server, text):
    """check_config() of a minimal config: [core], then [listener.imaps]
    (imap4 on 127.0.0.1:1 with `server`'s cert and key), whose section
    goes on with `text` from line 9 on."""
    return check_config('[core]\nplugin_dir = %s\nstate_dir = /tmp\n'
                        '[listener.imaps]\nprotocol = imap4\n'
                        'listen = 127.0.0.1:1\ncert = %s\nkey = %s\n%s' %
                        (PLUGIN_DIR, server.cert_file, server.key_file,
                         text))


class TestCase(unittest.TestCase):
    """One posthornd per test class, built from the class attributes."""

    listeners = {}
    users = [('alice', 'secret'), ('bob', 'hunter2')]
    extra = {}
    workers = 1
    core = {}
    server = None
    # Fail the class when ASan/UBSan/LSan reported anything in the daemon
    # log (reports are printed as warnings otherwise).
    sanitizer_clean = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = Server(cls.listeners, cls.users, cls.extra,
                            workers=cls.workers, core=cls.core)
        try:
            cls.server.start()
        except Exception:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        report = None
        if cls.server is not None:
            cls.server.stop()
            report = sanitizer_report(cls.server.log_text())
            cls.server.cleanup()
        super().tearDownClass()
        if report and cls.sanitizer_clean:
            raise AssertionError('sanitizer report in the daemon log:\n' +
                                 report)
        if report:
            sys.stderr.write('warning: sanitizer report in the daemon '
                             'log:\n' + report)


def rss_kb(pid):
    """Resident memory of a process in KiB."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise AssertionError('no VmRSS for pid %d' % pid)


def quiet_logout(m):
    """imaplib LOGOUT for cleanups: the server may be gone already."""
    try:
        m.logout()
    except (imaplib.IMAP4.error, OSError):
        pass


def sanitizer_report(log_text):
    """The sanitizer lines of a daemon log, or None."""
    lines = [line for line in log_text.splitlines()
             if 'Sanitizer' in line or 'runtime error:' in line]
    return '\n'.join(lines) if lines else None


class _CountingResult(unittest.TextTestResult):
    pass


def main():
    """unittest.main() that ends with 'N passed, N failed'."""
    loader = unittest.TestLoader()
    names = [a for a in sys.argv[1:] if not a.startswith('-')]
    module = sys.modules['__main__']
    if names:
        suite = loader.loadTestsFromNames(names, module)
    else:
        suite = loader.loadTestsFromModule(module)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=_CountingResult,
                                     stream=sys.stdout)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + \
        len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print('%d passed, %d failed' % (passed, failed))
    sys.exit(1 if failed or result.testsRun == 0 else 0)
