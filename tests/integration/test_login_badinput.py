#!/usr/bin/env python3
"""Issue 4's bad input over the real protocols, one case per test: SASL
responses over 64 KiB, malformed base64, NUL in user names, an authzid
other than the authcid. Each gets a clear failure, the password is never
logged, and the connection (or the next one) still works."""
import base64

import harness

harness.TestCase.sanitizer_clean = True

PASSWORD = 'Kx9-bad-input-pw'


def b64(data):
    return base64.b64encode(data).decode()


class LoginBadInput(harness.TestCase):
    listeners = {
        'imap': dict(protocol='imap4', tls='none', allow_plaintext='yes'),
        'pop3': dict(protocol='pop3', tls='none', allow_plaintext='yes'),
    }
    users = [('alice', PASSWORD), ('bob', 'hunter2')]

    def imap(self):
        c = self.server.connect('imap')
        self.addCleanup(c.close)
        self.assertTrue(c.line().startswith('* OK'))
        return c

    def pop3(self):
        c = self.server.connect('pop3')
        self.addCleanup(c.close)
        self.assertTrue(c.line().startswith('+OK'))
        return c

    def tagged(self, c, tag, first=None):
        line = first if first is not None else c.line()
        while not line.startswith(tag + ' '):
            self.assertTrue(line, 'connection closed')
            line = c.line()
        return line

    def imap_logs_in(self, c):
        line = self.tagged(c, 'z', c.cmd('z LOGIN alice ' + PASSWORD))
        self.assertTrue(line.startswith('z OK'), line)

    def pop3_logs_in(self, c):
        self.assertTrue(c.cmd('USER alice').startswith('+OK'))
        self.assertTrue(c.cmd('PASS ' + PASSWORD).startswith('+OK'))

    def test_imap_oversized_sasl_response(self):
        c = self.imap()
        self.assertTrue(c.cmd('a AUTHENTICATE PLAIN').startswith('+'))
        big = b64(b'\0alice\0' + b'x' * 70000)
        line = self.tagged(c, 'a', c.cmd(big))
        self.assertRegex(line, r'^a (BAD|NO) ')
        self.imap_logs_in(c)

    def test_imap_oversized_sasl_initial_response(self):
        # a command line over the parser's limit: the server says why and
        # closes; the reply must survive the close (no RST eating it)
        c = self.imap()
        big = b64(b'\0alice\0' + b'x' * 70000)
        line = c.cmd('a AUTHENTICATE PLAIN ' + big)
        self.assertRegex(line, r'^(\* BYE|a BAD) .*too long', line)
        self.assertTrue(c.is_closed())
        self.imap_logs_in(self.imap())

    def test_pop3_oversized_sasl_response(self):
        c = self.pop3()
        self.assertTrue(c.cmd('AUTH PLAIN').startswith('+'))
        line = c.cmd(b64(b'\0alice\0' + b'x' * 70000))
        self.assertRegex(line, r'^-ERR .*too long', line)
        self.assertTrue(c.is_closed())
        self.pop3_logs_in(self.pop3())

    def test_imap_malformed_base64(self):
        c = self.imap()
        self.assertTrue(c.cmd('a AUTHENTICATE PLAIN').startswith('+'))
        line = self.tagged(c, 'a', c.cmd('@@not base64@@'))
        self.assertRegex(line, r'^a BAD ')
        self.imap_logs_in(c)

    def test_imap_cancel(self):
        c = self.imap()
        self.assertTrue(c.cmd('a AUTHENTICATE PLAIN').startswith('+'))
        line = self.tagged(c, 'a', c.cmd('*'))
        self.assertRegex(line, r'^a BAD ')
        self.imap_logs_in(c)

    def test_imap_nul_in_user_name(self):
        c = self.imap()
        c.send('a LOGIN {7+}\r\nal\0ice ' + PASSWORD + '\r\n')
        line = self.tagged(c, 'a')
        self.assertRegex(line, r'^a (BAD|NO) ')
        self.imap_logs_in(c)

    def test_pop3_nul_in_user_name(self):
        c = self.pop3()
        line = c.cmd('USER al\0ice')
        if line.startswith('+OK'):
            line = c.cmd('PASS ' + PASSWORD)
        self.assertTrue(line.startswith('-ERR'), line)
        self.pop3_logs_in(c)

    def test_imap_authzid_other_than_authcid(self):
        c = self.imap()
        ir = b64(b'bob\0alice\0' + PASSWORD.encode())
        line = self.tagged(c, 'a', c.cmd('a AUTHENTICATE PLAIN ' + ir))
        self.assertRegex(line, r'^a NO ')
        self.server.wait_log(r'login failed')
        self.imap_logs_in(c)

    def test_pop3_authzid_other_than_authcid(self):
        c = self.pop3()
        line = c.cmd('AUTH PLAIN ' + b64(b'bob\0alice\0' +
                                         PASSWORD.encode()))
        self.assertTrue(line.startswith('-ERR'), line)
        self.pop3_logs_in(c)

    def test_password_never_logged(self):
        c = self.imap()
        self.tagged(c, 'a', c.cmd('a LOGIN alice wrong-' + PASSWORD))
        self.imap_logs_in(c)
        self.server.wait_log(r'login failed: user=alice')
        self.assertNotIn(PASSWORD, self.server.log_text())


if __name__ == '__main__':
    harness.main()
