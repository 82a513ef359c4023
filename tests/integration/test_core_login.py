"""Authentication through the core API (auth_plain, sasl_*) from a worker
to the auth service and back, with the listener's plaintext policy. Needs
the auth-passwdfile plugin."""
import base64
import unittest

import harness

harness.TestCase.sanitizer_clean = True

PASSWORD = 'Zq7-unique-pw'


@unittest.skipUnless(harness.plugin_exists('auth-passwdfile'),
                     'auth-passwdfile plugin not built')
class Login(harness.TestCase):
    listeners = {
        'open': dict(protocol='testproto', tls='none', allow_plaintext='yes'),
        'strict': dict(protocol='testproto', tls='starttls',
                       allow_plaintext='no'),
    }
    users = [('alice', PASSWORD), ('bob', 'hunter2')]

    def test_plain_ok(self):
        c = self.server.connect('open')
        c.line()
        self.assertEqual(c.cmd('LOGIN alice ' + PASSWORD), '+OK user=alice')
        self.server.wait_log(r'login: user=alice method=plain')
        self.assertNotIn(PASSWORD, self.server.log_text())
        c.close()

    def test_plain_wrong_password(self):
        c = self.server.connect('open')
        c.line()
        self.assertRegex(c.cmd('LOGIN bob wrong'), r'^-ERR -14 ')
        self.server.wait_log(r'login failed: user=bob method=plain')
        # The connection stays usable.
        self.assertEqual(c.cmd('hi'), 'echo: hi')
        c.close()

    def test_plaintext_refused_without_tls(self):
        c = self.server.connect('strict')
        c.line()
        self.assertRegex(c.cmd('LOGIN alice ' + PASSWORD), r'^-ERR -7 ')
        self.assertEqual(c.cmd('STLS'), '+OK begin TLS')
        c.starttls(self.server.ssl_context())
        self.assertEqual(c.cmd('LOGIN alice ' + PASSWORD), '+OK user=alice')
        c.close()

    def test_sasl_plain(self):
        c = self.server.connect('open')
        c.line()
        self.assertIn('PLAIN', c.cmd('MECHS'))
        ir = base64.b64encode(b'\0alice\0' + PASSWORD.encode()).decode()
        self.assertEqual(c.cmd('SASL PLAIN ' + ir), '+OK sasl user=alice')
        c.close()

    def test_sasl_plain_with_continuation(self):
        c = self.server.connect('open')
        c.line()
        self.assertEqual(c.cmd('SASL PLAIN'), '+ ')
        resp = base64.b64encode(b'\0bob\0hunter2').decode()
        self.assertEqual(c.cmd(resp), '+OK sasl user=bob')
        c.close()

    def test_sasl_bad_base64(self):
        c = self.server.connect('open')
        c.line()
        self.assertRegex(c.cmd('SASL PLAIN !!!notbase64'), r'^-ERR sasl ')
        self.assertEqual(c.cmd('still'), 'echo: still')
        c.close()


if __name__ == '__main__':
    harness.main()
