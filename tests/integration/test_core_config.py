"""posthornd -t: prints the effective configuration, or exits 1 with
FILE:LINE for each kind of broken configuration."""
import os
import subprocess
import tempfile

import harness

CERT_DIR = tempfile.mkdtemp(prefix='posthorn-cfgtest-')
CERT, KEY = harness.make_cert(CERT_DIR)
HEAD = '[core]\nplugin_dir = %s\nworkers = 1\n' % harness.PLUGIN_DIR


class CheckConfig(harness.unittest.TestCase):

    def check_bad(self, body, line, text):
        rc, out, err, path = harness.check_config(HEAD + body)
        self.assertEqual(rc, 1, err)
        self.assertIn('%s:%d: ' % (path, line), err)
        self.assertIn(text, err)
        self.assertNotIn('is ok', err)

    def test_good_prints_effective_config(self):
        rc, out, err, path = harness.check_config(
            HEAD + '[listener.e]\nprotocol = echo\n'
            'listen = 127.0.0.1:1, [::1]:1\ntls = starttls\n'
            'cert = %s\nkey = %s\n[echo]\ngreeting = hi\n' % (CERT, KEY))
        self.assertEqual(rc, 0, err)
        self.assertIn('configuration %s is ok' % path, err)
        self.assertIn('[core]\nplugin_dir = %s\n' % harness.PLUGIN_DIR, out)
        self.assertIn('max_connections = 10000\n', out)  # a default
        self.assertIn('[listener.e]\nprotocol = echo\n', out)
        self.assertIn('tls = starttls\n', out)
        self.assertIn('[echo]\ngreeting = hi\n', out)

    def test_plugin_defaults_printed(self):
        rc, out, err, path = harness.check_config(
            HEAD + '[listener.e]\nprotocol = echo\nlisten = 127.0.0.1:1\n')
        self.assertEqual(rc, 0, err)
        self.assertIn('[echo]\ngreeting = echo ready\n', out)

    def test_unknown_key(self):
        self.check_bad('max_conections = 5\n', 4,
                       "unknown key 'max_conections' in [core]")

    def test_bad_value(self):
        self.check_bad('idle_timeout = forever\n', 4,
                       'idle_timeout: bad value')

    def test_missing_cert_implicit(self):
        self.check_bad('[listener.e]\nprotocol = echo\n'
                       'listen = 127.0.0.1:1\ntls = implicit\n', 7,
                       "tls = implicit needs both 'cert' and 'key'")

    def test_cert_file_not_found(self):
        self.check_bad('[listener.e]\nprotocol = echo\n'
                       'listen = 127.0.0.1:1\ntls = implicit\n'
                       'cert = /nonexistent.pem\nkey = %s\n' % KEY, 8,
                       'cannot load cert /nonexistent.pem')

    def test_bad_cipher_list(self):
        self.check_bad('[listener.e]\nprotocol = echo\n'
                       'listen = 127.0.0.1:1\ntls = implicit\n'
                       'cert = %s\nkey = %s\nciphers = NO-SUCH-CIPHER\n'
                       % (CERT, KEY), 10, '[listener.e] ciphers')

    def test_key_not_matching_cert(self):
        other_cert, other_key = harness.make_cert(
            tempfile.mkdtemp(prefix='posthorn-cfgtest-'))
        self.check_bad('[listener.e]\nprotocol = echo\n'
                       'listen = 127.0.0.1:1\ntls = implicit\n'
                       'cert = %s\nkey = %s\n' % (CERT, other_key), 9,
                       'cannot load key')

    def test_duplicate_listener(self):
        self.check_bad('[listener.e]\nprotocol = echo\nlisten = 127.0.0.1:1\n'
                       '[listener.e]\nprotocol = echo\n', 7,
                       'duplicate section [listener.e]')

    def test_bad_address(self):
        self.check_bad('[listener.e]\nprotocol = echo\n'
                       'listen = 127.0.0.1:1, 127.0.0.1\n', 6,
                       "bad address '127.0.0.1'")

    def test_missing_plugin(self):
        self.check_bad('[listener.e]\nprotocol = nosuchproto\n'
                       'listen = 127.0.0.1:1\n', 5,
                       "cannot load protocol plugin 'nosuchproto'")

    def test_plugin_unknown_key(self):
        self.check_bad('[listener.e]\nprotocol = echo\nlisten = 127.0.0.1:1\n'
                       '[echo]\ngreting = x\n', 8,
                       "unknown key 'greting' in [echo]")

    def test_listener_plugin_key_validated(self):
        self.check_bad('[listener.e]\nprotocol = echo\nlisten = 127.0.0.1:1\n'
                       'greating = x\n', 7,
                       "unknown key 'greating' in [listener.e]")

    def test_unknown_section(self):
        self.check_bad('[listener.e]\nprotocol = echo\nlisten = 127.0.0.1:1\n'
                       '[ecko]\ngreeting = x\n', 7, 'unknown section [ecko]')

    def test_unknown_user(self):
        self.check_bad('user = no-such-user-here\n', 4,
                       '[core] user: no such user')

    def test_missing_file(self):
        p = subprocess.run([harness.POSTHORND, '-t', '-c', '/nonexistent.ini'],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn('/nonexistent.ini: cannot open', p.stderr)

    def test_daemon_refuses_broken_config(self):
        d = tempfile.mkdtemp(prefix='posthorn-cfgtest-')
        path = os.path.join(d, 'p.ini')
        with open(path, 'w') as f:
            f.write(HEAD + 'workers = 2\n')
        p = subprocess.run([harness.POSTHORND, '-c', path],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 1)
        self.assertIn('%s:4: duplicate key' % path, p.stderr)

    def test_version(self):
        p = subprocess.run([harness.POSTHORND, '--version'],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r'^posthornd \d+\.\d+\.\d+ \(plugin ABI '
                                   r'1\.2\)')


if __name__ == '__main__':
    harness.main()
