"""The auth service inside a real posthornd, spoken to over its UNIX socket
(<state_dir>/auth.sock) with the worker wire format (core/auth-proto.h):
results, the failure penalty, the per-IP lockout, the request table, and
the fail2ban filter against the daemon's own log lines."""

import base64
import hashlib
import hmac
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import harness

from authwire import *  # noqa: F401,F403 (wire format helpers)

FILTER = os.path.join(harness.SOURCE_DIR, 'dist', 'fail2ban', 'filter.d',
                      'posthorn.conf')


class AuthService(harness.TestCase):
    listeners = {'echo': dict(protocol='echo', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'secret'), ('bob', 'hunter2')]
    extra = {'auth-passwdfile': {'scram': 'yes'}}
    next_id = 1

    def connect(self):
        path = os.path.join(self.server.state_dir, 'auth.sock')
        deadline = time.time() + 10
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.05)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(10)
        s.connect(path)
        self.addCleanup(s.close)
        # every connection starts with the service's hello
        self.assertEqual(decode_hello(s.recv(65536)), 'SCRAM-SHA-256')
        return s

    def send(self, s, rtype, user, password=b'', **kw):
        AuthService.next_id += 1
        s.send(encode_request(rtype, AuthService.next_id, user, password,
                              **kw))
        return AuthService.next_id

    def ask(self, user, password, rip, rtype=MSG_PLAIN, scheme=''):
        s = self.connect()
        rid = self.send(s, rtype, user, password, rip=rip, scheme=scheme)
        t0 = time.time()
        r = decode_reply(s.recv(65536))
        r['elapsed'] = time.time() - t0
        self.assertEqual(r['id'], rid)
        return r

    def test_good_password(self):
        r = self.ask('alice', b'secret', '10.0.0.1')
        self.assertEqual(r['result'], PH_OK)
        self.assertEqual(r['delay_ms'], 0)
        self.assertEqual(r['record']['user'], 'alice')

    def test_bad_password(self):
        r = self.ask('bob', b'wrong', '10.0.0.2')
        self.assertEqual(r['result'], PH_EAUTH)
        self.assertNotIn('user', r['record'])

    def test_unknown_user(self):
        r = self.ask('nobody', b'x', '10.0.0.3')
        self.assertEqual(r['result'], PH_EUNKNOWN)

    def test_lookup(self):
        r = self.ask('bob', b'', '', rtype=MSG_LOOKUP)
        self.assertEqual(r['result'], PH_OK)
        self.assertEqual(r['record']['user'], 'bob')

    def test_secrets_never_served(self):
        # no stored secret leaves the service, {PLAIN} or SCRAM: workers
        # relay SCRAM steps instead
        for scheme in ('PLAIN', 'SCRAM-SHA-256'):
            r = self.ask('alice', b'', '', rtype=MSG_CREDENTIALS,
                         scheme=scheme)
            self.assertEqual(r['result'], PH_ENOTSUP)
            self.assertNotIn('credentials', r['record'])

    def test_scram_in_service(self):
        # the service runs the exchange: the worker sees the challenge,
        # the server-final message and the record, never the secret
        first, final, verified = scram(self.server.state_dir, 'alice',
                                       'secret', rip='198.51.100.8')
        self.assertEqual(first['result'], PH_OK)
        self.assertNotIn('credentials', first['record'])
        self.assertRegex(first['record']['scram_challenge'],
                         r'^r=[^,]+,s=[^,]+,i=\d+$')
        self.assertEqual(final['result'], PH_OK)
        self.assertEqual(final['record']['user'], 'alice')
        self.assertNotIn('credentials', final['record'])
        self.assertTrue(verified)
        self.server.wait_log(r'auth ok: user=<alice> rip=198\.51\.100\.8')

    def test_scram_wrong_proof_counted(self):
        # a failed proof is counted and logged by the service itself
        first, final, _ = scram(self.server.state_dir, 'bob', 'wrong',
                                rip='198.51.100.9')
        self.assertEqual(final['result'], PH_EAUTH)
        self.assertEqual(final['message'], 'authentication failed')
        line = self.server.wait_log(
            r'[^\n]*auth failed: user=<bob> rip=198\.51\.100\.9 '
            r'service=test reason=SCRAM-SHA-256 proof mismatch').group(0)
        self.check_filter([line], ['198.51.100.9'])
        # the exchange is gone: a replayed final finds nothing
        s, _ = connect(self.server.state_dir)
        s.send(encode_request(MSG_SCRAM_FINAL, 3, '1', b'c=biws,r=x,p=x'))
        self.assertEqual(decode_reply(s.recv(65536))['result'], PH_EAUTH)
        s.close()

    def test_scram_cbind_checked_in_service(self):
        # the worker hands the channel-binding state; the service applies
        # the downgrade rule
        cbind = bytes([1, 1, 12]) + b'tls-exporter' + bytes([32]) + \
            b'x' * 32
        first, _, _ = scram(self.server.state_dir, 'alice', 'secret',
                            gs2='y,,', cbind=cbind)
        self.assertEqual(first['result'], PH_EAUTH)
        self.assertEqual(first['message'],
                         'e=server-does-support-channel-binding')
        first, final, ok = scram(self.server.state_dir, 'alice', 'secret',
                                 mech='SCRAM-SHA-256-PLUS',
                                 gs2='p=tls-exporter,,', cb_data=b'x' * 32,
                                 cbind=cbind)
        self.assertTrue(ok)

    def test_malformed_cbind_closes(self):
        s, _ = connect(self.server.state_dir)
        s.send(encode_request(MSG_SCRAM_FIRST, 1, '', b'n,,n=a,r=b',
                              scheme='SCRAM-SHA-256', cbind=b'\x01\x05'))
        self.assertEqual(s.recv(100), b'')
        s.close()

    def test_unknown_request_type_closes(self):
        s = self.connect()
        s.send(struct.pack('=III', 77, 0, 1))
        self.assertEqual(s.recv(100), b'')

    def test_malformed_request_closes(self):
        s = self.connect()
        good = encode_request(MSG_PLAIN, 5, 'alice', b'secret')
        s.send(good[:-3])  # truncated payload, header length now wrong
        self.assertEqual(s.recv(100), b'')

    def test_penalty_and_lockout(self):
        ip = '192.0.2.50'
        s = self.connect()
        ids = [self.send(s, MSG_PLAIN, 'u%d' % i, b'bad', rip=ip)
               for i in range(50)]
        replies = [decode_reply(s.recv(65536)) for _ in ids]
        self.assertEqual(sorted(r['id'] for r in replies), sorted(ids))
        self.assertTrue(all(r['result'] == PH_EUNKNOWN for r in replies))
        # the penalty grows with each failure, in the order answered
        delays = [r['delay_ms'] for r in replies]
        self.assertEqual(delays[:6], [0, 1000, 2000, 4000, 8000, 15000])
        self.assertEqual(set(delays[5:]), {15000})
        # a good login from elsewhere is answered at once, undelayed
        r = self.ask('alice', b'secret', '192.0.2.51')
        self.assertEqual(r['result'], PH_OK)
        self.assertEqual(r['delay_ms'], 0)
        self.assertLess(r['elapsed'], 1.0)
        # the attacking address is now locked out, even with the password
        r = self.ask('alice', b'secret', ip)
        self.assertEqual(r['result'], PH_EAUTH)
        self.assertEqual(r['message'], 'locked out')
        self.assertEqual(r['delay_ms'], 15000)
        self.server.wait_log(r'auth failed: user=<alice> rip=192\.0\.2\.50 '
                             r'service=test reason=locked out')

    def test_failure_log_line(self):
        self.ask('alice', b'nope', '198.51.100.7')
        line = self.server.wait_log(
            r'[^\n]*auth failed: user=<alice> rip=198\.51\.100\.7 '
            r'service=test reason=auth-passwdfile: password mismatch[^\n]*'
        ).group(0)
        self.assertNotIn('nope', self.server.log_text())
        self.check_filter([line], ['198.51.100.7'])

    def test_forged_user_name(self):
        self.ask('x> rip=6.6.6.6 service=y reason=z\x01', b'p',
                 '198.51.100.8')
        line = self.server.wait_log(
            r'[^\n]*auth failed: user=<x\? rip=6\.6\.6\.6[^\n]*').group(0)
        self.assertIn('rip=198.51.100.8', line)
        self.check_filter([line], ['198.51.100.8'])

    def check_filter(self, lines, hosts):
        """The shipped filter finds exactly `hosts` in `lines`: with
        fail2ban-regex when installed, else Python re on the same
        failregex."""
        if shutil.which('fail2ban-regex'):
            with tempfile.NamedTemporaryFile('w', suffix='.log') as f:
                f.write('\n'.join(lines) + '\n')
                f.flush()
                out = subprocess.run(
                    ['fail2ban-regex', '-o', 'ip', f.name, FILTER],
                    capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertEqual(out.stdout.split(), hosts, out.stdout)
        else:
            found = [h for h in (filter_host(ln) for ln in lines) if h]
            self.assertEqual(found, hosts)

    def test_filter_not_fooled_by_other_lines(self):
        # a user name a worker logs must never plant a ban of someone else
        lines = [
            '2026-11-27T00:29:42.937Z posthornd[23024] worker 1: info: '
            'Xk3f 1.2.3.4: login failed: user=x posthornd[1] auth: auth '
            'failed: user=<a> rip=6.6.6.6 service=x reason=y',
            'Nov 27 00:40:01 mx posthornd[812]: worker 1: Xk3f 1.2.3.4: '
            'login failed: user=posthornd[1] auth: auth failed: user=<a> '
            'rip=6.6.6.6 service=x reason=y',
            'Nov 27 00:40:01 mx posthornd[812]: auth: auth failed: '
            'user=<bob> rip=192.0.2.7 service=imap4 reason=locked out',
        ]
        self.check_filter(lines, ['192.0.2.7'])


def filter_host(line):
    """What the shipped filter bans for `line` (None: no match),
    evaluated with Python re the way fail2ban does: date removed,
    prefregex, then failregex on its F-CONTENT."""
    text = open(FILTER).read()
    pref = re.search(r'^prefregex = (.*)$', text, re.M).group(1)
    fail = re.search(r'^failregex = (.*)$', text, re.M).group(1)
    pref = pref.replace('%(_daemon)s', 'posthornd')
    pref = pref.replace('<F-CONTENT>', '(?P<content>')
    pref = pref.replace('</F-CONTENT>', ')')
    fail = fail.replace('<HOST>', r'(?P<host>[0-9a-fA-F.:]+)')
    fail = re.sub(r'</?F-USER>', '', fail)
    line = re.sub(r'^(\d{4}-\d\d-\d\dT[\d:.]+Z|\w{3} +\d+ [\d:]+)',
                  '', line)
    m = re.match(pref, line)
    m = m and re.match(fail, m.group('content'))
    return m.group('host') if m else None

if __name__ == '__main__':
    harness.main()
