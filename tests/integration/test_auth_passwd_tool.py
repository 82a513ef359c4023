"""posthorn-passwd: its hashes are what crypt(3) and RFC 5802 say, and a
passwd-file written with them (re-read by the running daemon when it
changes) lets those users in through the auth service."""

import base64
import hashlib
import hmac
import os
import re
import subprocess
import time

import harness
from authwire import MSG_PLAIN, PH_EAUTH, PH_OK, ask, scram

TOOL = os.path.join(harness.BUILD_DIR, 'bin', 'posthorn-passwd')


def tool(stdin, *args):
    return subprocess.run([TOOL] + list(args), input=stdin,
                          capture_output=True, text=True, timeout=30)


class PasswdTool(harness.TestCase):
    listeners = {'echo': dict(protocol='echo', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'secret')]
    extra = {'auth-passwdfile': {'scram': 'yes'}}

    def test_crypt_hash(self):
        out = tool('s3cret pw\n')
        self.assertEqual(out.returncode, 0, out.stderr)
        line = out.stdout.strip()
        self.assertRegex(line, r'^\{CRYPT\}\$y\$[./A-Za-z0-9]+\$'
                         r'[./A-Za-z0-9]+\$[./A-Za-z0-9]{43}$')
        self.assertNotIn('s3cret', out.stdout + out.stderr)
        # two runs: two salts
        self.assertNotEqual(line, tool('s3cret pw\n').stdout.strip())

    def test_scram_secret(self):
        out = tool('pencil\n', '-s', 'SCRAM-SHA-256')
        self.assertEqual(out.returncode, 0, out.stderr)
        m = re.match(r'^\{SCRAM-SHA-256\}(\d+),([^,]+),([^,]+),([^,]+)$',
                     out.stdout.strip())
        self.assertIsNotNone(m, out.stdout)
        iters, salt, stored, server = m.groups()
        salted = hashlib.pbkdf2_hmac('sha256', b'pencil',
                                     base64.b64decode(salt), int(iters))
        ckey = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
        skey = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
        self.assertEqual(base64.b64decode(stored),
                         hashlib.sha256(ckey).digest())
        self.assertEqual(base64.b64decode(server), skey)

    def test_confirm_mismatch(self):
        out = tool('one\ntwo\n', '-n')
        self.assertEqual(out.returncode, 1)
        self.assertEqual(out.stdout, '')

    def test_confirm_match(self):
        out = tool('one\none\n', '-n')
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith('{CRYPT}$y$'))

    def test_empty_input(self):
        self.assertEqual(tool('').returncode, 1)

    def test_bad_scheme(self):
        self.assertEqual(tool('x\n', '-s', 'MD5').returncode, 2)

    def test_users_file_reloaded_and_used(self):
        crypt_line = tool('carol pw\n').stdout.strip()
        scram_line = tool('pencil\n', '-s', 'SCRAM-SHA-256').stdout.strip()
        state = self.server.state_dir
        self.assertEqual(ask(state, MSG_PLAIN, 'carol', b'carol pw')['result'],
                         -15)
        with open(self.server.users_file + '.new', 'w') as f:
            f.write('carol:%s::::/home/carol:: mail=/srv/carol\n'
                    'dave:%s\n' % (crypt_line, scram_line))
        os.rename(self.server.users_file + '.new', self.server.users_file)
        r = ask(state, MSG_PLAIN, 'carol', b'carol pw')
        self.assertEqual(r['result'], PH_OK)
        self.assertEqual(r['record']['mail'], '/srv/carol')
        self.assertEqual(ask(state, MSG_PLAIN, 'carol', b'carol pX',
                             rip='203.0.113.1')['result'], PH_EAUTH)
        # a SCRAM secret also verifies plaintext logins...
        self.assertEqual(ask(state, MSG_PLAIN, 'dave', b'pencil')['result'],
                         PH_OK)
        # ...and is what the service's SCRAM uses (its salt and rounds)
        first, final, verified = scram(state, 'dave', 'pencil')
        salt, iters = scram_line.split(',')[1], scram_line.split(',')[0]
        self.assertIn(',s=%s,i=%s' % (salt, iters.split('}')[1]),
                      first['record']['scram_challenge'])
        self.assertEqual(final['result'], PH_OK)
        self.assertTrue(verified)
        self.server.wait_log(r'users: 2 users')


if __name__ == '__main__':
    harness.main()
