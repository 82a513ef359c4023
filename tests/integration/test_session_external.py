#!/usr/bin/env python3
"""SASL EXTERNAL for system users (docs/sessions.md): the auth service
verifies the client certificate chain itself, so it can vouch for the
login with a session ticket and the session runs as the user.

Two useradd users authenticated by auth-pam under pam_wrapper (as in
test_session_users.py; EXTERNAL takes their record from auth-pam's
lookup), client certificates naming them from a test CA. An EXTERNAL
login over IMAP and POP3 (implicit TLS) lands in a ph-session process
with exactly that user's uid and reads that user's mail. A compromised
worker is simulated with the worker's own auth-service socket (copied out
of the stopped worker with pidfd_getfd(2)): an EXTERNAL_VERIFY claiming a
certificate for user A from a CA the listener does not trust is refused,
logged for fail2ban and carries no ticket; the same request with A's real
certificate gets one (so the rig works); a listener without a client CA,
a malformed certificate and an authzid naming B are refused. Needs root,
pam_wrapper and ss (CI has them): otherwise skipped."""
import base64
import os
import signal
import socket

import authwire
import harness
import test_sasl_external as se
import test_session_tickets as st
import test_session_users as su

SKIP = st.SKIP
CERTS = {}


def setUpModule():
    # test_sasl_external made its certificates at import
    harness.unittest.addModuleCleanup(se.cleanup)
    if SKIP:
        return
    su.USERS = su.Users()
    harness.unittest.addModuleCleanup(su.USERS.remove)
    ca = se.make_ca(se.CERT_DIR, 'sessca')
    other = se.make_ca(se.CERT_DIR, 'sessother')
    CERTS['ca'] = ca[0]
    for name in su.USERS.names:
        CERTS[name] = se.make_client(se.CERT_DIR, 'sess-' + name, ca,
                                     '/CN=' + name)
    CERTS['forged'] = se.make_client(se.CERT_DIR, 'sess-forged', other,
                                     '/CN=' + su.USERS.names[0])
    for name in os.listdir(se.CERT_DIR):
        os.chmod(os.path.join(se.CERT_DIR, name), 0o644)


def der(pem_path):
    """The first certificate of a PEM file as DER."""
    with open(pem_path) as f:
        text = f.read()
    body = text.split('-----BEGIN CERTIFICATE-----')[1].split(
        '-----END CERTIFICATE-----')[0]
    return base64.b64decode(''.join(body.split()))


class WorkerAuthSocket:
    """The worker's own connection to the auth service, used while the
    worker is stopped (SIGSTOP), so its loop cannot read our replies."""

    def __init__(self, server):
        self.worker = int(server.wait_log(
            r'posthornd\[(\d+)\] worker 1: info: serving').group(1))
        service = int(server.wait_log(
            r'posthornd\[(\d+)\] auth: info: auth: serving').group(1))
        theirs = set(st.socket_inodes(service).values())
        peers = st.unix_peers()
        fds = [fd for fd, ino in st.socket_inodes(self.worker).items()
               if peers.get(ino) in theirs]
        assert len(fds) == 1, (fds, "the worker's auth socket")
        os.kill(self.worker, signal.SIGSTOP)
        self.sock = socket.socket(fileno=st.pidfd_getfd(self.worker,
                                                        fds[0]))
        self.sock.settimeout(10)
        assert self.sock.type == socket.SOCK_SEQPACKET

    def ask(self, msg):
        self.sock.send(msg)
        return authwire.decode_reply(self.sock.recv(65536))

    def close(self):
        self.sock.close()
        os.kill(self.worker, signal.SIGCONT)


