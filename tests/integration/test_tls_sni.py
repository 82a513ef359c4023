"""TLS server name indication: [sni.NAME] sections give a certificate per
server name on every TLS listener; the client's name picks it (exact
names before wildcards, case-insensitive); no name or an unknown one gets
the listener's own certificate. Config errors point at the section."""
import os
import shutil
import socket
import ssl
import tempfile

import harness
from sasltls import Scram, end_point_data, run_scram

harness.TestCase.sanitizer_clean = True

CERT_DIR = tempfile.mkdtemp(prefix='posthorn-sni-')
os.chmod(CERT_DIR, 0o755)


def cert_pair(name, cn):
    d = os.path.join(CERT_DIR, name)
    os.makedirs(d)
    os.chmod(d, 0o755)
    return harness.make_cert(d, cn)


MAIL = cert_pair('mail', 'mail.example.org')
WILD = cert_pair('wild', 'wild.example.net')
EXACT = cert_pair('exact', 'exact.example.net')


def der(pair):
    with open(pair[0]) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def presented(host, port, server_name, starttls=None):
    """DER of the certificate the server shows for `server_name` (None:
    no SNI)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = socket.create_connection((host, port), 10)
    if starttls:
        starttls(s)
    with ctx.wrap_socket(s, server_hostname=server_name) as t:
        return t.getpeercert(binary_form=True)


def imap_starttls(s):
    f = s.makefile('rb')
    f.readline()
    s.sendall(b'a STARTTLS\r\n')
    assert f.readline().startswith(b'a OK')


class Sni(harness.TestCase):
    listeners = {
        'imaps': dict(protocol='imap4', tls='implicit'),
        'imap': dict(protocol='imap4', tls='starttls'),
        'pop3s': dict(protocol='pop3', tls='implicit'),
    }
    extra = {
        'sni.mail.example.org': dict(cert=MAIL[0], key=MAIL[1]),
        'sni.wild': dict(names='*.example.net, other.example.com',
                         cert=WILD[0], key=WILD[1]),
        'sni.exact': dict(names='exact.example.net', cert=EXACT[0],
                          key=EXACT[1]),
        'auth-passwdfile': {'scram': 'yes'},
    }

    def shown(self, name, listener='imaps', starttls=None):
        return presented(self.server.host, self.server.port(listener),
                         name, starttls)

    def test_named_section(self):
        self.assertEqual(self.shown('mail.example.org'), der(MAIL))

    def test_case_insensitive(self):
        self.assertEqual(self.shown('MAIL.Example.ORG'), der(MAIL))

    def test_no_server_name_gets_listener_cert(self):
        default = der((self.server.cert_file, None))
        self.assertEqual(self.shown(None), default)

    def test_unknown_name_gets_listener_cert(self):
        default = der((self.server.cert_file, None))
        self.assertEqual(self.shown('nobody.example.org'), default)
        self.assertEqual(self.shown('example.net'), default)

    def test_wildcard_one_label(self):
        self.assertEqual(self.shown('a.example.net'), der(WILD))
        self.assertEqual(self.shown('other.example.com'), der(WILD))
        default = der((self.server.cert_file, None))
        self.assertEqual(self.shown('b.a.example.net'), default)

    def test_exact_before_wildcard(self):
        self.assertEqual(self.shown('exact.example.net'), der(EXACT))

    def test_starttls_and_pop3(self):
        self.assertEqual(self.shown('mail.example.org', 'imap',
                                    imap_starttls), der(MAIL))
        self.assertEqual(self.shown('a.example.net', 'pop3s'), der(WILD))

    def test_session_works_on_sni_cert(self):
        # verified against the SNI certificate alone (its SAN names
        # localhost, as harness.make_cert makes them: no hostname check)
        ctx = ssl.create_default_context(cafile=MAIL[0])
        ctx.check_hostname = False
        s = socket.create_connection((self.server.host,
                                      self.server.port('imaps')), 10)
        with ctx.wrap_socket(s, server_hostname='mail.example.org') as t:
            f = t.makefile('rb')
            self.assertTrue(f.readline().startswith(b'* OK'))
            t.sendall(b'a LOGIN alice secret\r\n')
            self.assertTrue(f.readline().startswith(b'a OK'))
            t.sendall(b'b LOGOUT\r\n')


    def test_channel_binding_uses_sni_cert(self):
        # tls-server-end-point binds to the certificate the client saw:
        # the SNI one, not the listener's
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = socket.create_connection((self.server.host,
                                      self.server.port('imaps')), 10)
        c = harness.LineClient(ctx.wrap_socket(
            s, server_hostname='mail.example.org'))
        c.line()
        self.assertEqual(c.sock.getpeercert(binary_form=True), der(MAIL))
        scram = Scram('alice', 'secret', 'p=tls-server-end-point,,',
                      end_point_data(c.sock))
        ok, line, verified = run_scram(c.send, c.line, 'imap',
                                       'SCRAM-SHA-256-PLUS', scram)
        self.assertTrue(ok, line)
        self.assertTrue(verified)
        c.close()


class SniConfig(harness.TestCase):
    """posthornd -t on [sni.NAME] sections."""
    listeners = {}

    def check(self, sni):
        # line 9 is "tls = implicit", the [sni] sections start at line 10
        return harness.check_listener_config(self.server,
                                             'tls = implicit\n' + sni)

    def test_printed(self):
        rc, out, err, _ = self.check('[sni.mail.example.org]\ncert = %s\n'
                                     'key = %s\n' % MAIL)
        self.assertEqual(rc, 0, err)
        self.assertIn('[sni.mail.example.org]', out)
        self.assertIn('cert = %s' % MAIL[0], out)

    def test_needs_cert_and_key(self):
        rc, out, err, path = self.check('[sni.mail.example.org]\n'
                                        'cert = %s\n' % MAIL[0])
        self.assertEqual(rc, 1)
        self.assertIn('%s:10: [sni.mail.example.org] needs both' % path,
                      err)

    def test_missing_cert_file(self):
        rc, out, err, path = self.check('[sni.mail.example.org]\n'
                                        'cert = /nonexistent.pem\n'
                                        'key = %s\n' % MAIL[1])
        self.assertEqual(rc, 1)
        self.assertIn('%s:11: [sni.mail.example.org] cannot load cert'
                      % path, err)

    def test_key_does_not_match(self):
        rc, out, err, path = self.check('[sni.mail.example.org]\n'
                                        'cert = %s\nkey = %s\n'
                                        % (MAIL[0], WILD[1]))
        self.assertEqual(rc, 1)
        self.assertIn('%s:12: [sni.mail.example.org]' % path, err)
        self.assertIn('key', err)

    def test_bad_name(self):
        rc, out, err, path = self.check('[sni.x]\nnames = ok.example.org '
                                        'bad_name.org\ncert = %s\n'
                                        'key = %s\n' % MAIL)
        self.assertEqual(rc, 1)
        self.assertIn("%s:11: [sni.x] names: 'bad_name.org' is not a "
                      "server name" % path, err)

    def test_wildcard_in_the_middle(self):
        rc, out, err, path = self.check('[sni.x]\nnames = a.*.example.org\n'
                                        'cert = %s\nkey = %s\n' % MAIL)
        self.assertEqual(rc, 1)
        self.assertIn('is not a server name', err)

    def test_name_claimed_twice(self):
        rc, out, err, path = self.check(
            '[sni.a.example.org]\ncert = %s\nkey = %s\n'
            '[sni.b]\nnames = A.example.org\ncert = %s\nkey = %s\n'
            % (MAIL + WILD))
        self.assertEqual(rc, 1)
        self.assertIn("%s:14: [sni.b] names: 'a.example.org' is already "
                      "used by [sni.a.example.org]" % path, err)

    def test_unknown_key(self):
        rc, out, err, path = self.check('[sni.mail.example.org]\n'
                                        'cert = %s\nkey = %s\nciphers = x\n'
                                        % MAIL)
        self.assertEqual(rc, 1)
        self.assertIn("%s:13: unknown key 'ciphers'" % path, err)

    def test_section_without_name(self):
        rc, out, err, path = self.check('[sni]\ncert = %s\nkey = %s\n'
                                        % MAIL)
        self.assertEqual(rc, 1)
        self.assertIn('%s:10: sni section needs a name' % path, err)


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


if __name__ == '__main__':
    harness.main()
