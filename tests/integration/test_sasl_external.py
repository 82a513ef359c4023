"""SASL EXTERNAL with TLS client certificates (RFC 4422 appendix A),
configured per listener: tls_client_ca, tls_client_cert, tls_cert_username.
A CA and client certificates are made with openssl for the test.

Decisions under test: EXTERNAL is advertised only once a verified client
certificate names a user; with tls_client_cert = optional a certificate
from another CA still completes the handshake but EXTERNAL is refused,
with = required the handshake itself is refused."""

import base64
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile

import harness
from sasltls import pop3_sasl_mechs

CERT_DIR = None


def openssl(*args):
    subprocess.run(['openssl'] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d, name):
    key, pem = os.path.join(d, name + '.key'), os.path.join(d, name + '.pem')
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt',
            'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key,
            '-out', pem, '-days', '2', '-subj', '/CN=' + name)
    return pem, key


def make_client(d, name, ca, subject, san=None):
    key, csr = os.path.join(d, name + '.key'), os.path.join(d, name + '.csr')
    pem, ext = os.path.join(d, name + '.pem'), os.path.join(d, name + '.ext')
    openssl('req', '-newkey', 'ec', '-pkeyopt',
            'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key,
            '-out', csr, '-subj', subject)
    with open(ext, 'w') as f:
        f.write('basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n')
        if san:
            f.write('subjectAltName=%s\n' % san)
    openssl('x509', '-req', '-in', csr, '-CA', ca[0], '-CAkey', ca[1],
            '-CAcreateserial', '-out', pem, '-days', '2', '-extfile', ext)
    return pem, key


def make_crl(d, name, ca, revoked):
    """A PEM CRL of `ca` revoking the certificate files `revoked`, made
    with `openssl ca` and a database of its own."""
    db = os.path.join(d, name + '.db')
    cnf = os.path.join(d, name + '.cnf')
    crl = os.path.join(d, name + '.pem')
    open(db, 'w').close()
    with open(cnf, 'w') as f:
        f.write('[ca]\ndefault_ca = d\n[d]\ndatabase = %s\n'
                'default_md = sha256\ndefault_crl_days = 2\n' % db)
    for pem in revoked:
        openssl('ca', '-config', cnf, '-keyfile', ca[1], '-cert', ca[0],
                '-revoke', pem)
    openssl('ca', '-config', cnf, '-keyfile', ca[1], '-cert', ca[0],
            '-gencrl', '-out', crl)
    return crl


def setup_certs():
    global CERT_DIR
    CERT_DIR = tempfile.mkdtemp(prefix='posthorn-certs-')
    os.chmod(CERT_DIR, 0o755)
    ca = make_ca(CERT_DIR, 'ca')
    other = make_ca(CERT_DIR, 'otherca')
    certs = {
        'alice': make_client(CERT_DIR, 'alice', ca, '/CN=alice',
                             'email:alice@example.com'),
        'mallory': make_client(CERT_DIR, 'mallory', ca, '/CN=mallory'),
        'forged': make_client(CERT_DIR, 'forged', other, '/CN=alice'),
        'twocn': make_client(CERT_DIR, 'twocn', ca, '/CN=alice/CN=bob'),
    }
    crls = {
        'mallory': make_crl(CERT_DIR, 'crl-mallory', ca,
                            [certs['mallory'][0]]),
        'both': make_crl(CERT_DIR, 'crl-both', ca,
                         [certs['mallory'][0], certs['alice'][0]]),
    }
    for name in os.listdir(CERT_DIR):
        os.chmod(os.path.join(CERT_DIR, name), 0o644)
    return ca[0], certs, crls


CA_FILE, CERTS, CRLS = setup_certs()


def tls_connect(server, name, cert=None):
    """A TLS client of listener `name`, showing client certificate
    `cert` (a key of CERTS) or none."""
    ctx = server.ssl_context()
    if cert:
        ctx.load_cert_chain(*CERTS[cert])
    s = socket.create_connection((server.host, server.port(name)), 10)
    return harness.LineClient(ctx.wrap_socket(s, server_hostname='localhost'))


