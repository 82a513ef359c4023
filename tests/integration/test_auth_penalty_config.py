"""The [auth] brute-force knobs take effect: penalty_base / penalty_max
shape the delays, lockout_failures = 3 locks an address out after three
failures (over real IMAP and POP3 logins too), penalty_window bounds it;
bad values fail `posthornd -t` with FILE:LINE."""

import time

import harness
from authwire import MSG_PLAIN, PH_EAUTH, PH_EUNKNOWN, PH_OK, ask


class PenaltyKnobs(harness.TestCase):
    listeners = {}
    users = [('alice', 'secret'), ('bob', 'hunter2')]
    extra = {'auth': {'penalty_base': '1s', 'penalty_max': '2s',
                      'penalty_window': '3s', 'lockout_failures': '3',
                      'penalty_entries': '100'}}
    sanitizer_clean = True

    def test_delays_and_lockout(self):
        state, ip = self.server.state_dir, '192.0.2.80'
        delays = [ask(state, MSG_PLAIN, 'ghost%d' % i, b'x', rip=ip)
                  ['delay_ms'] for i in range(3)]
        # 0, base, then capped at penalty_max (2 s, not the default 15 s)
        self.assertEqual(delays, [0, 1000, 2000])
        r = ask(state, MSG_PLAIN, 'alice', b'secret', rip=ip)
        self.assertEqual((r['result'], r['message']), (PH_EAUTH,
                                                       'locked out'))
        self.assertEqual(r['delay_ms'], 2000)
        # another address is not affected
        self.assertEqual(ask(state, MSG_PLAIN, 'alice', b'secret',
                             rip='192.0.2.81')['result'], PH_OK)
        # the window (3 s) forgets the failures
        time.sleep(3.5)
        self.assertEqual(ask(state, MSG_PLAIN, 'alice', b'secret',
                             rip=ip)['result'], PH_OK)

    def test_two_failures_do_not_lock(self):
        state, ip = self.server.state_dir, '192.0.2.90'
        for i in range(2):
            self.assertEqual(ask(state, MSG_PLAIN, 'nobody%d' % i, b'x',
                                 rip=ip)['result'], PH_EUNKNOWN)
        self.assertEqual(ask(state, MSG_PLAIN, 'alice', b'secret',
                             rip=ip)['result'], PH_OK)


class ProtocolLockout(harness.TestCase):
    """lockout_failures = 3 through real IMAP and POP3 logins (no delays,
    so the window is all that expires)."""
    listeners = {
        'imap': dict(protocol='imap4', tls='none', allow_plaintext='yes'),
        'pop3': dict(protocol='pop3', tls='none', allow_plaintext='yes'),
    }
    users = [('alice', 'secret'), ('bob', 'hunter2')]
    extra = {'auth': {'penalty_base': '0', 'penalty_max': '0',
                      'penalty_window': '4s', 'lockout_failures': '3'}}
    sanitizer_clean = True

    def test_imap_and_pop3_locked_after_three(self):
        # the real clients come from 127.0.0.1
        c = self.server.connect('imap')
        c.line()
        for i in range(3):
            self.assertRegex(c.cmd('a%d LOGIN bob wrong' % i),
                             r'^a%d NO' % i)
        self.assertRegex(c.cmd('b1 LOGIN alice secret'),
                         r'^b1 NO \[AUTHENTICATIONFAILED\]')
        c.close()
        p = self.server.connect('pop3')
        p.line()
        self.assertTrue(p.cmd('USER alice').startswith('+OK'))
        self.assertTrue(p.cmd('PASS secret').startswith('-ERR'))
        p.close()
        self.server.wait_log(r'auth failed: user=<alice> rip=127\.0\.0\.1 '
                             r'service=pop3 reason=locked out')
        time.sleep(4.5)
        c = self.server.connect('imap')
        c.line()
        self.assertRegex(c.cmd('b2 LOGIN alice secret'), r'^b2 OK')
        c.close()


class PenaltyDefaults(harness.TestCase):
    """Without the keys the built-in defaults hold (50 failures)."""
    listeners = {}

    def test_defaults(self):
        state, ip = self.server.state_dir, '192.0.2.100'
        for i in range(3):
            ask(state, MSG_PLAIN, 'ghost%d' % i, b'x', rip=ip)
        r = ask(state, MSG_PLAIN, 'alice', b'secret', rip=ip)
        self.assertEqual(r['result'], PH_OK)


class PenaltyConfig(harness.TestCase):
    listeners = {}

    def check(self, keys):
        text = ('[core]\nplugin_dir = %s\nstate_dir = /tmp\n'
                '[auth]\nworkers = 2\n%s' % (harness.PLUGIN_DIR, keys))
        return harness.check_config(text)

    def test_printed(self):
        rc, out, err, _ = self.check('lockout_failures = 3\n'
                                     'penalty_max = 5s\n')
        self.assertEqual(rc, 0, err)
        for line in ('lockout_failures = 3', 'penalty_max = 5s',
                     'penalty_base = 1s', 'penalty_window = 15m',
                     'penalty_entries = 65536'):
            self.assertIn(line, out)

    def bad(self, keys, line, text):
        rc, out, err, path = self.check(keys)
        self.assertEqual(rc, 1, out)
        self.assertIn('%s:%d: [auth] %s' % (path, line, text), err)

    def test_max_too_large(self):
        self.bad('penalty_max = 31s\n', 6, 'penalty_max: must be at most')

    def test_base_over_max(self):
        self.bad('penalty_max = 2s\npenalty_base = 3s\n', 7,
                 'penalty_base: must not exceed penalty_max')

    def test_zero_window(self):
        self.bad('penalty_window = 0\n', 6, 'penalty_window: must be at')

    def test_entries(self):
        self.bad('penalty_entries = 0\n', 6, 'penalty_entries: must be')
        self.bad('penalty_entries = 16777217\n', 6,
                 'penalty_entries: must be')

    def test_lockout_range(self):
        self.bad('lockout_failures = 1000001\n', 6,
                 'lockout_failures: must be at most')

    def test_not_a_number(self):
        rc, out, err, path = self.check('lockout_failures = many\n')
        self.assertEqual(rc, 1)
        self.assertIn('%s:6:' % path, err)
        rc, out, err, path = self.check('penalty_base = 1 fortnight\n')
        self.assertEqual(rc, 1)
        self.assertIn('%s:6:' % path, err)


if __name__ == '__main__':
    harness.main()
