#!/usr/bin/env python3
"""bench/loadgen smoke tests.

1. Against tiny in-test IMAP and POP3 servers (always): loadgen --help, the
   JSON line, every scenario's happy path, and each kind of bad server input
   counted as a protocol error (NO/-ERR, garbage, an oversized literal, an
   over-long line, a dropped connection).
2. Against a real posthornd started by tests/integration/harness.py, for the
   protocol plugins that exist: login, pop3-download and imap-mixed for a few
   seconds each must complete sessions with zero errors.
3. bench/imap-ops (single IMAP commands beside Dovecot) on a tiny mailbox,
   when run as root with Dovecot installed: every row is timed for both
   servers and both give the same SEARCH/FETCH/APPEND counts.
"""
import json
import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

BUILD = os.environ.get('PH_BUILD_DIR', os.path.join(
    os.path.dirname(__file__), '..', '..', 'build'))
LOADGEN = os.path.join(BUILD, 'bin', 'loadgen')
CORPUS = os.environ.get('PH_CORPUS_DIR', os.path.join(
    os.path.dirname(__file__), '..', 'corpus'))

try:
    import harness
except ImportError:  # the core's harness is not on this branch yet
    harness = None


def run_loadgen(*args, timeout=60):
    r = subprocess.run([LOADGEN] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout)
    lines = r.stdout.strip().splitlines()
    return r, (json.loads(lines[-1]) if lines and lines[-1].startswith('{')
               else None)


def corpus_message():
    path = os.path.join(CORPUS, 'cpython', 'msg_02.txt')
    with open(path, 'rb') as f:
        return f.read().replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')


# ------------------------------------------------------------- IMAP stub

class ImapStub(socketserver.StreamRequestHandler):
    """Enough IMAP4rev1 for loadgen's scenarios; `mode` breaks it."""
    mode = 'ok'
    message = b''

    def send(self, data):
        self.wfile.write(data)
        self.wfile.flush()

    def handle(self):
        mode = self.server.mode
        self.server.peers.add(self.client_address[0])
        exists = 30
        self.send(b'* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN] stub ready\r\n')
        while True:
            line = self.rfile.readline(100000)
            if not line:
                return
            tag, _, rest = line.rstrip(b'\r\n').partition(b' ')
            cmd, _, arg = rest.partition(b' ')
            cmd = cmd.upper()
            if cmd == b'LOGIN':
                if mode == 'login-no':
                    self.send(tag + b' NO [AUTHENTICATIONFAILED] nope\r\n')
                    continue
                if mode == 'garbage':
                    self.send(b'this is not IMAP\r\n')
                    continue
                if mode == 'drop':
                    return
                self.send(tag + b' OK [CAPABILITY IMAP4rev1 IDLE] in\r\n')
            elif cmd == b'SELECT':
                self.send(b'* %d EXISTS\r\n* 0 RECENT\r\n'
                          b'* OK [UIDVALIDITY 1] x\r\n' % exists)
                self.send(tag + b' OK [READ-WRITE] selected\r\n')
            elif cmd == b'FETCH':
                self.fetch(tag, arg, mode)
            elif cmd == b'APPEND':
                size = int(arg[arg.rindex(b'{') + 1:-1])
                self.send(b'+ go ahead\r\n')
                data = self.rfile.read(size + 2)
                assert data.endswith(b'\r\n') and len(data) == size + 2
                exists += 1
                self.send(b'* %d EXISTS\r\n' % exists)
                self.send(tag + b' OK [APPENDUID 1 %d] done\r\n' % exists)
            elif cmd == b'EXPUNGE':
                if exists > 30:
                    self.send(b'* %d EXPUNGE\r\n' % exists)
                    exists -= 1
                self.send(tag + b' OK expunged\r\n')
            elif cmd == b'IDLE':
                self.send(b'+ idling\r\n')
                if not self.rfile.readline():
                    return
                self.send(tag + b' OK done\r\n')
            elif cmd == b'STARTTLS':
                self.send(tag + b' OK begin TLS\r\n')
                self.request = self.server.tls.wrap_socket(self.request,
                                                           server_side=True)
                self.rfile = self.request.makefile('rb')
                self.wfile = self.request.makefile('wb')
            elif cmd == b'LOGOUT':
                self.send(b'* BYE bye\r\n' + tag + b' OK bye\r\n')
                return
            else:  # STORE, NOOP, CAPABILITY
                self.send(tag + b' OK ' + cmd + b' done\r\n')

    def fetch(self, tag, arg, mode):
        seq = arg.split(b' ')[0]
        body = self.server.message
        if mode == 'huge-literal':
            self.send(b'* 1 FETCH (BODY[] {999999999999}\r\n')
            return
        if mode == 'long-line':
            self.send(b'* 1 FETCH (FLAGS (' + b'x' * 70000 + b'))\r\n')
            return
        if b'BODY.PEEK[]' in arg:
            self.send(b'* %s FETCH (UID %s BODY[] {%d}\r\n' % (
                seq, seq, len(body)) + body + b')\r\n')
        else:
            lo, _, hi = seq.partition(b':')
            for n in range(int(lo), int(hi or lo) + 1):
                hdr = b'From: a@b\r\nSubject: %d\r\n\r\n' % n
                self.send(b'* %d FETCH (UID %d FLAGS (\\Seen) BODY[HEADER'
                          b'.FIELDS (FROM SUBJECT)] {%d}\r\n%s)\r\n'
                          % (n, n, len(hdr), hdr))
        self.send(tag + b' OK fetched\r\n')


