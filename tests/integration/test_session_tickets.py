#!/usr/bin/env python3
"""Session tickets: the master does not take a worker's word for who
logged in (docs/sessions.md).

A system user's session process runs as the record the auth service
vouches for by the login's one-time ticket, redeemed before the uid
switch. A compromised worker is simulated with the real worker's own
handoff socket: the test (root) copies it out of the worker with
pidfd_getfd(2), finds it among the worker's sockets as the one whose peer
the master holds (ss -x), and sends forged handoff datagrams with a
socketpair end as the "client". Refused: no ticket, a made-up ticket, a
real ticket of user A for user B, a replayed ticket, an expired ticket, a
ticket whose auth service was killed (-9) meanwhile; normal logins over
IMAP/POP3, plaintext and TLS, keep working (and after the restart).
Needs root, pam_wrapper and ss (CI has them): otherwise skipped."""
import ctypes
import imaplib
import os
import re
import shutil
import signal
import socket
import struct
import time

import authwire
import harness
import test_session_users as su

SYS_PIDFD_GETFD = 438  # same number on every architecture


def _skip_reason():
    if su.SKIP:
        return su.SKIP
    if shutil.which('ss') is None:
        return 'ss (iproute2) not installed'
    if not hasattr(os, 'pidfd_open'):
        return 'os.pidfd_open needs Python 3.9'
    return None


SKIP = _skip_reason()
LIBC = ctypes.CDLL(None, use_errno=True)


def setUpModule():
    if SKIP:
        return
    su.USERS = su.Users()
    harness.unittest.addModuleCleanup(su.USERS.remove)


def pidfd_getfd(pid, fd):
    """A duplicate of `fd` of process `pid` (root may take any)."""
    pfd = os.pidfd_open(pid)
    try:
        n = LIBC.syscall(SYS_PIDFD_GETFD, pfd, fd, 0)
        if n < 0:
            e = ctypes.get_errno()
            raise OSError(e, 'pidfd_getfd: ' + os.strerror(e))
        return n
    finally:
        os.close(pfd)


def socket_inodes(pid):
    """{fd: inode} of the sockets of `pid`."""
    out = {}
    base = '/proc/%d/fd' % pid
    for name in os.listdir(base):
        try:
            link = os.readlink(os.path.join(base, name))
        except OSError:
            continue
        m = re.match(r'socket:\[(\d+)\]$', link)
        if m:
            out[int(name)] = int(m.group(1))
    return out


def unix_peers():
    """{inode: peer inode} of every connected UNIX socket (ss -x)."""
    out = {}
    text = os.popen('ss -xaH').read()
    for line in text.splitlines():
        f = line.split()
        # Netid State Recv-Q Send-Q Local Port Peer Port
        if len(f) >= 8 and f[5].isdigit() and f[7].isdigit():
            out[int(f[5])] = int(f[7])
    return out


class Forger:
    """Speaks on the worker's handoff socket, as a compromised worker."""

    def __init__(self, server):
        worker = int(server.wait_log(
            r'posthornd\[(\d+)\] worker 1: info: serving').group(1))
        master = set(socket_inodes(server.pid).values())
        peers = unix_peers()
        fds = [fd for fd, ino in socket_inodes(worker).items()
               if peers.get(ino) in master]
        assert len(fds) == 1, (fds, 'the worker\'s handoff socket')
        self.sock = socket.socket(fileno=pidfd_getfd(worker, fds[0]))
        assert self.sock.type == socket.SOCK_SEQPACKET

    def send(self, record, ticket=b'', **kw):
        """Hands over one end of a new socketpair as the client; returns
        the other end (the "client" side)."""
        client, session = socket.socketpair()
        msg = authwire.encode_handoff(record, ticket, **kw)
        self.sock.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                   struct.pack('i', session.fileno()))])
        session.close()
        client.settimeout(10)
        return client

    def close(self):
        self.sock.close()


def record_of(name):
    info = su.USERS.info[name]
    return 'user=%s\tuid=%d\tgid=%d\thome=%s\tmail=%s' % (
        name, info['uid'], info['gid'], info['home'], info['maildir'])


def read_all(sock):
    data = b''
    while True:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            raise AssertionError('the handed-over socket stayed open: %r'
                                 % data)
        if not chunk:
            return data
        data += chunk


