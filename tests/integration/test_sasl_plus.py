"""SCRAM-SHA-256-PLUS over real TLS (RFC 5802 section 6, RFC 7677):
advertised only on TLS, both binding types (tls-server-end-point computed
from the certificate Python sees, tls-exporter from the keying material
`openssl s_client -keymatexport` prints), and every failure: wrong data,
unsupported type, the 'y' downgrade, 'p' without TLS."""

import socket
import ssl

import harness
from sasltls import (SClient, Scram, end_point_data, pop3_sasl_mechs,
                     run_scram)


class ScramPlus(harness.TestCase):
    listeners = {
        'imaps': dict(protocol='imap4', tls='implicit'),
        'pop3s': dict(protocol='pop3', tls='implicit'),
        'imap': dict(protocol='imap4', tls='starttls'),
        'pop3': dict(protocol='pop3', tls='starttls'),
    }
    users = [('alice', 'secret')]
    extra = {'auth-passwdfile': {'scram': 'yes'}}
    sanitizer_clean = True

    def tls(self, name):
        c = self.server.connect_tls(name)
        c.line()  # greeting
        return c

    def scram(self, c, proto, mech, gs2, cb):
        s = Scram('alice', 'secret', gs2, cb)
        return run_scram(c.send, c.line, proto, mech, s)

    # ---- advertisement ----

    def imap_caps(self, c):
        line = c.cmd('c1 CAPABILITY')
        c.line()
        return line.split()

    def test_imap_plus_only_on_tls(self):
        c = self.tls('imaps')
        caps = self.imap_caps(c)
        self.assertIn('AUTH=SCRAM-SHA-256-PLUS', caps)
        self.assertIn('AUTH=SCRAM-SHA-256', caps)
        c.close()
        c = self.server.connect('imap')
        c.line()
        caps = self.imap_caps(c)
        self.assertNotIn('AUTH=SCRAM-SHA-256-PLUS', caps)
        self.assertIn('AUTH=SCRAM-SHA-256', caps)
        self.assertTrue(c.cmd('s1 STARTTLS').startswith('s1 OK'))
        c.starttls(self.server.ssl_context())
        self.assertIn('AUTH=SCRAM-SHA-256-PLUS', self.imap_caps(c))
        c.close()

    def test_pop3_plus_only_on_tls(self):
        c = self.tls('pop3s')
        self.assertIn('SCRAM-SHA-256-PLUS', pop3_sasl_mechs(c))
        c.close()
        c = self.server.connect('pop3')
        c.line()
        mechs = pop3_sasl_mechs(c)
        self.assertNotIn('SCRAM-SHA-256-PLUS', mechs)
        self.assertIn('SCRAM-SHA-256', mechs)
        c.close()

    # ---- tls-server-end-point ----

    def test_imap_end_point(self):
        c = self.tls('imaps')
        ok, line, verified = self.scram(c, 'imap', 'SCRAM-SHA-256-PLUS',
                                        'p=tls-server-end-point,,',
                                        end_point_data(c.sock))
        self.assertTrue(ok, line)
        self.assertTrue(verified)
        self.assertTrue(c.cmd('a2 SELECT INBOX').startswith('*'))
        c.close()

    def test_pop3_end_point(self):
        c = self.tls('pop3s')
        ok, line, verified = self.scram(c, 'pop3', 'SCRAM-SHA-256-PLUS',
                                        'p=tls-server-end-point,,',
                                        end_point_data(c.sock))
        self.assertTrue(ok, line)
        self.assertTrue(verified)
        self.assertTrue(c.cmd('STAT').startswith('+OK'))
        c.close()

    def test_imap_starttls_end_point(self):
        c = self.server.connect('imap')
        c.line()
        self.assertTrue(c.cmd('s1 STARTTLS').startswith('s1 OK'))
        c.starttls(self.server.ssl_context())
        ok, line, _ = self.scram(c, 'imap', 'SCRAM-SHA-256-PLUS',
                                 'p=tls-server-end-point,,',
                                 end_point_data(c.sock))
        self.assertTrue(ok, line)
        c.close()

    # ---- tls-exporter (keying material from openssl s_client) ----

    def exporter_login(self, name, proto, cb=None, starttls=None,
                       extra=()):
        sc = SClient(self.server.host, self.server.port(name),
                     self.server.ca_file, starttls=starttls, extra=extra)
        try:
            self.assertEqual(len(sc.keying), 32)
            if not starttls:
                sc.line()  # greeting
            s = Scram('alice', 'secret', 'p=tls-exporter,,',
                      sc.keying if cb is None else cb)
            return run_scram(sc.send, sc.line, proto, 'SCRAM-SHA-256-PLUS', s)
        finally:
            sc.close()

    def test_imap_exporter(self):
        ok, line, verified = self.exporter_login('imaps', 'imap')
        self.assertTrue(ok, line)
        self.assertTrue(verified)

    def test_pop3_exporter(self):
        ok, line, verified = self.exporter_login('pop3s', 'pop3')
        self.assertTrue(ok, line)
        self.assertTrue(verified)

    def test_tls12_exporter_refused_end_point_works(self):
        # tls-exporter only over TLS 1.3 (core/tls.c says why)
        ok, line, _ = self.exporter_login('imaps', 'imap',
                                          extra=['-tls1_2'])
        self.assertFalse(ok)
        self.assertIn('e=unsupported-channel-binding-type', line)
        ctx = self.server.ssl_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        s = socket.create_connection((self.server.host,
                                      self.server.port('imaps')), 10)
        c = harness.LineClient(ctx.wrap_socket(s,
                                               server_hostname='localhost'))
        c.line()
        self.assertEqual(c.sock.version(), 'TLSv1.2')
        self.assertIn('AUTH=SCRAM-SHA-256-PLUS', self.imap_caps(c))
        ok, line, verified = self.scram(c, 'imap', 'SCRAM-SHA-256-PLUS',
                                        'p=tls-server-end-point,,',
                                        end_point_data(c.sock))
        self.assertTrue(ok, line)
        self.assertTrue(verified)
        c.close()

    def test_imap_starttls_exporter(self):
        ok, line, _ = self.exporter_login('imap', 'imap', starttls='imap')
        self.assertTrue(ok, line)

    def test_exporter_wrong_data(self):
        ok, line, _ = self.exporter_login('imaps', 'imap', cb=b'\0' * 32)
        self.assertFalse(ok)
        self.assertIn('e=channel-bindings-dont-match', line)
        ok, line, _ = self.exporter_login('pop3s', 'pop3', cb=b'\0' * 32)
        self.assertFalse(ok)
        self.assertIn('e=channel-bindings-dont-match', line)

    # ---- failures ----

    def test_end_point_wrong_data(self):
        c = self.tls('imaps')
        bad = bytearray(end_point_data(c.sock))
        bad[0] ^= 1
        ok, line, _ = self.scram(c, 'imap', 'SCRAM-SHA-256-PLUS',
                                 'p=tls-server-end-point,,', bytes(bad))
        self.assertFalse(ok)
        self.assertRegex(line, r'^a1 NO .*e=channel-bindings-dont-match')
        c.close()
        # counted and logged like a wrong password (fail2ban sees it)
        self.server.wait_log(r'auth failed: user=<alice> rip=127\.0\.0\.1 '
                             r'service=imap4 reason=SCRAM-SHA-256-PLUS '
                             r'e=channel-bindings-dont-match')

    def test_unsupported_type(self):
        c = self.tls('imaps')
        ok, line, _ = self.scram(c, 'imap', 'SCRAM-SHA-256-PLUS',
                                 'p=tls-unique,,', b'x' * 12)
        self.assertFalse(ok)
        self.assertIn('e=unsupported-channel-binding-type', line)
        c.close()
        c = self.tls('pop3s')
        ok, line, _ = self.scram(c, 'pop3', 'SCRAM-SHA-256-PLUS',
                                 'p=tls-unique,,', b'x' * 12)
        self.assertFalse(ok)
        self.assertIn('e=unsupported-channel-binding-type', line)
        c.close()

    def test_y_flag_when_plus_offered(self):
        c = self.tls('imaps')
        ok, line, _ = self.scram(c, 'imap', 'SCRAM-SHA-256', 'y,,', b'')
        self.assertFalse(ok)
        self.assertIn('e=server-does-support-channel-binding', line)
        c.close()
        c = self.tls('pop3s')
        ok, line, _ = self.scram(c, 'pop3', 'SCRAM-SHA-256', 'y,,', b'')
        self.assertFalse(ok)
        self.assertIn('e=server-does-support-channel-binding', line)
        c.close()

    def test_y_flag_without_tls_is_fine(self):
        c = self.server.connect('imap')
        c.line()
        ok, line, _ = self.scram(c, 'imap', 'SCRAM-SHA-256', 'y,,', b'')
        self.assertTrue(ok, line)
        c.close()

    def test_n_flag_on_tls_is_fine(self):
        c = self.tls('imaps')
        ok, line, _ = self.scram(c, 'imap', 'SCRAM-SHA-256', 'n,,', b'')
        self.assertTrue(ok, line)
        c.close()

    def test_plus_refused_without_tls(self):
        c = self.server.connect('imap')
        c.line()
        line = c.cmd('a1 AUTHENTICATE SCRAM-SHA-256-PLUS')
        self.assertRegex(line, r'^a1 NO \[CANNOT\]')
        c.close()
        c = self.server.connect('pop3')
        c.line()
        self.assertTrue(c.cmd('AUTH SCRAM-SHA-256-PLUS').startswith('-ERR'))
        c.close()

    def test_p_flag_without_tls(self):
        c = self.server.connect('imap')
        c.line()
        ok, line, _ = self.scram(c, 'imap', 'SCRAM-SHA-256',
                                 'p=tls-exporter,,', b'\0' * 32)
        self.assertFalse(ok)
        self.assertIn('e=channel-binding-not-supported', line)
        c.close()

    def test_plus_needs_p_flag(self):
        c = self.tls('imaps')
        ok, line, _ = self.scram(c, 'imap', 'SCRAM-SHA-256-PLUS', 'n,,', b'')
        self.assertFalse(ok)
        c.close()

    def test_wrong_password_with_binding(self):
        c = self.tls('imaps')
        s = Scram('alice', 'wrong', 'p=tls-server-end-point,,',
                  end_point_data(c.sock))
        ok, line, _ = run_scram(c.send, c.line, 'imap',
                                'SCRAM-SHA-256-PLUS', s)
        self.assertFalse(ok)
        self.assertRegex(line, r'^a1 NO \[AUTHENTICATIONFAILED\] '
                         r'Authentication failed')
        c.close()


if __name__ == '__main__':
    harness.main()
