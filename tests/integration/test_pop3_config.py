"""POP3 settings: validated by posthornd -t with file:line, advertised in
CAPA, per-listener overrides."""

import poplib

import harness

BASE = ('[core]\nplugin_dir = %s\n[pop3]\n%s\n[listener.pop3]\n'
        'protocol = pop3\nlisten = 127.0.0.1:11110\n')


def check(line):
    return harness.check_config(BASE % (harness.PLUGIN_DIR, line))


class Pop3ConfigCheck(harness.TestCase):
    def test_good_values(self):
        for line in ('expire = 30d', 'expire = 0', 'expire_never = yes',
                     'idle_timeout = 2m', 'login_delay = 15m',
                     'mark_seen = no', 'implementation = yes'):
            rc, _, err, _ = check(line)
            self.assertEqual(rc, 0, '%s: %s' % (line, err))

    def test_bad_expire(self):
        rc, _, err, path = check('expire = soon')
        self.assertEqual(rc, 1)
        self.assertIn('%s:4:' % path, err)
        self.assertIn('expire', err)

    def test_bad_bool(self):
        rc, _, err, path = check('mark_seen = maybe')
        self.assertEqual(rc, 1)
        self.assertIn('%s:4:' % path, err)

    def test_unknown_key(self):
        rc, _, err, path = check('apop = yes')
        self.assertEqual(rc, 1)
        self.assertIn("unknown key 'apop'", err)


class Pop3CapaSettings(harness.TestCase):
    listeners = {
        'pop3': dict(protocol='pop3', tls='none', allow_plaintext='yes'),
        'pop3b': dict(protocol='pop3', tls='none', allow_plaintext='yes',
                      expire_never='yes', implementation='no'),
    }
    extra = {'pop3': {'expire': '30d', 'login_delay': '15m',
                      'implementation': 'yes'}}

    def capa(self, listener):
        p = poplib.POP3(self.server.host, self.server.port(listener))
        capa = p.capa()
        p.quit()
        return capa

    def test_plugin_section(self):
        capa = self.capa('pop3')
        self.assertEqual(capa['EXPIRE'], ['30'])
        self.assertEqual(capa['LOGIN-DELAY'], ['900'])
        self.assertEqual(capa['IMPLEMENTATION'][0][:9], 'Posthorn-')
        self.assertEqual(capa['UTF8'], ['USER'])

    def test_listener_override(self):
        capa = self.capa('pop3b')
        self.assertEqual(capa['EXPIRE'], ['NEVER'])
        self.assertEqual(capa['LOGIN-DELAY'], ['900'])
        self.assertNotIn('IMPLEMENTATION', capa)


if __name__ == '__main__':
    harness.main()