class TicketBase(su.SessionBase):
    listeners = {
        'imap': dict(protocol='imap4', tls='none', allow_plaintext='yes'),
        'imaps': dict(protocol='imap4', tls='implicit'),
        'pop3': dict(protocol='pop3', tls='none', allow_plaintext='yes'),
        'pop3s': dict(protocol='pop3', tls='implicit'),
    }

    def setUp(self):
        self.wait_no_sessions()
        self.forger = Forger(self.server)
        self.addCleanup(self.forger.close)

    def ticket(self, name, rip='127.0.0.1', service='imap4'):
        """A real ticket, got as a worker gets one: a PLAIN login on the
        auth service's socket."""
        s, _ = authwire.connect(self.server.state_dir)
        try:
            s.send(authwire.encode_request(
                authwire.MSG_PLAIN, 1, name, su.USERS.passwords[name],
                rip=rip, service=service))
            reply = authwire.decode_reply(s.recv(65536))
        finally:
            s.close()
        self.assertEqual(reply['result'], authwire.PH_OK, reply)
        self.assertEqual(len(reply['ticket']), authwire.TICKET_LEN)
        return reply['ticket']

    def assert_refused(self, client, name, why):
        """The forged session never answered and never ran as `name`."""
        self.assertEqual(read_all(client), b'')
        client.close()
        self.server.wait_log(r'session refused: user=%s: %s' % (name, why))
        uid = su.USERS.info[name]['uid']
        self.assertNotIn(uid, self.sessions_by_uid())


@harness.unittest.skipIf(SKIP, SKIP)
class SessionTickets(TicketBase):

    def test_logins_still_work(self):
        a, b = su.USERS.names
        for tls in (False, True):
            m = self.imap(tls)
            self.assertEqual(m.login(a, su.USERS.passwords[a])[0], 'OK')
            self.assertEqual(m.select('INBOX'), ('OK', [b'1']))
            m.logout()
            p = self.pop3(tls)
            p.user(b)
            self.assertTrue(p.pass_(su.USERS.passwords[b]).startswith(
                b'+OK Logged in, 1 messages'))
            self.assertEqual(p.stat()[0], 1)
            p.quit()
        log = self.server.log_text()
        for name, service in ((a, 'imap4'), (b, 'pop3')):
            self.assertRegex(log, r'session ticket redeemed: user=<%s> '
                                  r'rip=127\.0\.0\.1 service=%s'
                             % (name, service))

    def test_forged_without_ticket(self):
        b = su.USERS.names[1]
        client = self.forger.send(record_of(b))
        self.assert_refused(client, b, 'no session ticket')

    def test_forged_made_up_ticket(self):
        b = su.USERS.names[1]
        client = self.forger.send(record_of(b), os.urandom(32))
        self.assert_refused(client, b, r'ticket refused by the auth '
                                       r'service: unknown ticket')

    def test_ticket_of_another_user(self):
        # The worker got a real ticket logging in as A; it claims B.
        a, b = su.USERS.names
        ticket = self.ticket(a)
        client = self.forger.send(record_of(b), ticket)
        self.assert_refused(client, b, r'the ticket is for another user '
                                       r'\(%s\)' % a)
        # ... and claiming another uid under A's name is refused too
        ticket = self.ticket(a)
        rec = record_of(a).replace(
            'uid=%d' % su.USERS.info[a]['uid'],
            'uid=%d' % su.USERS.info[b]['uid'])
        client = self.forger.send(rec, ticket)
        self.assert_refused(client, a, "the worker's uid differs from the "
                                       "ticket's")

    def test_ticket_bound_to_address(self):
        a = su.USERS.names[0]
        ticket = self.ticket(a, rip='192.0.2.9')
        client = self.forger.send(record_of(a), ticket)
        self.assert_refused(client, a, r'ticket refused by the auth '
                                       r'service: ticket issued for another '
                                       r'service or address')

    def test_replayed_ticket(self):
        a = su.USERS.names[0]
        uid = su.USERS.info[a]['uid']
        ticket = self.ticket(a)
        # First use: a genuine ticket for the right user is served (so
        # the forging rig itself works) ...
        client = self.forger.send(record_of(a), ticket)
        f = client.makefile('rb')
        self.assertRegex(f.readline(), rb'^a1 OK ')
        self.assertIn(uid, su.wait_for(self.sessions_by_uid,
                                       what='the session process'))
        client.sendall(b'b LOGOUT\r\n')
        self.assertTrue(f.readline().startswith(b'* BYE'))
        f.close()
        client.close()
        self.wait_no_sessions()
        # ... the same ticket again is not.
        client = self.forger.send(record_of(a), ticket)
        self.assert_refused(client, a, r'ticket refused by the auth '
                                       r'service: unknown ticket')


@harness.unittest.skipIf(SKIP, SKIP)
class SessionTicketExpiry(TicketBase):
    listeners = {
        'imap': dict(protocol='imap4', tls='none', allow_plaintext='yes'),
    }
    extra = dict(su.SessionBase.extra)
    extra['auth'] = dict(su.SessionBase.extra['auth'],
                         session_ticket_ttl='1s')

    def test_expired_ticket(self):
        a = su.USERS.names[0]
        ticket = self.ticket(a)
        time.sleep(2.2)
        client = self.forger.send(record_of(a), ticket)
        self.assert_refused(client, a, r'ticket refused by the auth '
                                       r'service: expired ticket')
        # A login right away is well within the second.
        m = self.imap(False)
        self.assertEqual(m.login(a, su.USERS.passwords[a])[0], 'OK')
        self.assertEqual(m.select('INBOX'), ('OK', [b'1']))
        m.logout()