def b64(text):
    return base64.b64encode(text.encode()).decode()


class External(harness.TestCase):
    listeners = {
        'imaps': dict(protocol='imap4', tls='implicit', tls_client_ca=CA_FILE),
        'pop3s': dict(protocol='pop3', tls='implicit', tls_client_ca=CA_FILE),
        'imapreq': dict(protocol='imap4', tls='implicit',
                        tls_client_ca=CA_FILE, tls_client_cert='required'),
        'imapmail': dict(protocol='imap4', tls='implicit',
                         tls_client_ca=CA_FILE, tls_cert_username='email'),
        'imapstls': dict(protocol='imap4', tls='starttls',
                         tls_client_ca=CA_FILE),
        'plainimaps': dict(protocol='imap4', tls='implicit'),
    }
    users = [('alice', 'secret'), ('bob', 'hunter2'),
             ('alice@example.com', 'x')]
    sanitizer_clean = True

    def context(self, cert=None):
        ctx = self.server.ssl_context()
        if cert:
            ctx.load_cert_chain(*CERTS[cert])
        return ctx

    def tls(self, name, cert=None):
        c = tls_connect(self.server, name, cert)
        greeting = c.line()
        self.assertRegex(greeting, r'^(\* OK|\+OK)')
        return c

    def caps(self, c):
        line = c.cmd('c1 CAPABILITY')
        c.line()
        return line.split()

    def imap_external(self, c, authzid=None):
        if authzid is None:
            line = c.cmd('a1 AUTHENTICATE EXTERNAL')
            self.assertEqual(line, '+ ')
            return c.cmd('')
        return c.cmd('a1 AUTHENTICATE EXTERNAL %s' %
                     (b64(authzid) if authzid else '='))

    # ---- good certificate ----

    def test_imap_good_cert(self):
        c = self.tls('imaps', 'alice')
        self.assertIn('AUTH=EXTERNAL', self.caps(c))
        line = self.imap_external(c)
        self.assertRegex(line, r'^a1 OK')
        self.assertTrue(c.cmd('a2 SELECT INBOX').startswith('*'))
        c.close()
        self.server.wait_log(r'login: user=alice method=sasl')
        # the auth service checked the chain and decided, not the worker
        self.server.wait_log(r'auth: info: auth ok: user=<alice> '
                             r'rip=127\.0\.0\.1')

    def test_imap_good_cert_authzid(self):
        c = self.tls('imaps', 'alice')
        self.assertRegex(self.imap_external(c, 'alice'), r'^a1 OK')
        c.close()
        c = self.tls('imaps', 'alice')
        self.assertRegex(self.imap_external(c, ''), r'^a1 OK')
        c.close()

    def test_pop3_good_cert(self):
        c = self.tls('pop3s', 'alice')
        self.assertIn('EXTERNAL', pop3_sasl_mechs(c))
        self.assertEqual(c.cmd('AUTH EXTERNAL'), '+ ')
        self.assertTrue(c.cmd('').startswith('+OK'))
        self.assertTrue(c.cmd('STAT').startswith('+OK'))
        c.close()
        c = self.tls('pop3s', 'alice')
        self.assertTrue(c.cmd('AUTH EXTERNAL ' + b64('alice'))
                        .startswith('+OK'))
        c.close()

    def test_starttls_good_cert(self):
        s = socket.create_connection((self.server.host,
                                      self.server.port('imapstls')), 10)
        c = harness.LineClient(s)
        c.line()
        self.assertNotIn('AUTH=EXTERNAL', self.caps(c))
        self.assertTrue(c.cmd('s1 STARTTLS').startswith('s1 OK'))
        c.starttls(self.context('alice'))
        self.assertIn('AUTH=EXTERNAL', self.caps(c))
        self.assertRegex(self.imap_external(c), r'^a1 OK')
        c.close()

    def test_email_field(self):
        c = self.tls('imapmail', 'alice')
        self.assertRegex(self.imap_external(c), r'^a1 OK')
        c.close()
        self.server.wait_log(r'login: user=alice@example\.com method=sasl')
        # no email in the certificate: no user, no EXTERNAL
        c = self.tls('imapmail', 'mallory')
        self.assertNotIn('AUTH=EXTERNAL', self.caps(c))
        self.assertRegex(self.imap_external(c, ''), r'^a1 NO \[CANNOT\]')
        c.close()

    # ---- refusals ----

    def test_no_cert(self):
        c = self.tls('imaps')
        self.assertNotIn('AUTH=EXTERNAL', self.caps(c))
        self.assertRegex(c.cmd('a1 AUTHENTICATE EXTERNAL ='),
                         r'^a1 NO \[CANNOT\]')
        # password logins still work on such a listener
        self.assertRegex(c.cmd('a2 LOGIN alice secret'), r'^a2 OK')
        c.close()
        c = self.tls('pop3s')
        self.assertTrue(c.cmd('AUTH EXTERNAL =').startswith('-ERR'))
        c.close()

    def test_other_ca_optional(self):
        # the handshake completes, the certificate is not trusted
        c = self.tls('imaps', 'forged')
        self.assertNotIn('AUTH=EXTERNAL', self.caps(c))
        self.assertRegex(c.cmd('a1 AUTHENTICATE EXTERNAL ='),
                         r'^a1 NO \[CANNOT\]')
        c.close()

    def handshake_refused(self, cert):
        s = socket.create_connection((self.server.host,
                                      self.server.port('imapreq')), 10)
        try:
            t = self.context(cert).wrap_socket(s,
                                               server_hostname='localhost')
            # TLS 1.3: the client learns of the refusal on its first read
            data = t.recv(100)
            return data == b''
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return True
        finally:
            s.close()

    def test_other_ca_required(self):
        self.assertTrue(self.handshake_refused('forged'))

    def test_no_cert_required(self):
        self.assertTrue(self.handshake_refused(None))

    def test_good_cert_required(self):
        c = self.tls('imapreq', 'alice')
        self.assertRegex(self.imap_external(c), r'^a1 OK')
        c.close()

    def test_authzid_mismatch(self):
        c = self.tls('imaps', 'alice')
        line = self.imap_external(c, 'bob')
        self.assertRegex(line, r'^a1 NO \[AUTHENTICATIONFAILED\] '
                         r'Authorization identity not allowed')
        c.close()
        c = self.tls('pop3s', 'alice')
        self.assertTrue(c.cmd('AUTH EXTERNAL ' + b64('bob'))
                        .startswith('-ERR'))
        c.close()

    def test_unknown_user_in_cert(self):
        c = self.tls('imaps', 'mallory')
        self.assertIn('AUTH=EXTERNAL', self.caps(c))
        self.assertRegex(self.imap_external(c),
                         r'^a1 NO \[AUTHENTICATIONFAILED\]')
        c.close()
        c = self.tls('pop3s', 'mallory')
        self.assertTrue(c.cmd('AUTH EXTERNAL =').startswith('-ERR'))
        c.close()

    def test_two_common_names(self):
        # ambiguous: no user is taken from it
        c = self.tls('imaps', 'twocn')
        self.assertNotIn('AUTH=EXTERNAL', self.caps(c))
        c.close()

    def test_listener_without_client_ca(self):
        # no certificate is asked for, so none can be used
        c = self.tls('plainimaps', 'alice')
        self.assertNotIn('AUTH=EXTERNAL', self.caps(c))
        c.close()


