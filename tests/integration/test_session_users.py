#!/usr/bin/env python3
"""Per-user session processes for system users (issue 4).

Two real users are created with useradd (homes 0700 under a temp dir,
removed with userdel -r at the end, even on failure) and authenticated
through auth-pam under pam_wrapper + pam_matrix. Workers run as nobody;
after LOGIN the session of each system user must run in a process of its
own ("ph-session", child of the master) with that user's uid/gid, for
IMAP and POP3, plaintext and TLS; one user's uid cannot open the other's
Maildir. Also: a command pipelined with the login is answered by the
session process, virtual users (passwd-file without uid) stay in the
worker, uid 0 and uids below first_valid_uid are refused, a session
process dies with its connection, and SIGTERM ends sessions with a BYE.
Needs root (CI runs as root): otherwise every test is skipped and says
why."""
import glob
import imaplib
import os
import poplib
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import harness

PAM_MATRIX_DIRS = ('/usr/lib/x86_64-linux-gnu/pam_wrapper',
                   '/usr/lib/aarch64-linux-gnu/pam_wrapper',
                   '/usr/lib/pam_wrapper', '/usr/lib64/pam_wrapper')
PAM_WRAPPER_LIBS = ('/usr/lib/x86_64-linux-gnu/libpam_wrapper.so',
                    '/usr/lib/aarch64-linux-gnu/libpam_wrapper.so',
                    '/usr/lib64/libpam_wrapper.so', '/usr/lib/libpam_wrapper.so')


def _first(paths):
    for p in paths:
        if os.path.exists(p):
            return p
    return None


PAM_MATRIX = _first(os.path.join(d, 'pam_matrix.so') for d in PAM_MATRIX_DIRS)
PAM_WRAPPER = _first(PAM_WRAPPER_LIBS)


def _skip_reason():
    if os.getuid() != 0:
        return 'needs root (useradd, setuid sessions); CI runs as root'
    for tool in ('useradd', 'userdel'):
        if shutil.which(tool) is None:
            return '%s not installed' % tool
    if PAM_WRAPPER is None or PAM_MATRIX is None:
        return 'pam_wrapper / pam_matrix not installed'
    for plugin in ('auth-pam', 'auth-passwdfile', 'storage-maildir',
                   'imap4', 'pop3'):
        if not harness.plugin_exists(plugin):
            return 'plugin %s not built' % plugin
    try:
        pwd.getpwnam('nobody')
    except KeyError:
        return 'no "nobody" user for the workers'
    return None


SKIP = _skip_reason()

MESSAGE = (b'From: sender@example.org\r\nTo: %s@example.org\r\n'
           b'Subject: for %s only\r\n\r\nPrivate body of %s.\r\n')


