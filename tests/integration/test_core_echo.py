"""Serving through the core with the echo and testproto plugins: line
reads, over-long lines, NUL bytes, back-pressure, sendfile, idle timeout,
conn_config fallback."""
import os
import socket
import tempfile
import time

import harness

harness.TestCase.sanitizer_clean = True


class Echo(harness.TestCase):
    listeners = {
        'echo': dict(protocol='echo', tls='none'),
        'echo2': dict(protocol='echo', tls='none', greeting='second door'),
        'tp': dict(protocol='testproto', tls='none'),
    }
    extra = {'echo': {'greeting': 'hello from echo'}}

    def test_greeting_and_echo(self):
        c = self.server.connect('echo')
        self.assertEqual(c.line(), '+ hello from echo')
        self.assertEqual(c.cmd('hi there'), 'echo: hi there')
        self.assertEqual(c.cmd('QUIT'), '+ bye')
        self.assertTrue(c.is_closed())

    def test_listener_overrides_plugin_section(self):
        c = self.server.connect('echo2')
        self.assertEqual(c.line(), '+ second door')
        c.close()

    def test_crlf_split_across_reads(self):
        c = self.server.connect('echo')
        c.line()
        c.send(b'abc\r')
        time.sleep(0.2)
        c.send(b'\ndef')
        time.sleep(0.2)
        c.send(b'\r\n')
        self.assertEqual(c.line(), 'echo: abc')
        self.assertEqual(c.line(), 'echo: def')
        c.close()

    def test_bare_lf_and_pipelining(self):
        c = self.server.connect('echo')
        c.line()
        c.send(b'one\ntwo\r\nthree\n')
        self.assertEqual([c.line(), c.line(), c.line()],
                         ['echo: one', 'echo: two', 'echo: three'])
        c.close()

    def test_nul_inside_line(self):
        c = self.server.connect('tp')
        c.line()
        c.send(b'a\x00b\r\n')
        self.assertEqual(c.line(), 'echo: a@b')
        c.close()

    def test_overlong_line_then_next_works(self):
        c = self.server.connect('echo')
        c.line()
        c.send(b'x' * 5000)
        c.send(b'y' * 70000 + b'\r\nafter\r\n')
        self.assertEqual(c.line(), '- line too long')
        self.assertEqual(c.line(), 'echo: after')
        c.close()

    def test_conn_info(self):
        c = self.server.connect('tp')
        c.line()
        info = c.cmd('INFO')
        self.assertRegex(info, r'^\+OK tls=0 version=- listener=tp '
                               r'peer=127\.0\.0\.1 session=\w{8}$')
        sid = info.split('session=')[1]
        self.server.wait_log(sid + r' 127\.0\.0\.1: connect: listener=tp')
        c.cmd('QUIT')
        self.server.wait_log(sid + r' .*disconnect: reason=closed by server '
                                   r'in=\d+ out=\d+')

    def test_config_fallback_to_core_default(self):
        c = self.server.connect('tp')
        c.line()
        self.assertEqual(c.cmd('CONFIG tls'), '+OK none')
        self.assertEqual(c.cmd('CONFIG nosuchkey'), '+OK (unset)')
        c.close()

    def test_big_output_with_backpressure(self):
        # 8 MiB is twice the output limit: only the low-water mark
        # protocol (conn_output_ready) keeps the connection alive.
        n = 8 * 1024 * 1024
        c = self.server.connect('tp')
        c.line()
        c.send('BIG %d\r\n' % n)
        time.sleep(1)  # let the server hit the full socket
        data = c.read_exact(n + 2)
        self.assertEqual(len(data), n + 2)
        self.assertEqual(data.count(b'x'), n)
        self.assertEqual(c.cmd('after big'), 'echo: after big')
        c.close()

    def test_close_is_clean_for_a_client_still_talking(self):
        # After the server's last words the client may still be sending
        # (pipelined commands). The server lingers, discarding input,
        # instead of answering it with a RST that can destroy the last
        # reply on its way (nginx's lingering close).
        c = self.server.connect('tp')
        c.line()
        self.assertEqual(c.cmd('QUIT'), '+OK bye')
        self.assertEqual(c.sock.recv(100), b'')  # our FIN
        c.sock.sendall(b'NOOP\r\n' * 1000)
        time.sleep(0.3)
        c.sock.sendall(b'NOOP\r\n')
        time.sleep(0.3)
        self.assertEqual(c.sock.recv(100), b'')  # not ECONNRESET
        c.close()

    def test_half_close_still_answered(self):
        # Like `printf 'cmds' | nc -N`: the client shuts down its sending
        # side right after pipelining; every answer must still arrive.
        n = 3 * 1024 * 1024
        c = self.server.connect('tp')
        c.line()
        c.send('echo one\r\nBIG %d\r\necho two\r\n' % n)
        c.sock.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
        self.assertEqual(c.line(), 'echo: echo one')
        self.assertEqual(c.read_exact(n + 2).count(b'x'), n)
        self.assertEqual(c.line(), 'echo: echo two')
        self.assertTrue(c.is_closed())
        c.close()
        self.server.wait_log(r'disconnect: reason=disconnected in=\d+ '
                             r'out=%d' % (n + 2 + 53))

    def test_write_file_sendfile(self):
        with tempfile.NamedTemporaryFile(delete=False) as f:
            blob = os.urandom(300000)
            f.write(blob)
        try:
            c = self.server.connect('tp')
            c.line()
            self.assertEqual(c.cmd('FILE %s 1000 200000' % f.name),
                             '+OK 200000')
            self.assertEqual(c.read_exact(200000), blob[1000:201000])
            self.assertEqual(c.line(), '')
            self.assertEqual(c.line(), '.')
            c.close()
        finally:
            os.unlink(f.name)

    def test_idle_timeout(self):
        c = self.server.connect('tp')
        c.line()
        self.assertEqual(c.cmd('IDLE 1'), '+OK')
        t = time.time()
        self.assertEqual(c.line(), '-ERR idle timeout')
        self.assertTrue(c.is_closed())
        self.assertLess(time.time() - t, 5)
        self.server.wait_log('idle timeout after 1 s')

    def test_output_from_timer_is_sent(self):
        # Nothing arrives from the client meanwhile: the core must still
        # flush what the plugin wrote from its timer.
        c = self.server.connect('tp')
        c.line()
        self.assertEqual(c.cmd('LATER 0.2 ping'), '+OK')
        t = time.time()
        self.assertEqual(c.line(), '+OK later ping')
        self.assertLess(time.time() - t, 3)
        self.assertEqual(c.cmd('hi'), 'echo: hi')
        c.close()

    def test_close_from_timer(self):
        c = self.server.connect('tp')
        c.line()
        self.assertEqual(c.cmd('LATERCLOSE 0.2'), '+OK')
        self.assertEqual(c.line(), '+OK later bye')
        self.assertTrue(c.is_closed())

    def test_input_backpressure(self):
        # The client sends without reading. testproto stops reading input
        # while its output is above the low-water mark, so the core must
        # stop reading the socket once its input buffer is full: the
        # client's send blocks, nothing overflows, nothing is lost.
        c = self.server.connect('tp')
        c.line()
        c.sock.setblocking(False)
        sent = 0
        line = b'y' * 1000 + b'\r\n'
        blocked_since = None
        while True:
            try:
                n = c.sock.send(line * 64)
                sent += n
                blocked_since = None
                if n < len(line) * 64:
                    break
            except BlockingIOError:
                if blocked_since is None:
                    blocked_since = time.time()
                elif time.time() - blocked_since > 1:
                    break
                time.sleep(0.02)
            self.assertLess(sent, 256 * 1024 * 1024, 'never blocked')
        c.sock.setblocking(True)
        c.sock.settimeout(20)
        for _ in range(sent // len(line)):
            self.assertEqual(c.line(), 'echo: ' + 'y' * 1000)
        c.send(b'y' * (len(line) - sent % len(line)) if sent % len(line)
               else b'')
        self.assertNotIn('output overflow', self.server.log_text())
        c.close()


class ManyConnections(harness.TestCase):
    listeners = {'tp': dict(protocol='testproto', tls='none')}
    core = {'max_connections_per_ip': '0'}
    workers = 2

    def test_300_concurrent(self):
        clients = [self.server.connect('tp') for _ in range(300)]
        for c in clients:
            self.assertEqual(c.line(), '+OK testproto ready')
        for i, c in enumerate(clients):
            c.send('n%d\r\n' % i)
        for i, c in enumerate(clients):
            self.assertEqual(c.line(), 'echo: n%d' % i)
        for c in clients:
            c.send('QUIT\r\n')
        for c in clients:
            self.assertEqual(c.line(), '+OK bye')
            c.close()
        self.server.wait_idle()


class OutputLimit(harness.TestCase):
    listeners = {'echo': dict(protocol='echo', tls='none')}
    core = {'output_limit': '64k'}

    def test_overflow_closes(self):
        s = socket.create_connection((self.server.host,
                                      self.server.port('echo')))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        line = b'z' * 900 + b'\r\n'
        deadline = time.time() + 10
        closed = False
        while time.time() < deadline and not closed:
            try:
                s.send(line * 32)
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:
                closed = True
            if 'output overflow' in self.server.log_text():
                closed = True
        s.close()
        self.server.wait_log(r'output queue over its limit of 65536 bytes')
        self.server.wait_log(r'disconnect: reason=output overflow')


class Limits(harness.TestCase):
    listeners = {'echo': dict(protocol='echo', tls='none')}
    core = {'max_connections_per_ip': '2'}

    def test_per_ip_limit(self):
        self.server.wait_idle()  # the harness's readiness probe
        a = self.server.connect('echo')
        b = self.server.connect('echo')
        self.assertEqual(a.line(), '+ echo ready')
        self.assertEqual(b.line(), '+ echo ready')
        c = self.server.connect('echo')
        self.assertEqual(c.line(), '')  # closed without a greeting
        self.server.wait_log('per-IP connection limit of 2 reached')
        a.cmd('QUIT')
        self.assertTrue(a.is_closed())
        time.sleep(0.3)
        d = self.server.connect('echo')
        self.assertEqual(d.line(), '+ echo ready')
        for x in (b, c, d):
            x.close()


class GlobalAndListenerLimits(harness.TestCase):
    listeners = {'one': dict(protocol='echo', tls='none', max_connections='1'),
                 'other': dict(protocol='echo', tls='none')}
    core = {'max_connections': '2'}

    def test_limits(self):
        self.server.wait_idle()  # the harness's readiness probes
        a = self.server.connect('one')
        self.assertEqual(a.line(), '+ echo ready')
        b = self.server.connect('one')
        self.assertEqual(b.line(), '')
        self.server.wait_log(r'\[listener.one\] connection limit of 1 '
                             r'reached')
        c = self.server.connect('other')
        self.assertEqual(c.line(), '+ echo ready')
        d = self.server.connect('other')
        self.assertEqual(d.line(), '')
        self.server.wait_log(r'worker 1: warning: connection limit of 2 '
                             r'reached')
        for x in (a, b, c, d):
            x.close()


def _ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(('::1', 0))
        return True
    except OSError:
        return False


@harness.unittest.skipUnless(_ipv6_loopback(), 'no IPv6 loopback')
class Ipv6(harness.TestCase):
    p4, p6 = harness.free_port(), harness.free_port('::1')
    listeners = {'dual': dict(protocol='testproto', tls='none',
                              listen='[::1]:%d, 127.0.0.1:%d' % (p6, p4))}

    def test_both_families(self):
        c = self.server.connect('dual')  # the first address: [::1]
        self.assertEqual(c.line(), '+OK testproto ready')
        self.assertRegex(c.cmd('INFO'), r' peer=::1 ')
        c.close()
        s = socket.create_connection(('127.0.0.1', self.p4), 5)
        c = harness.LineClient(s)
        self.assertEqual(c.line(), '+OK testproto ready')
        self.assertRegex(c.cmd('INFO'), r' peer=127\.0\.0\.1 ')
        c.close()


if __name__ == '__main__':
    harness.main()
