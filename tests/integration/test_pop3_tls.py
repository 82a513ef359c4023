"""POP3 with TLS and real clients: STLS (RFC 2595), implicit TLS (pop3s),
AUTH PLAIN (RFC 5034), the plaintext policy, curl and getmail/fetchmail."""

import base64
import email
import email.policy
import os
import poplib
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from test_pop3 import (SIMPLE, corpus_messages, expected_retr, joined,
                       need_storage)

poplib._MAXLINE = 1 << 20


def plain_ir(user, password):
    return base64.b64encode(b'\0' + user.encode() + b'\0' +
                            password.encode()).decode()


def well_formed(name, m):
    """Messages mail fetchers store unchanged: a header first, short lines
    (getmail re-serializes headers with Python's email package, which
    refolds long ones), no stray CR, not from the broken-mail folders."""
    lines = m.replace(b'\r\n', b'\n').split(b'\n')
    return (re.match(rb'^[!-9;-~]+:', m) is not None and
            max(len(x) for x in lines) <= 76 and
            b'\r' not in m.replace(b'\r\n', b'') and
            'error' not in name and 'low-quality' not in name)


class Pop3Tls(harness.TestCase):
    listeners = {
        'pop3': dict(protocol='pop3', tls='starttls', allow_plaintext='no'),
        'pop3s': dict(protocol='pop3', tls='implicit', allow_plaintext='no'),
        'pop3plain': dict(protocol='pop3', tls='none', allow_plaintext='yes'),
    }
    users = [('alice', 'secret'), ('bob', 'hunter2'), ('carol', 'pw3'),
             ('dave', 'pw4'), ('erin', 'pw4x'), ('frank', 'pw6'),
             ('gus', 'pw7')]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.server.use_storage:
            for m in SIMPLE:
                harness.deliver(cls.server, 'alice', m)

    def test_capa_before_and_after_stls(self):
        c = self.server.connect('pop3')
        self.assertTrue(c.line().startswith('+OK'))
        c.send('CAPA\r\n')
        capa = []
        while True:
            line = c.line()
            if line == '.':
                break
            capa.append(line)
        self.assertIn('STLS', capa)
        self.assertNotIn('USER', capa)
        self.assertFalse(any(x.startswith('SASL') for x in capa))
        self.assertEqual(c.cmd('STLS'), '+OK Begin TLS negotiation now')
        c.starttls(self.server.ssl_context())
        c.send('CAPA\r\n')
        capa = []
        while True:
            line = c.line()
            if line == '.':
                break
            capa.append(line)
        self.assertNotIn('STLS', capa)
        self.assertIn('USER', capa)
        self.assertIn('PLAIN', [x for x in capa if x.startswith('SASL')][0])
        self.assertEqual(c.cmd('STLS'), '-ERR TLS is already active')
        c.close()

    def test_user_refused_before_stls(self):
        c = self.server.connect('pop3')
        c.line()
        self.assertEqual(c.cmd('USER alice'),
                         '-ERR [AUTH] Plaintext authentication disallowed '
                         'on non-secure (SSL/TLS) connections')
        self.assertTrue(c.cmd('AUTH PLAIN ' + plain_ir('alice', 'secret'))
                        .startswith('-ERR [AUTH] Plaintext'))
        self.assertEqual(c.cmd('QUIT'), '+OK Logging out')
        c.close()

    def test_stls_injection_discarded(self):
        c = self.server.connect('pop3')
        c.line()
        c.send('STLS\r\nCAPA\r\n')
        self.assertEqual(c.line(), '+OK Begin TLS negotiation now')
        c.starttls(self.server.ssl_context())
        self.assertEqual(c.cmd('NOOP'),
                         '-ERR NOOP not valid in AUTHORIZATION state')
        c.close()

    def test_stls_then_auth_plain(self):
        need_storage(self.server)
        c = self.server.connect('pop3')
        c.line()
        self.assertEqual(c.cmd('STLS'), '+OK Begin TLS negotiation now')
        c.starttls(self.server.ssl_context())
        self.assertEqual(c.cmd('AUTH PLAIN ' + plain_ir('alice', 'wrong')),
                         '-ERR [AUTH] Authentication failed')
        self.assertTrue(c.cmd('AUTH PLAIN ' + plain_ir('alice', 'secret'))
                        .startswith('+OK Logged in'))
        self.assertRegex(c.cmd('STAT'), r'^\+OK 3 \d+$')
        self.assertTrue(c.cmd('QUIT').startswith('+OK'))
        c.close()

    def test_auth_plain_continuation(self):
        need_storage(self.server)
        c = self.server.connect_tls('pop3s')
        self.assertTrue(c.line().startswith('+OK'))
        self.assertEqual(c.cmd('AUTH PLAIN'), '+ ')
        self.assertTrue(c.cmd('*').startswith('-ERR'))
        self.assertEqual(c.cmd('AUTH PLAIN'), '+ ')
        self.assertTrue(c.cmd(plain_ir('bob', 'hunter2'))
                        .startswith('+OK Logged in'))
        self.assertTrue(c.cmd('QUIT').startswith('+OK'))
        c.close()

    def test_auth_login(self):
        need_storage(self.server)
        c = self.server.connect_tls('pop3s')
        c.line()
        b64 = lambda x: base64.b64encode(x.encode()).decode()
        self.assertEqual(c.cmd('AUTH LOGIN'), '+ ' + b64('Username:'))
        self.assertEqual(c.cmd(b64('carol')), '+ ' + b64('Password:'))
        self.assertTrue(c.cmd(b64('pw3')).startswith('+OK Logged in'))
        self.assertTrue(c.cmd('QUIT').startswith('+OK'))
        c.close()

    def test_auth_bad_base64(self):
        c = self.server.connect_tls('pop3s')
        c.line()
        self.assertTrue(c.cmd('AUTH PLAIN !!!notbase64').startswith('-ERR'))
        self.assertEqual(c.cmd('AUTH PLAIN'), '+ ')
        self.assertTrue(c.cmd('%%%').startswith('-ERR'))
        self.assertEqual(c.cmd('CAPA'), '+OK Capability list follows')
        c.close()

    def test_poplib_stls_and_pop3s(self):
        need_storage(self.server)
        p = poplib.POP3(self.server.host, self.server.port('pop3'))
        p.stls(self.server.ssl_context())
        p.user('alice')
        p.pass_('secret')
        self.assertEqual(p.stat()[0], 3)
        p.quit()
        p = poplib.POP3_SSL(self.server.host, self.server.port('pop3s'),
                            context=self.server.ssl_context())
        p.user('alice')
        p.pass_('secret')
        _, lines, _ = p.retr(1)
        self.assertIn(b'Subject:', b'\n'.join(lines))
        p.quit()

    def test_large_retr_over_tls(self):
        need_storage(self.server)
        body = b'Subject: large\n\n' + b''.join(
            b'.%06d line of a large message over TLS\n' % i
            for i in range(200000))
        harness.deliver(self.server, 'carol', body)
        p = poplib.POP3_SSL(self.server.host, self.server.port('pop3s'),
                            context=self.server.ssl_context())
        p.user('carol')
        p.pass_('pw3')
        _, lines, _ = p.retr(1)
        self.assertEqual(b''.join(l + b'\r\n' for l in lines),
                         expected_retr(body))
        p.quit()

    def test_client_never_reads_tls(self):
        """A 30 MB RETR over TLS the client does not read: the worker's
        RSS stays bounded, then the whole message arrives intact."""
        need_storage(self.server)
        line = b'z' * 76 + b'\n'
        body = b'Subject: big TLS\n\n' + line * (30 * 1024 * 1024 // 77)
        harness.deliver(self.server, 'gus', body)
        pid = int(re.findall(r'posthornd\[(\d+)\] worker 1:',
                             self.server.log_text())[-1])
        p = poplib.POP3_SSL(self.server.host, self.server.port('pop3s'),
                            context=self.server.ssl_context())
        p.user('gus')
        p.pass_('pw7')
        before = harness.rss_kb(pid)
        p._putcmd('RETR 1')
        time.sleep(2)
        peak = max(harness.rss_kb(pid) for _ in range(5))
        self.assertLess(peak - before, 16 * 1024,
                        'worker RSS grew from %d to %d kB' % (before, peak))
        resp, lines, _ = p._getlongresp()
        self.assertTrue(resp.startswith(b'+OK'))
        self.assertEqual(len(lines), 2 + 30 * 1024 * 1024 // 77)
        self.assertEqual(joined(lines), expected_retr(body))
        p.quit()

    def test_wire_form_over_tls(self):
        """A CR LF message RETR'd twice over TLS: the second time as a
        file range, which TLS connections send in chunks."""
        wire = b'Subject: wire over TLS\r\n\r\n' + b''.join(
            b'%06d a wire-form line\r\n' % i for i in range(100000))
        need_storage(self.server)
        harness.deliver(self.server, 'frank', wire)
        p = poplib.POP3_SSL(self.server.host, self.server.port('pop3s'),
                            context=self.server.ssl_context())
        p.user('frank')
        p.pass_('pw6')
        for _ in range(3):
            self.assertEqual(joined(p.retr(1)[1]), wire)
        p.quit()
        self.server.wait_log(r'RETR 1: %d octets queued as a file range' %
                             len(wire))

    # ---- curl ----

    def curl(self, url, *args):
        cmd = ['curl', '-sS', '--max-time', '60', '-u', 'alice:secret',
               url] + list(args)
        p = subprocess.run(cmd, capture_output=True, timeout=90)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return p.stdout

    def test_curl_pop3(self):
        need_storage(self.server)
        out = self.curl('pop3://127.0.0.1:%d/' %
                        self.server.port('pop3plain'))
        self.assertEqual(len(out.splitlines()), 3)  # LIST
        msg = self.curl('pop3://127.0.0.1:%d/1' %
                        self.server.port('pop3plain'))
        self.assertIn(msg, [expected_retr(m) for m in SIMPLE])

    def test_curl_pop3s(self):
        need_storage(self.server)
        msg = self.curl('pop3s://127.0.0.1:%d/2' % self.server.port('pop3s'),
                        '--cacert', self.server.ca_file)
        self.assertIn(msg, [expected_retr(m) for m in SIMPLE])

    def test_curl_stls_required(self):
        need_storage(self.server)
        msg = self.curl('pop3://127.0.0.1:%d/3' % self.server.port('pop3'),
                        '--ssl-reqd', '--cacert', self.server.ca_file)
        self.assertIn(msg, [expected_retr(m) for m in SIMPLE])

    # ---- mail fetchers ----

    def fill_corpus(self, user):
        need_storage(self.server)
        msgs = [m for name, m in corpus_messages() if well_formed(name, m)]
        self.assertGreater(len(msgs), 60)
        msgs = msgs[:60]
        for m in msgs:
            harness.deliver(self.server, user, m)
        return msgs

    @unittest.skipUnless(shutil.which('getmail'), 'getmail not installed')
    def test_getmail_downloads_everything_once(self):
        msgs = self.fill_corpus('dave')
        d = tempfile.mkdtemp(prefix='getmail-')
        try:
            md = os.path.join(d, 'Maildir')
            for sub in ('cur', 'new', 'tmp'):
                os.makedirs(os.path.join(md, sub))
            rc = os.path.join(d, 'getmailrc')
            with open(rc, 'w') as f:
                f.write('[retriever]\ntype = SimplePOP3SSLRetriever\n'
                        'server = 127.0.0.1\nport = %d\nusername = dave\n'
                        'password = pw4\nca_certs = %s\n\n'
                        '[destination]\ntype = MDA_external\n'
                        'path = /bin/sh\nallow_root_commands = true\n'
                        'arguments = ("-c", "cat > %s/new/msg.$$")\n'
                        'unixfrom = false\n\n'
                        '[options]\nread_all = true\ndelete = false\n'
                        'delivered_to = false\nreceived = false\n'
                        'verbose = 0\n' %
                        (self.server.port('pop3s'), self.server.ca_file, md))
            p = subprocess.run(['getmail', '--getmaildir', d, '--rcfile', rc],
                               capture_output=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr.decode() +
                             p.stdout.decode())
            got = []
            for sub in ('new', 'cur'):
                for name in os.listdir(os.path.join(md, sub)):
                    with open(os.path.join(md, sub, name), 'rb') as f:
                        got.append(f.read())
            self.assertEqual(len(got), len(msgs))
            # getmail re-serializes messages with Python's email package
            # (refolds headers, rewrites MIME framing): compare contents.
            self.assertEqual(sorted(map(self.leaf_parts, got)),
                             sorted(map(self.leaf_parts, msgs)))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    @staticmethod
    def drop_fetchmail_received(m):
        """The message without the Received field fetchmail adds."""
        lines = m.split(b'\n')
        for i, line in enumerate(lines):
            if line.startswith(b'Received: from localhost') and \
                    b'(fetchmail-' in lines[i + 1]:
                j = i + 1
                while lines[j][:1] in (b' ', b'\t'):
                    j += 1
                return b'\n'.join(lines[:i] + lines[j:])
        raise AssertionError('no fetchmail Received field')

    @staticmethod
    def leaf_parts(m):
        """Content type and decoded payload of every leaf part."""
        msg = email.message_from_bytes(m.replace(b'\r\n', b'\n'),
                                       policy=email.policy.compat32)
        return [(p.get_content_type(),
                 (p.get_payload(decode=True) or b'').strip())
                for p in msg.walk() if not p.is_multipart()]

    @staticmethod
    def comparable(m):
        """LF text without Return-Path: getmail hands its MDA LF text
        with a Return-Path line of its own."""
        lines = m.replace(b'\r\n', b'\n').rstrip(b'\n').split(b'\n')
        return b'\n'.join(x for x in lines if not x.startswith(b'Return-Path:'))

    @unittest.skipUnless(shutil.which('fetchmail'), 'fetchmail not installed')
    def test_fetchmail_downloads_everything_once(self):
        msgs = self.fill_corpus('erin')
        d = tempfile.mkdtemp(prefix='fetchmail-')
        try:
            out = os.path.join(d, 'out')
            os.makedirs(out)
            rc = os.path.join(d, 'fetchmailrc')
            with open(rc, 'w') as f:
                f.write('poll localhost protocol pop3 port %d '
                        'bad-header accept\n'
                        '  user erin password pw4x is erin here\n'
                        '  ssl sslcertck sslcertfile %s keep fetchall '
                        'norewrite\n'
                        '  mda "/bin/sh -c \'cat > %s/msg.$$\'"\n' %
                        (self.server.port('pop3s'), self.server.ca_file,
                         out))
            os.chmod(rc, 0o600)
            env = dict(os.environ, HOME=d, FETCHMAILHOME=d)
            p = subprocess.run(['fetchmail', '-f', rc, '--nosyslog',
                                '--pidfile', os.path.join(d, 'pid')],
                               capture_output=True, timeout=120, env=env)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            got = []
            for name in os.listdir(out):
                with open(os.path.join(out, name), 'rb') as f:
                    got.append(f.read().replace(b'\r\n', b'\n'))
            self.assertEqual(len(got), len(msgs), p.stdout.decode() +
                             p.stderr.decode())
            # fetchmail adds a Received: line on top, drops Return-Path
            # and hands LF text to the MDA: compare the rest.
            got = sorted(self.comparable(self.drop_fetchmail_received(g))
                         for g in got)
            self.assertEqual(got, sorted(map(self.comparable, msgs)))
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == '__main__':
    harness.main()