class Users:
    """Two system users with homes under a temp dir; PAM files."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix='ph-sess-')
        os.chmod(self.base, 0o755)
        tag = '%x%x' % (os.getpid() & 0xffff, int(time.time()) & 0xfff)
        self.names = ['pha%s' % tag, 'phb%s' % tag]
        self.passwords = {n: 'pw-%s' % n for n in self.names}
        self.created = []
        self.info = {}
        for name in self.names:
            home = os.path.join(self.base, name)
            subprocess.run(['useradd', '-M', '-U', '-d', home, '-s',
                            '/usr/sbin/nologin', name], check=True,
                           capture_output=True)
            self.created.append(name)
            pw = pwd.getpwnam(name)
            os.mkdir(home, 0o700)
            os.chown(home, pw.pw_uid, pw.pw_gid)
            os.chmod(home, 0o700)
            maildir = os.path.join(home, 'Maildir')
            self.message = {}
            self.info[name] = dict(uid=pw.pw_uid, gid=pw.pw_gid, home=home,
                                   maildir=maildir)
            body = MESSAGE % (name.encode(), name.encode(), name.encode())
            self.info[name]['body'] = body
            harness.deliver(maildir, name, body)
            # A message larger than every buffer on the way, to push the
            # TLS relay's back-pressure both ways.
            big = (b'Subject: big\r\n\r\n' +
                   b''.join(b'%s line %07d\r\n' % (name.encode(), i)
                            for i in range(120000)))
            self.info[name]['big'] = big
            harness.deliver(maildir, name, big, folder='Big')
            for root, dirs, files in os.walk(home):
                for d in dirs + files:
                    os.chown(os.path.join(root, d), pw.pw_uid, pw.pw_gid)
        # pam_matrix: "user:password:service"
        self.pam_dir = os.path.join(self.base, 'pam')
        os.makedirs(os.path.join(self.pam_dir, 'services'))
        passdb = os.path.join(self.pam_dir, 'passdb')
        with open(passdb, 'w') as f:
            for name in self.names:
                f.write('%s:%s:posthorn\n' % (name, self.passwords[name]))
        with open(os.path.join(self.pam_dir, 'services', 'posthorn'),
                  'w') as f:
            f.write('auth required %s passdb=%s\n'
                    'account required %s passdb=%s\n' %
                    (PAM_MATRIX, passdb, PAM_MATRIX, passdb))

    def env(self):
        asan = os.environ.get('ASAN_OPTIONS', '')
        return {
            'LD_PRELOAD': PAM_WRAPPER,
            'PAM_WRAPPER': '1',
            'PAM_WRAPPER_SERVICE_DIR': os.path.join(self.pam_dir, 'services'),
            # pam_wrapper dlopen()s libpam with RTLD_DEEPBIND, which the
            # sanitizer runtimes refuse (1.1.4 reads the UID_ spelling).
            'PAM_WRAPPER_DISABLE_DEEPBIND': '1',
            'UID_WRAPPER_DISABLE_DEEPBIND': '1',
            'ASAN_OPTIONS': (asan + ':' if asan else '') +
            'verify_asan_link_order=0',
        }

    def remove(self):
        for name in self.created:
            subprocess.run(['userdel', '-r', name], capture_output=True)
            subprocess.run(['groupdel', name], capture_output=True)
        self.created = []
        shutil.rmtree(self.base, ignore_errors=True)


USERS = None


def setUpModule():
    global USERS
    if SKIP:
        return
    USERS = Users()
    harness.unittest.addModuleCleanup(USERS.remove)


def session_procs(master_pid):
    """{pid: (uids, gids)} of the master's children named ph-session."""
    out = {}
    for status_path in glob.glob('/proc/[0-9]*/status'):
        try:
            with open(status_path) as f:
                status = f.read()
        except OSError:
            continue
        fields = dict(re.findall(r'^(\w+):\s*(.*)$', status, re.M))
        if fields.get('Name') != 'ph-session' or \
                fields.get('PPid') != str(master_pid):
            continue
        out[int(status_path.split('/')[2])] = (
            set(fields['Uid'].split()), set(fields['Gid'].split()))
    return out


def wait_for(pred, timeout=10, what='condition'):
    deadline = time.time() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError('timed out waiting for ' + what)
        time.sleep(0.05)