@harness.unittest.skipIf(SKIP, SKIP)
class SessionTicketAuthRestart(TicketBase):
    listeners = {
        'imap': dict(protocol='imap4', tls='none', allow_plaintext='yes'),
        'pop3s': dict(protocol='pop3', tls='implicit'),
    }

    def test_auth_service_killed(self):
        a = su.USERS.names[0]
        uid = su.USERS.info[a]['uid']
        outstanding = [self.ticket(a) for _ in range(3)]
        auth_pid = int(self.server.wait_log(
            r'posthornd\[(\d+)\] auth: info: auth: serving').group(1))
        before = len(re.findall(r'auth service restarted',
                                self.server.log_text()))
        os.kill(auth_pid, signal.SIGKILL)
        su.wait_for(lambda: len(re.findall(r'auth service restarted',
                                           self.server.log_text())) > before,
                    what='the auth service to restart')
        # The tickets died with the service: those sessions are refused.
        for ticket in outstanding:
            client = self.forger.send(record_of(a), ticket)
            self.assertEqual(read_all(client), b'')
            client.close()
        su.wait_for(lambda: len(re.findall(
            r'session refused: user=%s: ticket refused by the auth '
            r'service: unknown ticket' % a, self.server.log_text())) >= 3,
            what='three refusals')
        self.assertNotIn(uid, self.sessions_by_uid())
        # Later logins work (the worker reconnects to the new service,
        # the master redeems through its new control socket).
        deadline = time.time() + 10
        while True:
            m = self.imap(False)
            try:
                typ, _ = m.login(a, su.USERS.passwords[a])
                break
            except imaplib.IMAP4.error:
                # the worker reconnects at most once a second
                m.logout()
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        self.assertEqual(typ, 'OK')
        self.assertEqual(m.select('INBOX'), ('OK', [b'1']))
        m.logout()
        p = self.pop3(True)
        p.user(a)
        self.assertTrue(p.pass_(su.USERS.passwords[a]).startswith(b'+OK'))
        p.quit()


@harness.unittest.skipIf(SKIP, SKIP)
class SessionTicketReload(TicketBase):
    listeners = {
        'imap': dict(protocol='imap4', tls='none', allow_plaintext='yes'),
    }

    def test_reload(self):
        # A connection the old generation accepted logs in after the
        # reload: its ticket comes from the old auth service and is
        # redeemed there; a new connection uses the new generation's.
        a, b = su.USERS.names
        old = self.imap(False)
        self.server.reload()
        self.server.wait_log(r'configuration generation 2 running')
        self.assertEqual(old.login(a, su.USERS.passwords[a])[0], 'OK')
        self.assertEqual(old.select('INBOX'), ('OK', [b'1']))
        new = self.imap(False)
        self.assertEqual(new.login(b, su.USERS.passwords[b])[0], 'OK')
        self.assertEqual(new.select('INBOX'), ('OK', [b'1']))
        self.assert_sessions_of_both()
        old.logout()
        new.logout()
        self.assertEqual(len(re.findall(r'session ticket redeemed',
                                        self.server.log_text())), 2)

class TicketTtlConfig(harness.unittest.TestCase):
    """[auth] session_ticket_ttl is validated with FILE:LINE (no root
    needed)."""

    HEAD = ('[core]\nplugin_dir = %s\n[auth]\n' % harness.PLUGIN_DIR)

    def check(self, value):
        return harness.check_config(self.HEAD + 'session_ticket_ttl = %s\n'
                                    % value)

    def test_default_and_value(self):
        rc, out, err, _ = harness.check_config(self.HEAD)
        self.assertEqual(rc, 0, err)
        self.assertIn('session_ticket_ttl = 60s\n', out)
        rc, out, err, _ = self.check('2m')
        self.assertEqual(rc, 0, err)
        self.assertIn('session_ticket_ttl = 2m\n', out)

    def test_zero(self):
        rc, out, err, path = self.check('0')
        self.assertEqual(rc, 1)
        self.assertIn('%s:4: [auth] session_ticket_ttl: must be between'
                      % path, err)

    def test_too_long(self):
        rc, out, err, path = self.check('11m')
        self.assertEqual(rc, 1)
        self.assertIn('%s:4: [auth] session_ticket_ttl: must be between'
                      % path, err)

    def test_not_a_time(self):
        rc, out, err, path = self.check('soon')
        self.assertEqual(rc, 1)
        self.assertIn('%s:4: ' % path, err)


if __name__ == '__main__':
    harness.main()