class Pop3Stub(socketserver.StreamRequestHandler):
    def handle(self):
        mode = self.server.mode
        body = self.server.message
        out = self.wfile
        out.write(b'+OK stub\r\n')
        out.flush()
        while True:
            line = self.rfile.readline(1000)
            if not line:
                return
            cmd = line.split()[0].upper() if line.split() else b''
            if cmd == b'PASS' and mode == 'login-no':
                out.write(b'-ERR [AUTH] no\r\n')
            elif cmd == b'UIDL':
                out.write(b'+OK\r\n1 a\r\n2 b\r\n3 c\r\n.\r\n')
            elif cmd == b'RETR':
                stuffed = body.replace(b'\r\n.', b'\r\n..')
                out.write(b'+OK\r\n' + stuffed + b'.\r\n')
            elif cmd == b'QUIT':
                out.write(b'+OK bye\r\n')
                out.flush()
                return
            else:
                out.write(b'+OK\r\n')
            out.flush()


class StubServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls = None
    implicit = False

    def get_request(self):
        sock, addr = super().get_request()
        if self.implicit:
            sock = self.tls.wrap_socket(sock, server_side=True)
        return sock, addr

    def handle_error(self, request, client_address):
        # loadgen closes connections at the end of a run, mid-session.
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError)):
            super().handle_error(request, client_address)


def stub_tls_context():
    d = tempfile.mkdtemp()
    try:
        cert, key = os.path.join(d, 'cert.pem'), os.path.join(d, 'key.pem')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
                        '-nodes', '-keyout', key, '-out', cert, '-days', '1',
                        '-subj', '/CN=localhost'], check=True,
                       capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        return ctx
    finally:
        shutil.rmtree(d)