class Config(harness.TestCase):
    """Validation of the listener keys (posthornd -t)."""
    listeners = {}

    def check(self, listener_keys):
        return harness.check_listener_config(self.server, listener_keys)

    def test_keys_printed(self):
        rc, out, err, _ = self.check('tls = implicit\ntls_client_ca = %s\n'
                                     'tls_client_cert = required\n'
                                     'tls_cert_username = email\n' % CA_FILE)
        self.assertEqual(rc, 0, err)
        self.assertIn('tls_client_ca = %s' % CA_FILE, out)
        self.assertIn('tls_client_cert = required', out)
        self.assertIn('tls_cert_username = email', out)

    def test_ca_needs_tls(self):
        rc, out, err, path = self.check('tls = none\ntls_client_ca = %s\n'
                                        % CA_FILE)
        self.assertEqual(rc, 1)
        self.assertIn('%s:10: [listener.imaps] tls_client_ca: needs tls'
                      % path, err)

    def test_mode_needs_ca(self):
        rc, out, err, path = self.check('tls = implicit\n'
                                        'tls_client_cert = required\n')
        self.assertEqual(rc, 1)
        self.assertIn('%s:10: [listener.imaps] tls_client_cert: needs a '
                      'tls_client_ca' % path, err)
        rc, out, err, path = self.check('tls = implicit\n'
                                        'tls_cert_username = cn\n')
        self.assertEqual(rc, 1)
        self.assertIn('%s:10:' % path, err)

    def test_bad_values(self):
        rc, out, err, path = self.check('tls = implicit\ntls_client_ca = %s\n'
                                        'tls_client_cert = maybe\n' % CA_FILE)
        self.assertEqual(rc, 1)
        self.assertIn('%s:11:' % path, err)
        rc, out, err, path = self.check('tls = implicit\ntls_client_ca = %s\n'
                                        'tls_cert_username = uid\n' % CA_FILE)
        self.assertEqual(rc, 1)
        self.assertIn('%s:11:' % path, err)

    def test_crl_needs_ca(self):
        rc, out, err, path = self.check('tls = implicit\ntls_client_crl = '
                                        '%s\n' % CRLS['mallory'])
        self.assertEqual(rc, 1)
        self.assertIn('%s:10: [listener.imaps] tls_client_crl: needs a '
                      'tls_client_ca' % path, err)

    def test_crl_printed(self):
        rc, out, err, _ = self.check('tls = implicit\ntls_client_ca = %s\n'
                                     'tls_client_crl = %s\n' %
                                     (CA_FILE, CRLS['mallory']))
        self.assertEqual(rc, 0, err)
        self.assertIn('tls_client_crl = %s' % CRLS['mallory'], out)

    def test_missing_crl_file(self):
        rc, out, err, path = self.check('tls = implicit\ntls_client_ca = %s\n'
                                        'tls_client_crl = /nonexistent.pem\n'
                                        % CA_FILE)
        self.assertEqual(rc, 1)
        self.assertIn('%s:11:' % path, err)
        self.assertIn('tls_client_crl', err)

    def test_crl_file_without_crl(self):
        rc, out, err, path = self.check('tls = implicit\ntls_client_ca = %s\n'
                                        'tls_client_crl = %s\n'
                                        % (CA_FILE, CA_FILE))
        self.assertEqual(rc, 1)
        self.assertIn('%s:11:' % path, err)
        self.assertIn('cannot load a CRL', err)

    def test_missing_ca_file(self):
        rc, out, err, path = self.check('tls = implicit\n'
                                        'tls_client_ca = /nonexistent.pem\n')
        self.assertEqual(rc, 1)
        self.assertIn('%s:10:' % path, err)
        self.assertIn('tls_client_ca', err)