class SessionBase(harness.TestCase):
    listeners = {
        'imap': dict(protocol='imap4', tls='none', allow_plaintext='yes'),
        'imaps': dict(protocol='imap4', tls='implicit'),
        'pop3': dict(protocol='pop3', tls='none', allow_plaintext='yes'),
        'pop3s': dict(protocol='pop3', tls='implicit'),
        # An ABI 1.0-style protocol without conn_resume.
        'tp': dict(protocol='testproto', tls='none', allow_plaintext='yes'),
    }
    users = []
    core = {'user': 'nobody'}
    extra = {'auth': {'plugins': 'auth-passwdfile auth-pam',
                      'first_valid_uid': '500'},
             'auth-pam': {'service': 'posthorn'}}
    sanitizer_clean = True

    @classmethod
    def setUpClass(cls):
        if SKIP:
            raise harness.unittest.SkipTest(SKIP)
        nobody = pwd.getpwnam('nobody')
        cls.server = harness.Server(cls.listeners, (), cls.extra,
                                    workers=1, core=cls.core)
        try:
            # Virtual users: no uid (stays in the worker); uid 0 and a
            # uid below first_valid_uid (both refused).
            with open(cls.server.users_file, 'w') as f:
                f.write('virt:{PLAIN}vpw:::::\n')
                f.write('rootish:{PLAIN}rpw:0:0::/root::\n')
                f.write('lowuid:{PLAIN}lpw:100:100::/tmp::\n')
            os.chown(cls.server.mail_root, nobody.pw_uid, nobody.pw_gid)
            cls.prepare(cls.server)
            saved = dict(os.environ)
            os.environ.update(USERS.env())
            try:
                cls.server.start()
            finally:
                os.environ.clear()
                os.environ.update(saved)
        except Exception:
            cls.server.cleanup()
            raise

    @classmethod
    def prepare(cls, server):
        pass

    # ---- clients ----

    def ctx(self):
        ctx = ssl.create_default_context(cafile=self.server.ca_file)
        ctx.check_hostname = False
        return ctx

    def imap(self, tls):
        if tls:
            return imaplib.IMAP4_SSL(self.server.host,
                                     self.server.port('imaps'),
                                     ssl_context=self.ctx(), timeout=10)
        return imaplib.IMAP4(self.server.host, self.server.port('imap'),
                             timeout=10)

    def pop3(self, tls):
        if tls:
            return poplib.POP3_SSL(self.server.host, self.server.port('pop3s'),
                                   context=self.ctx(), timeout=10)
        return poplib.POP3(self.server.host, self.server.port('pop3'),
                           timeout=10)

    def raw(self, listener, tls):
        sock = socket.create_connection(
            (self.server.host, self.server.port(listener)), timeout=10)
        if tls:
            sock = self.ctx().wrap_socket(sock, server_hostname='localhost')
        return sock, sock.makefile('rb')

    def sessions_by_uid(self):
        by_uid = {}
        for pid, (uids, gids) in session_procs(self.server.pid).items():
            for uid in uids:
                by_uid.setdefault(int(uid), []).append((pid, uids, gids))
        return by_uid

    def assert_sessions_of_both(self):
        """Each user has one session process, with only its uid/gid."""
        expect = {USERS.info[n]['uid'] for n in USERS.names}
        by_uid = wait_for(
            lambda: (lambda d: d if expect <= set(d) else None)(
                self.sessions_by_uid()), what='both session processes')
        for name in USERS.names:
            info = USERS.info[name]
            procs = by_uid[info['uid']]
            self.assertEqual(len(procs), 1, procs)
            pid, uids, gids = procs[0]
            self.assertEqual(uids, {str(info['uid'])})
            self.assertEqual(gids, {str(info['gid'])})
            with open('/proc/%d/status' % pid) as f:
                self.assertRegex(f.read(), r'NoNewPrivs:\s+1')
            self.assertEqual(os.readlink('/proc/%d/cwd' % pid), info['home'])
        return by_uid

    def wait_no_sessions(self):
        wait_for(lambda: not session_procs(self.server.pid),
                 what='session processes to exit')


