"""POP3 bad input, one case per test: each gets -ERR with a clear text or
a clean close, and the server keeps serving."""

import socket
import sys
import time

import harness
from test_pop3 import SIMPLE, need_storage


class Pop3BadInput(harness.TestCase):
    listeners = {'pop3': dict(protocol='pop3', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'secret'), ('big', 'bigpw')]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.server.use_storage:
            for m in SIMPLE:
                harness.deliver(cls.server, 'alice', m)

    def setUp(self):
        self.c = self.server.connect('pop3')
        self.assertTrue(self.c.line().startswith('+OK'))

    def tearDown(self):
        self.c.close()
        self.assert_still_serving()

    def assert_still_serving(self):
        c = self.server.connect('pop3')
        self.assertTrue(c.line().startswith('+OK'))
        self.assertEqual(c.cmd('QUIT'), '+OK Logging out')
        c.close()

    def login(self):
        need_storage(self.server)
        self.assertTrue(self.c.cmd('USER alice').startswith('+OK'))
        self.assertTrue(self.c.cmd('PASS secret').startswith('+OK'))

    def test_lower_case_commands(self):
        need_storage(self.server)
        self.assertTrue(self.c.cmd('user alice').startswith('+OK'))
        self.assertTrue(self.c.cmd('pass secret').startswith('+OK'))
        self.assertRegex(self.c.cmd('stat'), r'^\+OK 3 \d+$')
        self.assertRegex(self.c.cmd('list 1'), r'^\+OK 1 \d+$')
        self.assertRegex(self.c.cmd('Uidl 2'), r'^\+OK 2 \d+\.\d+$')
        self.assertEqual(self.c.cmd('quit'),
                         '+OK Logging out, 0 messages deleted')

    def test_unknown_command(self):
        self.assertEqual(self.c.cmd('XYZZY'), '-ERR Unknown command')
        self.assertEqual(self.c.cmd('RETRIEVE 1'), '-ERR Unknown command')

    def test_empty_line(self):
        self.assertEqual(self.c.cmd(''), '-ERR Empty command')

    def test_missing_argument(self):
        self.assertEqual(self.c.cmd('USER'), '-ERR Missing argument')
        self.login()
        self.assertEqual(self.c.cmd('RETR'), '-ERR Missing argument')
        self.assertEqual(self.c.cmd('TOP 1'), '-ERR Missing argument')
        self.assertEqual(self.c.cmd('DELE'), '-ERR Missing argument')

    def test_extra_argument(self):
        self.assertEqual(self.c.cmd('USER a b'), '-ERR Too many arguments')
        self.login()
        self.assertEqual(self.c.cmd('STAT 1'), '-ERR Too many arguments')
        self.assertEqual(self.c.cmd('LIST 1 2'), '-ERR Too many arguments')
        self.assertEqual(self.c.cmd('RETR 1 2'), '-ERR Too many arguments')
        self.assertEqual(self.c.cmd('NOOP x'), '-ERR Too many arguments')

    def test_non_numeric_argument(self):
        self.login()
        self.assertEqual(self.c.cmd('RETR one'),
                         '-ERR Invalid message number')
        self.assertEqual(self.c.cmd('LIST 1x'), '-ERR Invalid message number')
        self.assertEqual(self.c.cmd('TOP 1 many'),
                         '-ERR Invalid number of lines')

    def test_message_zero(self):
        self.login()
        self.assertEqual(self.c.cmd('RETR 0'), '-ERR No such message')
        self.assertEqual(self.c.cmd('LIST 0'), '-ERR No such message')

    def test_message_negative(self):
        self.login()
        self.assertEqual(self.c.cmd('RETR -1'), '-ERR Invalid message number')
        self.assertEqual(self.c.cmd('DELE -3'), '-ERR Invalid message number')

    def test_message_beyond_count(self):
        self.login()
        self.assertEqual(self.c.cmd('RETR 4'), '-ERR No such message')
        self.assertEqual(self.c.cmd('UIDL 4294967296'),
                         '-ERR No such message')
        self.assertEqual(self.c.cmd('TOP 99999999999 1'),
                         '-ERR Invalid message number')

    def test_message_deleted(self):
        self.login()
        self.assertEqual(self.c.cmd('DELE 1'), '+OK Message 1 deleted')
        for cmd in ('RETR 1', 'DELE 1', 'LIST 1', 'UIDL 1', 'TOP 1 0'):
            self.assertEqual(self.c.cmd(cmd), '-ERR Message 1 already deleted')
        self.assertTrue(self.c.cmd('RSET').startswith('+OK'))
        self.c.close()  # no QUIT: nothing expunged

    def test_long_line(self):
        self.assertEqual(self.c.cmd('NOOP ' + 'x' * 400), '-ERR Line too long')
        self.assertEqual(self.c.cmd('CAPA'), '+OK Capability list follows')

    def test_one_mib_line(self):
        self.c.send(b'USER ' + b'a' * (1 << 20) + b'\r\n')
        self.assertEqual(self.c.line(), '-ERR Line too long, closing')
        self.assertTrue(self.c.is_closed())

    def test_many_long_lines_close(self):
        self.c.send(('X' * 300 + '\r\n') * 10)
        for _ in range(10):
            self.assertEqual(self.c.line(), '-ERR Line too long')
        self.assertEqual(self.c.line(), '-ERR Too many bad commands, closing')
        self.assertTrue(self.c.is_closed())

    def test_nul_bytes(self):
        self.c.send(b'US\0ER alice\r\n')
        self.assertEqual(self.c.line(), '-ERR Invalid characters in command')
        self.c.send(b'\0\0\0\r\n')
        self.assertEqual(self.c.line(), '-ERR Invalid characters in command')
        self.assertEqual(self.c.cmd('QUIT'), '+OK Logging out')

    def test_commands_before_auth(self):
        for cmd in ('STAT', 'LIST', 'RETR 1', 'DELE 1', 'NOOP', 'RSET',
                    'TOP 1 1', 'UIDL'):
            self.assertEqual(self.c.cmd(cmd),
                             '-ERR %s not valid in AUTHORIZATION state' %
                             cmd.split()[0])
        self.assertEqual(self.c.cmd('PASS secret'),
                         '-ERR No user name given: send USER first')

    def test_apop_refused(self):
        self.assertEqual(self.c.cmd('APOP alice 0123456789abcdef'),
                         '-ERR [AUTH] APOP is not supported')

    def test_client_never_reads(self):
        """A 50 MB RETR the client does not read: the worker's RSS stays
        bounded (the body is streamed as the socket drains)."""
        need_storage(self.server)
        line = b'x' * 76 + b'\n'
        body = b'Subject: big\n\n' + line * (50 * 1024 * 1024 // len(line))
        harness.deliver(self.server, 'big', body)
        del body
        pid = self.server.worker_pid()
        self.assertTrue(self.c.cmd('USER big').startswith('+OK'))
        self.assertTrue(self.c.cmd('PASS bigpw').startswith('+OK'))
        before = harness.rss_kb(pid)
        self.c.send('RETR 1\r\n')
        time.sleep(2)
        peak = before
        for _ in range(10):
            peak = max(peak, harness.rss_kb(pid))
            time.sleep(0.1)
        sys.stderr.write('worker RSS %d kB -> %d kB\n' % (before, peak))
        # What was sent sits in the kernel's socket buffers (a few MB on
        # loopback, not in RSS); allow for those bytes having passed
        # through the heap (ASan quarantine keeps freed chunks resident).
        self.assertLess(peak - before, 16 * 1024,
                        'worker RSS grew from %d to %d kB' % (before, peak))
        # then read it all: it is complete and correct
        self.c.sock.settimeout(60)
        f = self.c.sock.makefile('rb')
        self.assertTrue(f.readline().startswith(b'+OK'))
        total = 0
        while True:
            got = f.readline()
            self.assertTrue(got.endswith(b'\r\n'))
            if got == b'.\r\n':
                break
            total += 1
        f.close()
        self.assertEqual(total, 2 + 50 * 1024 * 1024 // len(line))


class Pop3IdleTimeout(harness.TestCase):
    listeners = {'pop3': dict(protocol='pop3', tls='none',
                              allow_plaintext='yes')}
    extra = {'pop3': {'idle_timeout': '2s'}}

    def test_autologout_expunges_nothing(self):
        need_storage(self.server)
        harness.deliver(self.server, 'alice', SIMPLE[0])
        c = self.server.connect('pop3')
        c.line()
        self.assertTrue(c.cmd('USER alice').startswith('+OK'))
        self.assertTrue(c.cmd('PASS secret').startswith('+OK'))
        self.assertEqual(c.cmd('DELE 1'), '+OK Message 1 deleted')
        self.assertEqual(c.line(), '-ERR Autologout: idle for too long, '
                         'closing')
        self.assertTrue(c.is_closed())
        c.close()
        c = self.server.connect('pop3')
        c.line()
        c.cmd('USER alice')
        self.assertTrue(c.cmd('PASS secret').startswith('+OK'))
        self.assertEqual(c.cmd('STAT').split()[:2], ['+OK', '1'])
        c.cmd('QUIT')
        c.close()

    def test_slow_download_is_not_cut(self):
        """A RETR read slowly for longer than idle_timeout completes: the
        draining output counts as activity."""
        need_storage(self.server)
        line = b'y' * 98 + b'\n'
        body = b'Subject: slow\n\n' + line * (12 * 1024 * 1024 // 99)
        harness.deliver(self.server, 'bob', body)
        # A small receive buffer keeps what is in flight small: the
        # server is still writing until the client has nearly read it
        # all, so QUIT comes well within idle_timeout of its last write
        # (with megabytes buffered in the kernel, draining them alone
        # could outlast it under load).
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.settimeout(20)
        s.connect((self.server.host, self.server.port('pop3')))
        c = harness.LineClient(s)
        c.line()
        c.cmd('USER bob')
        self.assertTrue(c.cmd('PASS hunter2').startswith('+OK'))
        c.send('RETR 1\r\n')
        start, got = time.time(), b''
        while not got.endswith(b'\r\n.\r\n'):
            chunk = c.sock.recv(1 << 20)
            self.assertTrue(chunk, 'closed after %d bytes' % len(got))
            got += chunk
            time.sleep(len(chunk) / (3 << 20))  # read at 3 MB/s: ~4 s
        self.assertGreater(time.time() - start, 3)
        self.assertEqual(got.count(b'\r\n'), 1 + 2 + len(body) // 99 + 1)
        self.assertEqual(c.cmd('QUIT'), '+OK Logging out, 0 messages deleted')
        c.close()

    def test_silent_client_is_closed(self):
        c = self.server.connect('pop3')
        self.assertTrue(c.line().startswith('+OK'))
        start = time.time()
        self.assertEqual(c.line(), '-ERR Autologout: idle for too long, '
                         'closing')
        self.assertTrue(c.is_closed())
        self.assertGreater(time.time() - start, 1.0)
        c.close()
        c = self.server.connect('pop3')
        self.assertTrue(c.line().startswith('+OK'))
        c.close()


if __name__ == '__main__':
    harness.main()