def start_stub(handler, mode='ok', implicit_tls=False):
    srv = StubServer(('127.0.0.1', 0), handler, bind_and_activate=False)
    srv.tls = stub_tls_context()
    srv.implicit = implicit_tls
    srv.server_bind()
    srv.server_activate()
    srv.mode = mode
    srv.message = corpus_message()
    srv.peers = set()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class LoadgenStubTest(unittest.TestCase):
    def stub(self, handler, mode='ok'):
        srv = start_stub(handler, mode)
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return srv.server_address[1]

    def test_help(self):
        r = subprocess.run([LOADGEN, '--help'], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        for word in ('login', 'imap-mixed', 'imap-idle', 'pop3-download',
                     '--connections', '--duration', '--rate'):
            self.assertIn(word, r.stdout)

    def test_bad_option(self):
        r, j = run_loadgen('-s', 'nope', '-p', '1')
        self.assertEqual(r.returncode, 2)
        self.assertIsNone(j)

    def test_imap_login(self):
        port = self.stub(ImapStub)
        r, j = run_loadgen('-s', 'login', '-p', port, '-c', 4, '-d', 1)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('logins/s', r.stdout)  # the human table
        self.assertEqual(j['scenario'], 'login')
        self.assertEqual(j['errors'], 0, r.stderr)
        self.assertEqual(j['conn_errors'], 0, r.stderr)
        self.assertGreater(j['sessions'], 10)
        self.assertGreater(j['logins_per_s'], 0)
        self.assertGreater(j['lat_p99_ms'], 0)

    def test_starttls(self):
        port = self.stub(ImapStub)
        r, j = run_loadgen('-s', 'login', '-p', port, '-c', 2, '-d', 1,
                           '--tls', 'starttls')
        self.assertEqual(j['tls'], 'starttls')
        self.assertEqual(j['errors'] + j['conn_errors'], 0, r.stderr)
        self.assertGreater(j['logins'], 0)

    def test_implicit_tls(self):
        srv = start_stub(ImapStub, implicit_tls=True)
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        r, j = run_loadgen('-s', 'imap-mixed', '-p', srv.server_address[1],
                           '-c', 2, '-d', 1, '--tls', 'implicit')
        self.assertEqual(j['errors'] + j['conn_errors'], 0, r.stderr)
        self.assertEqual(j['bytes'], j['messages'] * len(corpus_message()))
        self.assertGreater(j['messages'], 0)

    def test_tls_against_plaintext(self):
        port = self.stub(ImapStub)  # implicit TLS to a plaintext server
        r, j = run_loadgen('-s', 'login', '-p', port, '-c', 1, '-d', 0.5,
                           '--tls', 'implicit', '--timeout', 0.3)
        self.assertGreater(j['conn_errors'], 0)
        self.assertEqual(j['logins'], 0)

    def test_sources(self):
        srv = start_stub(ImapStub)
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        r, j = run_loadgen('-s', 'login', '-p', srv.server_address[1],
                           '-c', 6, '-d', 0.5, '--sources', 3)
        self.assertEqual(j['errors'] + j['conn_errors'], 0, r.stderr)
        self.assertEqual(srv.peers, {'127.0.0.1', '127.0.0.2', '127.0.0.3'})

    def test_imap_mixed(self):
        port = self.stub(ImapStub)
        r, j = run_loadgen('-s', 'imap-mixed', '-p', port, '-c', 3, '-d', 1,
                           '--ops', 10, '--json-only')
        self.assertEqual(r.stdout.count('\n'), 1)  # only the JSON line
        self.assertEqual(j['errors'] + j['conn_errors'], 0, r.stderr)
        self.assertGreater(j['sessions'], 0)
        self.assertGreater(j['messages'], 0)
        # Body bytes are counted from the literals, exactly.
        self.assertEqual(j['bytes'], j['messages'] * len(corpus_message()))

    def test_imap_idle(self):
        port = self.stub(ImapStub)
        # Held sessions are quiet: longer than --timeout is no error.
        r, j = run_loadgen('-s', 'imap-idle', '-p', port, '-c', 5, '-d', 1,
                           '--timeout', 0.3, '--server-pid', os.getpid())
        self.assertEqual(j['errors'] + j['conn_errors'], 0, r.stderr)
        self.assertEqual(j['idle_held'], 5)
        self.assertTrue(j['server_idle'])
        self.assertGreater(j['pss_kb'], 0)

    def test_pop3_login(self):
        port = self.stub(Pop3Stub)
        r, j = run_loadgen('-s', 'login', '-P', 'pop3', '-p', port, '-c', 2,
                           '-d', 1)
        self.assertEqual(j['proto'], 'pop3')
        self.assertEqual(j['errors'] + j['conn_errors'], 0, r.stderr)
        self.assertGreater(j['logins'], 0)

    def test_pop3_download(self):
        port = self.stub(Pop3Stub)
        r, j = run_loadgen('-s', 'pop3-download', '-p', port, '-c', 2,
                           '-d', 1)
        self.assertEqual(j['errors'] + j['conn_errors'], 0, r.stderr)
        self.assertGreater(j['messages'], 0)
        stuffed = corpus_message().replace(b'\r\n.', b'\r\n..')
        self.assertEqual(j['bytes'], j['messages'] * len(stuffed))

    def test_raw_floor(self):
        path = os.path.join(CORPUS, 'cpython', 'msg_02.txt')
        port = socket.socket()
        port.bind(('127.0.0.1', 0))
        pnum = port.getsockname()[1]
        port.close()
        srv = subprocess.Popen([LOADGEN, '--serve-file', path, '--listen',
                                '127.0.0.1:%d' % pnum],
                               stderr=subprocess.PIPE)
        self.addCleanup(srv.wait)
        self.addCleanup(srv.terminate)
        srv.stderr.readline()  # "serving ..." once it listens
        r, j = run_loadgen('-s', 'raw', '-p', pnum, '-c', 2, '-d', 1)
        self.assertEqual(j['errors'] + j['conn_errors'], 0, r.stderr)
        self.assertEqual(j['bytes'], j['messages'] * os.path.getsize(path))

    def assert_protocol_error(self, handler, mode, scenario='login'):
        port = self.stub(handler, mode)
        r, j = run_loadgen('-s', scenario, '-p', port, '-c', 1, '-d', 0.5)
        self.assertEqual(r.returncode, 0)
        self.assertGreater(j['errors'], 0, r.stderr)
        self.assertEqual(j['sessions'], 0)

    def test_error_login_no(self):
        self.assert_protocol_error(ImapStub, 'login-no')

    def test_error_pop3_login_err(self):
        port = self.stub(Pop3Stub, 'login-no')
        r, j = run_loadgen('-s', 'login', '-P', 'pop3', '-p', port, '-c', 1,
                           '-d', 0.5)
        self.assertGreater(j['errors'], 0)
        self.assertEqual(j['logins'], 0)

    def test_error_garbage(self):
        self.assert_protocol_error(ImapStub, 'garbage')

    def test_error_huge_literal(self):
        self.assert_protocol_error(ImapStub, 'huge-literal', 'imap-mixed')

    def test_error_long_line(self):
        self.assert_protocol_error(ImapStub, 'long-line', 'imap-mixed')

    def test_error_dropped(self):
        port = self.stub(ImapStub, 'drop')
        r, j = run_loadgen('-s', 'login', '-p', port, '-c', 1, '-d', 0.5)
        self.assertGreater(j['conn_errors'], 0)
        self.assertEqual(j['sessions'], 0)

    def test_refused(self):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        pnum = s.getsockname()[1]
        s.close()
        r, j = run_loadgen('-s', 'login', '-p', pnum, '-c', 1, '-d', 0.3)
        self.assertGreater(j['conn_errors'], 0)


def posthorn_ready(protocol_plugin):
    return harness is not None and os.path.exists(
        os.path.join(BUILD, 'plugins', protocol_plugin + '.so')) and \
        os.path.exists(os.path.join(BUILD, 'bin', 'posthornd'))


BASE = harness.TestCase if harness is not None else unittest.TestCase


class LoadgenPosthornTest(BASE):
    """A few seconds of each scenario against the real daemon."""
    listeners = {}
    if posthorn_ready('pop3'):
        listeners['pop3'] = dict(protocol='pop3', tls='none',
                                 allow_plaintext='yes')
    if posthorn_ready('imap4'):
        listeners['imap'] = dict(protocol='imap4', tls='none',
                                 allow_plaintext='yes')
    users = [('bench1', 'bench'), ('bench2', 'bench')]

    @classmethod
    def setUpClass(cls):
        if not cls.listeners:
            raise unittest.SkipTest('no protocol plugin built yet')
        super().setUpClass()

    def fill(self):
        for user in ('bench1', 'bench2'):
            for name in sorted(os.listdir(os.path.join(CORPUS, 'cpython')))[:20]:
                with open(os.path.join(CORPUS, 'cpython', name), 'rb') as f:
                    harness.deliver(self.server.maildir(user), user, f.read())

    def smoke(self, scenario, listener, *extra):
        if listener not in self.listeners:
            self.skipTest(listener + ' plugin not built yet')
        r, j = run_loadgen('-s', scenario, '-p', self.server.port(listener),
                           '-c', 2, '-d', 3, '-u', 'bench%d', '--users', 2,
                           '--password', 'bench', *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNotNone(j, r.stdout)
        self.assertEqual(j['errors'], 0, r.stderr + self.server.log_text())
        self.assertEqual(j['conn_errors'], 0, r.stderr)
        self.assertGreater(j['sessions'], 0)
        return j

    def test_login_pop3(self):
        self.smoke('login', 'pop3', '-P', 'pop3')

    def test_login_imap(self):
        self.smoke('login', 'imap', '-P', 'imap')

    def test_pop3_download(self):
        self.fill()
        j = self.smoke('pop3-download', 'pop3')
        self.assertGreater(j['messages'], 0)

    def test_imap_mixed(self):
        self.fill()
        j = self.smoke('imap-mixed', 'imap', '--ops', 10)
        self.assertGreater(j['messages'], 0)


SRC = os.environ.get('PH_SOURCE_DIR', os.path.join(
    os.path.dirname(__file__), '..', '..'))


class ImapOpsSmoke(unittest.TestCase):
    """bench/imap-ops --messages 300: the whole mode in ~10 s."""

    def test_imap_ops(self):
        if os.geteuid() != 0:
            self.skipTest('bench/imap-ops runs as root')
        if not (shutil.which('dovecot') and
                os.path.exists('/usr/lib/dovecot/imap')):
            self.skipTest('Dovecot is not installed')
        for p in (os.path.join(BUILD, 'bin', 'posthornd'),
                  os.path.join(BUILD, 'plugins', 'imap4.so')):
            if not os.path.exists(p):
                self.skipTest(p + ' not built')
        r = subprocess.run(
            [sys.executable, os.path.join(SRC, 'bench', 'imap-ops'),
             '--build-dir', BUILD, '--messages', '300', '--text-messages',
             '100', '--append-messages', '20', '--runs', '1'],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        rows = [l for l in r.stdout.splitlines() if l.startswith('| ')]
        self.assertEqual(len(rows), 10, r.stdout)  # header + 9 rows
        j = json.loads(r.stdout.strip().splitlines()[-1])
        for key, sides in j['checks'].items():
            self.assertEqual(sides['Posthorn'], sides['Dovecot'], key)
        self.assertEqual(j['checks']['append']['Posthorn'], [20])
        self.assertEqual(j['checks']['fetch_flags']['Posthorn'], [300])
        for server in ('Posthorn', 'Dovecot'):
            self.assertEqual(len(j['imap_ops'][server]), 9, server)


if __name__ == '__main__':
    if harness is not None:
        harness.main()
    else:
        result = unittest.main(exit=False, verbosity=2).result
        failed = len(result.failures) + len(result.errors)
        print('%d passed, %d failed' % (result.testsRun - failed -
                                        len(result.skipped), failed))
        sys.exit(1 if failed else 0)