@harness.unittest.skipIf(SKIP, SKIP)
class SessionUsers(SessionBase):

    def setUp(self):
        # A session from the previous test may still be exiting.
        self.wait_no_sessions()

    def _both_imap(self, tls):
        clients = {}
        for name in USERS.names:
            m = self.imap(tls)
            typ, data = m.login(name, USERS.passwords[name])
            self.assertEqual(typ, 'OK')
            clients[name] = m
        self.assert_sessions_of_both()
        for name, m in clients.items():
            typ, data = m.select('INBOX')
            self.assertEqual((typ, data), ('OK', [b'1']))
            typ, data = m.fetch('1', '(BODY.PEEK[])')
            self.assertEqual(typ, 'OK')
            self.assertEqual(data[0][1], USERS.info[name]['body'])
        for m in clients.values():
            m.logout()
        self.wait_no_sessions()

    def _both_pop3(self, tls):
        clients = {}
        for name in USERS.names:
            p = self.pop3(tls)
            p.user(name)
            self.assertTrue(p.pass_(USERS.passwords[name]).startswith(
                b'+OK Logged in, 1 messages'))
            clients[name] = p
        self.assert_sessions_of_both()
        for name, p in clients.items():
            resp, lines, octets = p.retr(1)
            self.assertEqual(b'\r\n'.join(lines) + b'\r\n',
                             USERS.info[name]['body'])
        for p in clients.values():
            p.quit()
        self.wait_no_sessions()

    def test_imap_plaintext(self):
        self._both_imap(False)

    def test_imap_tls(self):
        self._both_imap(True)
        self.assertRegex(self.server.log_text(),
                         r'session moved to a process of its own '
                         r'\(TLS relayed here\)')

    def test_pop3_plaintext(self):
        self._both_pop3(False)

    def test_pop3_tls(self):
        self._both_pop3(True)

    def test_session_sees_tls_facts(self):
        # The session serves a TLS connection it never saw the handshake
        # of: it must still know TLS is on (IMAP offers no STARTTLS).
        a = USERS.names[0]
        m = self.imap(True)
        m.login(a, USERS.passwords[a])
        typ, caps = m.capability()
        self.assertNotIn(b'STARTTLS', caps[0])
        m.logout()

    def test_other_users_maildir_closed(self):
        a, b = USERS.names
        ia, ib = USERS.info[a], USERS.info[b]
        for (me, other) in ((ia, ib), (ib, ia)):
            pid = os.fork()
            if pid == 0:
                code = 3
                try:
                    os.setgroups([])
                    os.setgid(me['gid'])
                    os.setuid(me['uid'])
                    os.listdir(os.path.join(me['maildir'], 'new'))
                    try:
                        os.listdir(os.path.join(other['maildir'], 'new'))
                        code = 1
                    except PermissionError:
                        code = 0
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), 0,
                             "one user's uid could open the other's Maildir")

    def test_pipelined_imap_after_login(self):
        a = USERS.names[0]
        for tls in (False, True):
            sock, f = self.raw('imaps' if tls else 'imap', tls)
            self.assertTrue(f.readline().startswith(b'* OK'))
            sock.sendall(b'a LOGIN %s %s\r\nb SELECT INBOX\r\nc LOGOUT\r\n' %
                         (a.encode(), USERS.passwords[a].encode()))
            text = b''
            while not re.search(rb'(?m)^c OK', text):
                line = f.readline()
                self.assertTrue(line, text)
                text += line
            self.assertRegex(text, rb'(?m)^a OK ')
            self.assertRegex(text, rb'(?m)^\* 1 EXISTS')
            self.assertRegex(text, rb'(?m)^b OK \[READ-WRITE\]')
            sock.close()
        # SELECT was answered by the session process, not the worker.
        self.assertRegex(self.server.log_text(),
                         r'session: info: \S+ \S+: imap4: login: user=%s' % a)

    def test_pipelined_pop3_after_pass(self):
        a = USERS.names[0]
        sock, f = self.raw('pop3', False)
        self.assertTrue(f.readline().startswith(b'+OK'))
        sock.sendall(b'USER %s\r\nPASS %s\r\nSTAT\r\nQUIT\r\n' %
                     (a.encode(), USERS.passwords[a].encode()))
        self.assertTrue(f.readline().startswith(b'+OK'))
        self.assertTrue(f.readline().startswith(b'+OK Logged in'))
        self.assertEqual(f.readline(), b'+OK 1 %d\r\n' %
                         len(USERS.info[a]['body']))
        self.assertTrue(f.readline().startswith(b'+OK Logging out'))
        sock.close()

    def test_virtual_user_stays_in_worker(self):
        before = self.server.log_text()
        for tls in (False, True):
            m = self.imap(tls)
            self.assertEqual(m.login('virt', 'vpw')[0], 'OK')
            self.assertEqual(m.select('INBOX')[0], 'OK')
            self.assertEqual(session_procs(self.server.pid), {})
            m.logout()
        log = self.server.log_text()[len(before):]
        self.assertNotIn('session process for virt', log)
        self.assertRegex(log, r'worker 1: info: \S+ \S+: imap4: login: '
                              r'user=virt')

    def test_uid0_refused(self):
        m = self.imap(False)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login('rootish', 'rpw')
        m.logout()
        p = self.pop3(False)
        p.user('rootish')
        with self.assertRaises(poplib.error_proto):
            p.pass_('rpw')
        p.quit()
        self.assertRegex(self.server.log_text(),
                         r'login refused: user=rootish uid=0: logins with '
                         r'uid 0 are not permitted')
        self.assertEqual(session_procs(self.server.pid), {})

    def test_low_uid_refused(self):
        m = self.imap(True)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login('lowuid', 'lpw')
        m.logout()
        self.assertRegex(self.server.log_text(),
                         r'login refused: user=lowuid uid=100: uid below '
                         r'\[auth\] first_valid_uid')
        self.assertEqual(session_procs(self.server.pid), {})

    def test_big_fetch_through_tls_relay(self):
        for name in USERS.names:
            m = self.imap(True)
            m.login(name, USERS.passwords[name])
            self.assertEqual(m.select('Big')[0], 'OK')
            typ, data = m.fetch('1', '(BODY.PEEK[])')
            self.assertEqual(typ, 'OK')
            self.assertEqual(data[0][1], USERS.info[name]['big'])
            m.logout()

    def test_big_append_through_tls_relay(self):
        # Client -> session direction: a literal far larger than the
        # relay's buffers, stored as the user.
        a = USERS.names[0]
        body = (b'Subject: up\r\n\r\n' +
                b''.join(b'upload %07d\r\n' % i for i in range(150000)))
        m = self.imap(True)
        m.login(a, USERS.passwords[a])
        self.assertEqual(m.create('Up')[0], 'OK')
        try:
            self.assertEqual(m.append('Up', None, None, body)[0], 'OK')
            self.assertEqual(m.select('Up'), ('OK', [b'1']))
            typ, data = m.fetch('1', '(BODY.PEEK[])')
            self.assertEqual(data[0][1], body)
            # Written by the session: owned by the user.
            stored = glob.glob(os.path.join(USERS.info[a]['maildir'],
                                            '.Up', '*', '*'))
            self.assertTrue(stored)
            for path in stored:
                self.assertEqual(os.stat(path).st_uid,
                                 USERS.info[a]['uid'], path)
            m.close()
        finally:
            m.delete('Up')
            m.logout()

    def test_authenticate_plain(self):
        a = USERS.names[0]
        uid = USERS.info[a]['uid']
        m = self.imap(False)
        typ, _ = m.authenticate(
            'PLAIN', lambda _: ('\0%s\0%s' % (a, USERS.passwords[a])).encode())
        self.assertEqual(typ, 'OK')
        self.assertIn(uid, wait_for(self.sessions_by_uid,
                                    what='the session process'))
        self.assertEqual(m.select('INBOX'), ('OK', [b'1']))
        m.logout()

    def test_protocol_without_resume_refuses(self):
        a = USERS.names[0]
        sock, f = self.raw('tp', False)
        f.readline()
        sock.sendall(b'LOGIN %s %s\r\n' % (a.encode(),
                                            USERS.passwords[a].encode()))
        self.assertTrue(f.readline().startswith(b'-ERR'))
        sock.close()
        self.assertRegex(self.server.log_text(),
                         r'login refused: user=%s uid=\d+: .*cannot resume '
                         r'sessions' % a)
        self.assertEqual(session_procs(self.server.pid), {})

    def test_reload_keeps_sessions(self):
        a = USERS.names[0]
        uid = USERS.info[a]['uid']
        m = self.imap(True)
        m.login(a, USERS.passwords[a])
        pid = wait_for(lambda: self.sessions_by_uid().get(uid),
                       what='the session process')[0][0]
        self.server.reload()
        self.server.wait_log(r'configuration generation \d+ running')
        # The session (and the old worker relaying its TLS) outlive the
        # reload, and serve on.
        self.assertEqual(m.noop()[0], 'OK')
        self.assertEqual(m.select('INBOX'), ('OK', [b'1']))
        self.assertIn(pid, session_procs(self.server.pid))
        m.logout()
        wait_for(lambda: pid not in session_procs(self.server.pid),
                 what='the session to end after LOGOUT')

    def test_wrong_password_no_session(self):
        a = USERS.names[0]
        m = self.imap(False)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login(a, 'wrong')
        m.logout()
        self.assertEqual(session_procs(self.server.pid), {})

    def test_session_dies_with_connection(self):
        a = USERS.names[0]
        uid = USERS.info[a]['uid']
        for tls in (False, True):
            m = self.imap(tls)
            m.login(a, USERS.passwords[a])
            pids = wait_for(lambda: self.sessions_by_uid().get(uid),
                            what='the session process')
            self.assertEqual(len(pids), 1)
            pid = pids[0][0]
            m.shutdown()  # the client goes away without LOGOUT
            wait_for(lambda: not os.path.exists('/proc/%d' % pid) or
                     pid not in session_procs(self.server.pid),
                     what='session process %d to exit' % pid)
        self.server.wait_log(r'session process for %s \(uid %d\) exited'
                             % (a, uid))