@harness.unittest.skipIf(SKIP, SKIP)
class ExternalSessions(su.SessionBase):

    @classmethod
    def setUpClass(cls):
        if SKIP:
            raise harness.unittest.SkipTest(SKIP)
        cls.listeners = {
            'imaps': dict(protocol='imap4', tls='implicit',
                          tls_client_ca=CERTS['ca']),
            'pop3s': dict(protocol='pop3', tls='implicit',
                          tls_client_ca=CERTS['ca']),
            'plainimaps': dict(protocol='imap4', tls='implicit'),
        }
        super().setUpClass()

    def setUp(self):
        self.wait_no_sessions()

    def tls(self, listener, cert):
        ctx = self.ctx()
        ctx.load_cert_chain(*CERTS[cert])
        s = socket.create_connection((self.server.host,
                                      self.server.port(listener)), 10)
        c = harness.LineClient(ctx.wrap_socket(s,
                                               server_hostname='localhost'))
        self.assertRegex(c.line(), r'^(\* OK|\+OK)')
        return c

    def assert_session_of(self, name):
        uid = su.USERS.info[name]['uid']
        procs = su.wait_for(lambda: self.sessions_by_uid().get(uid),
                            what='the session process of ' + name)
        self.assertEqual(len(procs), 1, procs)
        pid, uids, gids = procs[0]
        self.assertEqual(uids, {str(uid)})
        self.assertEqual(gids, {str(su.USERS.info[name]['gid'])})

    def test_imap_external_system_user(self):
        a = su.USERS.names[0]
        c = self.tls('imaps', a)
        self.assertEqual(c.cmd('a1 AUTHENTICATE EXTERNAL'), '+ ')
        self.assertRegex(c.cmd(''), r'^a1 OK')
        self.assert_session_of(a)
        lines = [c.cmd('a2 SELECT INBOX')]
        while not lines[-1].startswith('a2 '):
            lines.append(c.line())
        self.assertIn('* 1 EXISTS', lines)
        self.assertTrue(lines[-1].startswith('a2 OK'), lines)
        c.cmd('a3 LOGOUT')
        c.close()
        self.server.wait_log(r'session ticket redeemed: user=<%s> '
                             r'rip=127\.0\.0\.1 service=imap4' % a)

    def test_pop3_external_system_user(self):
        b = su.USERS.names[1]
        c = self.tls('pop3s', b)
        # the authzid may name the certificate's user
        self.assertTrue(c.cmd('AUTH EXTERNAL ' + se.b64(b))
                        .startswith('+OK'))
        self.assert_session_of(b)
        self.assertTrue(c.cmd('STAT').startswith('+OK 1 '))
        c.cmd('QUIT')
        c.close()
        self.server.wait_log(r'session ticket redeemed: user=<%s> '
                             r'rip=127\.0\.0\.1 service=pop3' % b)

    def test_external_authzid_of_another_user(self):
        a, b = su.USERS.names
        c = self.tls('imaps', a)
        self.assertRegex(c.cmd('a1 AUTHENTICATE EXTERNAL ' + se.b64(b)),
                         r'^a1 NO')
        c.close()
        self.assertNotIn(su.USERS.info[b]['uid'], self.sessions_by_uid())

    def test_forged_chain_on_worker_socket(self):
        a, b = su.USERS.names
        w = WorkerAuthSocket(self.server)
        try:
            forged = w.ask(authwire.encode_external(
                1, 'imaps', [der(CERTS['forged'][0])], rip='198.51.100.7'))
            self.assertEqual(forged['result'], authwire.PH_EAUTH, forged)
            self.assertIsNone(forged['ticket'])
            self.assertEqual(forged['record'], {})
            # the leaf plus the forger's own CA is no better
            forged = w.ask(authwire.encode_external(
                2, 'imaps', [der(CERTS['forged'][0]),
                             der(se.CERT_DIR + '/sessother.pem')],
                rip='198.51.100.7'))
            self.assertEqual(forged['result'], authwire.PH_EAUTH, forged)
            self.assertIsNone(forged['ticket'])
            # a real certificate on a listener without a client CA
            other = w.ask(authwire.encode_external(
                3, 'plainimaps', [der(CERTS[a][0])], rip='198.51.100.8'))
            self.assertEqual(other['result'], authwire.PH_EAUTH, other)
            self.assertIsNone(other['ticket'])
            # A's certificate asking to act as B
            other = w.ask(authwire.encode_external(
                4, 'imaps', [der(CERTS[a][0])], authzid=b,
                rip='198.51.100.8'))
            self.assertEqual(other['result'], authwire.PH_EAUTH, other)
            self.assertIsNone(other['ticket'])
            # garbage where the certificate goes
            other = w.ask(authwire.encode_external(
                5, 'imaps', [b'\x30\x03\x02\x01\x01'], rip='198.51.100.8'))
            self.assertEqual(other['result'], authwire.PH_EAUTH, other)
            # the real certificate gets a ticket: the rig works
            good = w.ask(authwire.encode_external(
                6, 'imaps', [der(CERTS[a][0])], rip='198.51.100.9'))
            self.assertEqual(good['result'], authwire.PH_OK, good)
            self.assertEqual(len(good['ticket']), authwire.TICKET_LEN)
            self.assertEqual(good['record']['user'], a)
            self.assertEqual(good['record']['uid'],
                             str(su.USERS.info[a]['uid']))
        finally:
            w.close()
        self.server.wait_log(
            r'auth failed: user=<%s> rip=198\.51\.100\.7 service=imap4 '
            r'reason=EXTERNAL: unable to get local issuer certificate' % a)
        self.server.wait_log(
            r'auth failed: user=<%s> rip=198\.51\.100\.8 service=imap4 '
            r'reason=EXTERNAL: no tls_client_ca on that listener' % a)
        self.server.wait_log(
            r'auth failed: user=<%s> rip=198\.51\.100\.8 service=imap4 '
            r'reason=EXTERNAL: authorization identity not allowed' % a)
        self.server.wait_log(
            r'reason=EXTERNAL: malformed certificate')
        # the worker still serves after being stopped
        c = self.tls('imaps', a)
        self.assertEqual(c.cmd('a1 AUTHENTICATE EXTERNAL'), '+ ')
        self.assertRegex(c.cmd(''), r'^a1 OK')
        self.assert_session_of(a)
        c.close()

    def test_password_logins_still_work(self):
        a = su.USERS.names[0]
        m = self.imap(True)
        self.assertEqual(m.login(a, su.USERS.passwords[a])[0], 'OK')
        self.assert_session_of(a)
        m.logout()


if __name__ == '__main__':
    harness.main()
