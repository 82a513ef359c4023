"""TLS: implicit and STARTTLS handshakes against Python ssl and openssl
s_client, STARTTLS command injection, versions, handshake timeout,
sendfile's TLS path."""
import os
import socket
import ssl
import subprocess
import tempfile
import time

import harness

harness.TestCase.sanitizer_clean = True


def s_client(args, stdin_text, timeout=15):
    p = subprocess.run(['openssl', 's_client'] + args, input=stdin_text,
                       capture_output=True, text=True, timeout=timeout)
    return p.stdout + p.stderr


class Tls(harness.TestCase):
    listeners = {
        'implicit': dict(protocol='testproto', tls='implicit'),
        'starttls': dict(protocol='testproto', tls='starttls'),
        'plain': dict(protocol='testproto', tls='none'),
        'tls13': dict(protocol='testproto', tls='implicit',
                      tls_min_version='TLSv1.3'),
        'chacha': dict(protocol='testproto', tls='implicit',
                       ciphersuites='TLS_CHACHA20_POLY1305_SHA256'),
    }
    core = {'handshake_timeout': '1s'}

    def test_implicit_python(self):
        c = self.server.connect_tls('implicit')
        self.assertEqual(c.line(), '+OK testproto ready')
        self.assertRegex(c.cmd('INFO'), r'^\+OK tls=1 version=TLSv1\.[23] ')
        self.assertEqual(c.cmd('QUIT'), '+OK bye')
        self.server.wait_log(r'TLS: TLSv1\.[23] \S+')

    def test_implicit_s_client(self):
        out = s_client(['-connect', '127.0.0.1:%d' %
                        self.server.port('implicit'), '-CAfile',
                        self.server.ca_file, '-verify_return_error',
                        '-servername', 'localhost', '-quiet'],
                       'INFO\r\nQUIT\r\n')
        self.assertIn('+OK testproto ready', out)
        self.assertRegex(out, r'\+OK tls=1 version=TLSv1\.[23]')
        self.assertIn('+OK bye', out)

    def test_starttls_python(self):
        c = self.server.connect('starttls')
        self.assertEqual(c.line(), '+OK testproto ready')
        self.assertRegex(c.cmd('INFO'), r'^\+OK tls=0 ')
        self.assertEqual(c.cmd('STLS'), '+OK begin TLS')
        c.starttls(self.server.ssl_context())
        self.assertRegex(c.cmd('INFO'), r'^\+OK tls=1 version=TLSv1\.[23] ')
        # A second STARTTLS is refused.
        self.assertEqual(c.cmd('STLS'), '+OK begin TLS')
        self.assertEqual(c.line(), '-ERR invalid argument')
        self.assertEqual(c.cmd('QUIT'), '+OK bye')

    def test_output_after_starttls_goes_through_tls(self):
        c = self.server.connect('starttls')
        c.line()
        self.assertEqual(c.cmd('STLS2'), '+OK begin TLS')
        self.assertFalse(c.is_closed(0.3))
        self.assertEqual(c.buf, b'')
        c.starttls(self.server.ssl_context())
        self.assertEqual(c.line(), '+OK inside TLS')
        self.assertRegex(c.cmd('INFO'), r'^\+OK tls=1 ')
        c.close()

    def test_starttls_s_client(self):
        out = s_client(['-connect', '127.0.0.1:%d' %
                        self.server.port('starttls'), '-starttls', 'pop3',
                        '-CAfile', self.server.ca_file,
                        '-verify_return_error', '-quiet'],
                       'INFO\r\nQUIT\r\n')
        self.assertRegex(out, r'\+OK tls=1 version=TLSv1\.[23]')
        self.assertIn('+OK bye', out)

    def test_starttls_injection_discarded(self):
        c = self.server.connect('starttls')
        c.line()
        # Pipelined plaintext after STARTTLS: a man in the middle could
        # inject it; it must never be executed inside the TLS session.
        c.send(b'STLS\r\nCONFIG injected\r\nINFO\r\n')
        self.assertEqual(c.line(), '+OK begin TLS')
        # Nothing else in plaintext: the server now waits for our
        # ClientHello.
        self.assertFalse(c.is_closed(0.3))
        self.assertEqual(c.buf, b'')
        c.starttls(self.server.ssl_context())
        # The first answer inside TLS is to our command, not the injected
        # CONFIG's "+OK (unset)".
        self.assertEqual(c.cmd('after'), 'echo: after')
        self.assertRegex(c.cmd('INFO'), r'^\+OK tls=1 ')
        self.server.wait_log(r'STARTTLS: discarding \d+ pipelined '
                             r'plaintext bytes')
        c.close()

    def test_starttls_not_offered_without_tls(self):
        c = self.server.connect('plain')
        c.line()
        self.assertEqual(c.cmd('STLS'), '+OK begin TLS')
        self.assertEqual(c.line(), '-ERR not supported')
        self.assertEqual(c.cmd('still plain'), 'echo: still plain')
        c.close()

    def test_starttls_on_implicit_refused(self):
        c = self.server.connect_tls('implicit')
        c.line()
        self.assertEqual(c.cmd('STLS'), '+OK begin TLS')
        self.assertEqual(c.line(), '-ERR invalid argument')
        c.close()

    def test_min_version_tls13(self):
        ctx = self.server.ssl_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        s = socket.create_connection((self.server.host,
                                      self.server.port('tls13')), 5)
        with self.assertRaises(ssl.SSLError):
            ctx.wrap_socket(s, server_hostname='localhost')
        s.close()
        ctx = self.server.ssl_context()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        c = self.server.connect_tls('tls13')
        self.assertRegex(c.cmd('INFO') if c.line() else '',
                         r'version=TLSv1\.3')
        c.close()

    def test_configured_ciphersuites(self):
        c = self.server.connect_tls('chacha')
        self.assertEqual(c.line(), '+OK testproto ready')
        self.assertEqual(c.sock.cipher()[0], 'TLS_CHACHA20_POLY1305_SHA256')
        c.close()

    def test_default_refuses_tls11(self):
        out = s_client(['-connect', '127.0.0.1:%d' %
                        self.server.port('implicit'), '-tls1_1'], '')
        self.assertNotIn('testproto ready', out)

    def test_handshake_timeout(self):
        s = socket.create_connection((self.server.host,
                                      self.server.port('implicit')), 10)
        t = time.time()
        self.assertEqual(s.recv(100), b'')  # closed by the server
        self.assertLess(time.time() - t, 5)
        s.close()
        self.server.wait_log('TLS handshake timed out')

    def test_plaintext_on_tls_port_fails(self):
        s = socket.create_connection((self.server.host,
                                      self.server.port('implicit')), 10)
        s.sendall(b'INFO\r\n\r\n')
        try:
            data = s.recv(100)
        except ConnectionResetError:
            data = b''
        self.assertNotIn(b'+OK', data)
        s.close()
        self.server.wait_log('TLS handshake failed')

    def test_write_file_over_tls(self):
        with tempfile.NamedTemporaryFile(delete=False) as f:
            blob = os.urandom(100000)
            f.write(blob)
        try:
            c = self.server.connect_tls('implicit')
            c.line()
            self.assertEqual(c.cmd('FILE %s 10 90000' % f.name), '+OK 90000')
            self.assertEqual(c.read_exact(90000), blob[10:90010])
            self.assertEqual(c.line(), '')
            self.assertEqual(c.line(), '.')
            c.close()
        finally:
            os.unlink(f.name)

    def test_big_output_over_tls(self):
        n = 6 * 1024 * 1024
        c = self.server.connect_tls('implicit')
        c.line()
        c.send('BIG %d\r\n' % n)
        data = c.read_exact(n + 2)
        self.assertEqual(data.count(b'x'), n)
        self.assertEqual(c.cmd('ok'), 'echo: ok')
        c.close()


if __name__ == '__main__':
    harness.main()