@harness.unittest.skipIf(SKIP, SKIP)
class SessionShutdown(SessionBase):

    def test_sigterm_says_bye(self):
        a, b = USERS.names
        ma = self.imap(False)
        ma.login(a, USERS.passwords[a])
        mb = self.imap(True)
        mb.login(b, USERS.passwords[b])
        p = self.pop3(False)
        p.user(a)
        p.pass_(USERS.passwords[a])
        self.assertEqual(len(session_procs(self.server.pid)), 3)
        self.server.signal(signal.SIGTERM)
        for m in (ma, mb):
            line = m.readline()
            self.assertRegex(line, rb'^\* BYE \[UNAVAILABLE\] Server '
                                   rb'shutting down')
        self.assertRegex(p.file.readline(), rb'^-ERR \[SYS/TEMP\] Server '
                                            rb'shutting down')
        self.assertEqual(self.server.proc.wait(20), 0)
        self.assertEqual(session_procs(self.server.pid), {})


@harness.unittest.skipIf(SKIP, SKIP)
class SessionStartTls(SessionBase):
    listeners = {
        'imap': dict(protocol='imap4', tls='starttls'),
        'pop3': dict(protocol='pop3', tls='starttls'),
    }

    def test_imap_starttls(self):
        a = USERS.names[0]
        m = imaplib.IMAP4(self.server.host, self.server.port('imap'),
                          timeout=10)
        m.starttls(ssl_context=self.ctx())
        self.assertEqual(m.login(a, USERS.passwords[a])[0], 'OK')
        uid = USERS.info[a]['uid']
        self.assertIn(uid, wait_for(self.sessions_by_uid,
                                    what='the session process'))
        self.assertEqual(m.select('INBOX'), ('OK', [b'1']))
        m.logout()

    def test_pop3_stls(self):
        a = USERS.names[0]
        p = poplib.POP3(self.server.host, self.server.port('pop3'),
                        timeout=10)
        p.stls(context=self.ctx())
        p.user(a)
        self.assertTrue(p.pass_(USERS.passwords[a]).startswith(
            b'+OK Logged in, 1 messages'))
        self.assertEqual(p.stat()[0], 1)
        p.quit()


