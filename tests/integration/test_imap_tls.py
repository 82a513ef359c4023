#!/usr/bin/env python3
"""IMAP over TLS: STARTTLS (RFC 3501 6.2.1) with LOGINDISABLED before it
when plaintext is not allowed, and implicit TLS (imaps)."""
import imaplib
import ssl

import harness


class ImapTls(harness.TestCase):
    listeners = {
        'imap': dict(protocol='imap4', tls='starttls', allow_plaintext='no'),
        'imaps': dict(protocol='imap4', tls='implicit'),
    }
    users = [('alice', 'secret')]

    def ctx(self):
        return ssl.create_default_context(cafile=self.server.ca_file)

    def test_logindisabled_then_starttls(self):
        m = imaplib.IMAP4(self.server.host, self.server.port('imap'))
        self.assertIn('STARTTLS', m.capabilities)
        self.assertIn('LOGINDISABLED', m.capabilities)
        with self.assertRaises(imaplib.IMAP4.error) as e:
            m.login('alice', 'secret')
        self.assertIn('PRIVACYREQUIRED', str(e.exception))
        typ, _ = m.starttls(ssl_context=self.ctx())
        self.assertEqual(typ, 'OK')
        self.assertNotIn('LOGINDISABLED', m.capabilities)
        self.assertNotIn('STARTTLS', m.capabilities)
        self.assertEqual(m.login('alice', 'secret')[0], 'OK')
        self.assertEqual(m.select('INBOX')[0], 'OK')
        m.logout()

    def test_starttls_twice_refused(self):
        c = self.server.connect('imap')
        self.assertTrue(c.line().startswith('* OK'))
        self.assertTrue(c.cmd('a STARTTLS').startswith('a OK'))
        c.starttls(self.ctx())
        self.assertTrue(c.cmd('b STARTTLS').startswith('b BAD'))
        self.assertTrue(c.cmd('c LOGIN alice secret').startswith('c OK'))
        c.close()

    def test_injection_after_starttls_dropped(self):
        # a command sent in the same packet as STARTTLS must not run
        c = self.server.connect('imap')
        self.assertTrue(c.line().startswith('* OK'))
        c.send('a STARTTLS\r\nb LOGIN alice secret\r\n')
        self.assertTrue(c.line().startswith('a OK'))
        c.starttls(self.ctx())
        # the injected LOGIN did not run: still not authenticated
        self.assertTrue(c.cmd('c SELECT INBOX').startswith('c BAD'))
        c.close()

    def test_implicit_tls(self):
        m = imaplib.IMAP4_SSL(self.server.host, self.server.port('imaps'),
                              ssl_context=self.ctx())
        self.assertNotIn('STARTTLS', m.capabilities)
        self.assertEqual(m.login('alice', 'secret')[0], 'OK')
        m.logout()


if __name__ == '__main__':
    harness.main()