def cleanup():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


class Revocation(harness.TestCase):
    """tls_client_crl: certificates the CRL revokes are refused by the
    worker (not advertised) and by the auth service; the others of the
    CA still log in; a reload rereads the file."""
    users = [('alice', 'secret'), ('mallory', 'x')]
    sanitizer_clean = True

    @classmethod
    def setUpClass(cls):
        cls.crl_copy = os.path.join(CERT_DIR, 'reload-crl.pem')
        shutil.copyfile(CRLS['mallory'], cls.crl_copy)
        cls.listeners = {
            'imaps': dict(protocol='imap4', tls='implicit',
                          tls_client_ca=CA_FILE, tls_client_crl=cls.crl_copy),
            'pop3s': dict(protocol='pop3', tls='implicit',
                          tls_client_ca=CA_FILE, tls_client_crl=cls.crl_copy),
        }
        super().setUpClass()

    def imap(self, cert):
        c = tls_connect(self.server, 'imaps', cert)
        c.line()
        caps = c.cmd('c1 CAPABILITY').split()
        c.line()
        line = c.cmd('a1 AUTHENTICATE EXTERNAL =')
        c.close()
        return caps, line

    def test_good_cert_logs_in(self):
        caps, line = self.imap('alice')
        self.assertIn('AUTH=EXTERNAL', caps)
        self.assertRegex(line, r'^a1 OK')

    def test_revoked_cert_refused(self):
        caps, line = self.imap('mallory')
        self.assertNotIn('AUTH=EXTERNAL', caps)
        self.assertRegex(line, r'^a1 NO')

    def test_revoked_cert_refused_pop3(self):
        c = tls_connect(self.server, 'pop3s', 'mallory')
        c.line()
        self.assertNotIn('EXTERNAL', pop3_sasl_mechs(c))
        self.assertRegex(c.cmd('AUTH EXTERNAL ='), r'^-ERR')
        c.close()

    def test_zz_reload_rereads_crl(self):
        self.assertRegex(self.imap('alice')[1], r'^a1 OK')
        shutil.copyfile(CRLS['both'], self.crl_copy)
        try:
            self.server.reload()
            self.server.wait_log('configuration generation 2 running')
            self.server.wait_log('reload: no longer accepting')
            self.server.wait_ports()
            self.assertRegex(self.imap('alice')[1], r'^a1 NO')
        finally:
            shutil.copyfile(CRLS['mallory'], self.crl_copy)