@harness.unittest.skipIf(SKIP, SKIP)
class SessionLimit(SessionBase):
    """Sessions count against [core] max_connections."""
    listeners = {
        'imap': dict(protocol='imap4', tls='none', allow_plaintext='yes'),
    }
    core = {'user': 'nobody', 'max_connections': '1'}

    def test_second_session_refused(self):
        a, b = USERS.names
        # The harness's readiness probes must be gone (limit of 1).
        wait_for(lambda: self.server.log_text().count('disconnect:') >=
                 self.server.probes, what='the probes to disconnect')
        ma = self.imap(False)
        self.assertEqual(ma.login(a, USERS.passwords[a])[0], 'OK')
        wait_for(self.sessions_by_uid, what='the first session')
        mb = self.imap(False)
        with self.assertRaises((imaplib.IMAP4.abort, OSError, EOFError)):
            mb.login(b, USERS.passwords[b])
            mb.select('INBOX')
        self.server.wait_log(r'session limit of 1 reached: closing the '
                             r'session of %s' % b)
        self.assertEqual(len(session_procs(self.server.pid)), 1)
        self.assertEqual(ma.select('INBOX'), ('OK', [b'1']))
        ma.logout()


@harness.unittest.skipIf(SKIP, SKIP)
class SessionNonRootMaster(SessionBase):
    """A master that is not root cannot switch uids: system users are
    refused with a clear log line, virtual users are served."""
    listeners = {
        'imap': dict(protocol='imap4', tls='none', allow_plaintext='yes'),
    }

    @classmethod
    def setUpClass(cls):
        if SKIP:
            raise harness.unittest.SkipTest(SKIP)
        nobody = pwd.getpwnam('nobody')
        wrapper = tempfile.NamedTemporaryFile('w', suffix='.sh',
                                              delete=False)
        wrapper.write('#!/bin/sh\nexec setpriv --reuid=%d --regid=%d '
                      '--clear-groups %s "$@"\n' %
                      (nobody.pw_uid, nobody.pw_gid, harness.POSTHORND))
        wrapper.close()
        os.chmod(wrapper.name, 0o755)
        cls.addClassCleanup(os.unlink, wrapper.name)
        saved = harness.POSTHORND
        harness.POSTHORND = wrapper.name
        try:
            super().setUpClass()
        finally:
            harness.POSTHORND = saved

    @classmethod
    def prepare(cls, server):
        nobody = pwd.getpwnam('nobody')
        for path in (server.state_dir, server.tmp):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)

    def test_system_user_refused(self):
        a = USERS.names[0]
        m = self.imap(False)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login(a, USERS.passwords[a])
        m.logout()
        m = self.imap(False)
        self.assertEqual(m.login('virt', 'vpw')[0], 'OK')
        self.assertEqual(m.select('INBOX')[0], 'OK')
        m.logout()
        self.assertRegex(self.server.log_text(),
                         r'login refused: user=%s uid=\d+: the user needs '
                         r'its own uid but the master does not run as '
                         r'root' % a)
        self.assertEqual(session_procs(self.server.pid), {})


class FirstValidUidConfig(harness.unittest.TestCase):
    """[auth] first_valid_uid is validated with FILE:LINE (no root needed)."""

    HEAD = ('[core]\nplugin_dir = %s\n[auth]\n' % harness.PLUGIN_DIR)

    def check(self, value):
        return harness.check_config(self.HEAD + 'first_valid_uid = %s\n'
                                    % value)

    def test_default_and_value(self):
        rc, out, err, _ = harness.check_config(self.HEAD)
        self.assertEqual(rc, 0, err)
        self.assertIn('first_valid_uid = 500\n', out)
        rc, out, err, _ = self.check('1000')
        self.assertEqual(rc, 0, err)
        self.assertIn('first_valid_uid = 1000\n', out)

    def test_not_a_number(self):
        rc, out, err, path = self.check('abc')
        self.assertEqual(rc, 1)
        self.assertIn('%s:4: ' % path, err)
        self.assertIn('first_valid_uid', err)

    def test_too_big(self):
        rc, out, err, path = self.check('4294967295')
        self.assertEqual(rc, 1)
        self.assertIn('%s:4: [auth] first_valid_uid: must be below' % path,
                      err)


if __name__ == '__main__':
    harness.main()