class Reload(harness.TestCase):
    """The auth service builds its CA stores at start: a SIGHUP reload
    (a new generation, a new service) picks up a changed tls_client_ca
    file, in the worker and in the service alike."""
    listeners = {'imaps': dict(protocol='imap4', tls='implicit')}
    users = [('alice', 'secret')]
    sanitizer_clean = True

    @classmethod
    def setUpClass(cls):
        cls.ca_copy = os.path.join(CERT_DIR, 'reload-ca.pem')
        shutil.copyfile(CA_FILE, cls.ca_copy)
        cls.listeners = {'imaps': dict(protocol='imap4', tls='implicit',
                                       tls_client_ca=cls.ca_copy)}
        super().setUpClass()

    def external(self, cert):
        c = tls_connect(self.server, 'imaps', cert)
        c.line()
        line = c.cmd('a1 AUTHENTICATE EXTERNAL =')
        c.close()
        return line

    def test_new_ca_after_reload(self):
        self.assertRegex(self.external('alice'), r'^a1 OK')
        self.assertRegex(self.external('forged'), r'^a1 (NO|BAD)')
        shutil.copyfile(os.path.join(CERT_DIR, 'otherca.pem'),
                        self.ca_copy)
        self.server.reload()
        self.server.wait_log('configuration generation 2 running')
        self.server.wait_log('reload: no longer accepting')
        self.server.wait_ports()
        # the other CA's certificate for alice now logs in, checked by the
        # new generation's service
        self.assertRegex(self.external('forged'), r'^a1 OK')
        self.assertRegex(self.external('alice'), r'^a1 (NO|BAD)')
        self.assertEqual(len(re.findall(r'auth: info: auth ok: '
                                        r'user=<alice>',
                                        self.server.log_text())), 2)


if __name__ == '__main__':
    try:
        harness.main()
    finally:
        cleanup()
