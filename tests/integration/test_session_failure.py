#!/usr/bin/env python3
"""A system user's session process that cannot start (docs/sessions.md,
"When a session cannot start"): the client gets a protocol-correct
temporary failure to its login command, IMAP "* BYE [UNAVAILABLE]" and
"tag NO [UNAVAILABLE]" (RFC 5530), POP3 "-ERR [SYS/TEMP]" (RFC 3206), the
commands it pipelined behind the login are not run, the connection
closes, one log line says "session for USER (uid N) from IP failed: WHY",
and the daemon stays healthy (the other user logs in right after).

Each failure mode is provoked for real, deterministically:
- the uid switch: setresuid() fails for one uid (an LD_PRELOAD shim built
  here with cc, the way pam_wrapper stands in for PAM);
- the mail store: the user's Maildir made unreadable to the user;
- a process limit on the master: a pids cgroup with room for the master
  alone (RLIMIT_NPROC cannot do it: root is exempt from it at fork), or
  where no pids cgroup can be made, the shim failing the master's fork()
  the way that limit does (EAGAIN);
- the session limit ([core] max_connections);
- the ticket: it expires while the master is stopped (SIGSTOP);
- the session process killed (SIGKILL) while it redeems its ticket, with
  the auth service stopped so that it waits there.
Plaintext and TLS (the TLS session and its relay stay in the worker).
Needs root like the other session tests (CI runs as root): skipped
otherwise, and each test says why when its own tool is missing."""
import base64
import imaplib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import harness
import test_session_users as su

SKIP = su.SKIP


def setUpModule():
    if SKIP:
        return
    su.USERS = su.Users()
    harness.unittest.addModuleCleanup(su.USERS.remove)


SHIM_C = r'''
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* fork() fails with EAGAIN in the process whose pid the file
 * PH_TEST_FAIL_FORK_FILE holds, while it exists: a process limit on that
 * one process, where no pids cgroup can be made. */
pid_t fork(void)
{
	static pid_t (*real)(void);
	const char *f = getenv("PH_TEST_FAIL_FORK_FILE");
	FILE *fp = f != NULL && *f != '\0' ? fopen(f, "r") : NULL;
	long pid = -1;

	if (fp != NULL) {
		if (fscanf(fp, "%ld", &pid) != 1)
			pid = -1;
		fclose(fp);
	}
	if (pid == (long)getpid()) {
		errno = EAGAIN;
		return -1;
	}
	if (real == NULL)
		real = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
	return real();
}

/* setresuid() to the uid in PH_TEST_FAIL_SETRESUID fails with EAGAIN,
 * as it did when the target user was over RLIMIT_NPROC (Linux < 3.1). */
int setresuid(uid_t r, uid_t e, uid_t s)
{
	static int (*real)(uid_t, uid_t, uid_t);
	const char *v = getenv("PH_TEST_FAIL_SETRESUID");

	if (v != NULL && *v != '\0' && (uid_t)strtoul(v, NULL, 10) == r) {
		errno = EAGAIN;
		return -1;
	}
	if (real == NULL)
		real = (int (*)(uid_t, uid_t, uid_t))dlsym(RTLD_NEXT,
							    "setresuid");
	return real(r, e, s);
}
'''


def build_shim():
    """The setresuid shim as a shared object, or None without cc."""
    cc = shutil.which('cc') or shutil.which('gcc') or shutil.which('clang')
    if cc is None:
        return None
    d = tempfile.mkdtemp(prefix='ph-shim-')
    harness.unittest.addModuleCleanup(shutil.rmtree, d, True)
    src = os.path.join(d, 'failuid.c')
    out = os.path.join(d, 'failuid.so')
    with open(src, 'w') as f:
        f.write(SHIM_C)
    r = subprocess.run([cc, '-shared', '-fPIC', '-O1', '-o', out, src,
                        '-ldl'], capture_output=True)
    if r.returncode != 0:
        return None
    os.chmod(d, 0o755)
    os.chmod(out, 0o755)
    return out


class PidsCgroup:
    """Puts one process into a new pids cgroup with room for what it has
    now and nothing more: its next fork() fails with EAGAIN, root or not
    (the limit RLIMIT_NPROC would be, if root were not exempt from it).
    cgroup v1 (a "pids" hierarchy) or v2 (pids in the parent's
    subtree_control); None from create() when neither is usable."""

    def __init__(self, path, parent_procs, pid):
        self.path, self.parent_procs, self.pid = path, parent_procs, pid

    @classmethod
    def create(cls, pid):
        name = 'ph-test-%d-%d' % (os.getpid(), pid)
        candidates = []
        try:
            with open('/proc/%d/cgroup' % pid) as f:
                lines = f.read().splitlines()
        except OSError:
            return None
        for line in lines:
            hid, ctrls, rel = line.split(':', 2)
            if 'pids' in ctrls.split(','):
                candidates.append(os.path.join('/sys/fs/cgroup/pids',
                                               rel.lstrip('/')))
            elif hid == '0' and ctrls == '':
                candidates.append(os.path.join('/sys/fs/cgroup',
                                               rel.lstrip('/')))
        for parent in candidates:
            path = os.path.join(parent, name)
            try:
                os.mkdir(path)
            except OSError:
                continue
            if not os.path.exists(os.path.join(path, 'pids.max')):
                os.rmdir(path)
                continue
            try:
                with open(os.path.join(path, 'cgroup.procs'), 'w') as f:
                    f.write(str(pid))
                with open(os.path.join(path, 'pids.current')) as f:
                    current = int(f.read())
                with open(os.path.join(path, 'pids.max'), 'w') as f:
                    f.write(str(current))
            except OSError:
                cls(path, os.path.join(parent, 'cgroup.procs'),
                    pid).remove()
                continue
            return cls(path, os.path.join(parent, 'cgroup.procs'), pid)
        return None

    def remove(self):
        try:
            with open(self.parent_procs, 'w') as f:
                f.write(str(self.pid))
        except OSError:
            pass
        for _ in range(50):
            try:
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.1)


def fail_pattern(name, why):
    uid = su.USERS.info[name]['uid']
    return (r'session for %s \(uid %d\) from 127\.0\.0\.1 failed: %s'
            % (name, uid, why))


class FailureBase(su.SessionBase):
    listeners = {
        'imap': dict(protocol='imap4', tls='none', allow_plaintext='yes'),
        'imaps': dict(protocol='imap4', tls='implicit'),
        'pop3': dict(protocol='pop3', tls='none', allow_plaintext='yes'),
        'pop3s': dict(protocol='pop3', tls='implicit'),
    }
    # Where each protocol's login is tried: plaintext and TLS.
    ATTEMPTS = (('imap', False), ('pop3', False), ('imaps', True),
                ('pop3s', True))

    def setUp(self):
        self.wait_no_sessions()

    # ---- one login that must fail temporarily ----

    def start_login(self, listener, tls, name, sasl=False):
        """Connects and sends the login (LOGIN / USER+PASS, or with `sasl`
        AUTHENTICATE / AUTH PLAIN with an initial response) with a command
        pipelined behind it. Returns (sock, file)."""
        sock, f = self.raw(listener, tls)
        pw = su.USERS.passwords[name]
        ir = base64.b64encode(b'\0%s\0%s' % (name.encode(), pw.encode()))
        greeting = f.readline()
        if listener.startswith('imap'):
            self.assertTrue(greeting.startswith(b'* OK'), greeting)
            login = (b'a1 AUTHENTICATE PLAIN %s' % ir if sasl else
                     b'a1 LOGIN %s %s' % (name.encode(), pw.encode()))
            sock.sendall(login + b'\r\na2 NOOP\r\n')
        else:
            self.assertTrue(greeting.startswith(b'+OK'), greeting)
            if sasl:
                sock.sendall(b'AUTH PLAIN %s\r\nSTAT\r\n' % ir)
            else:
                sock.sendall(b'USER %s\r\n' % name.encode())
                self.assertTrue(f.readline().startswith(b'+OK'))
                sock.sendall(b'PASS %s\r\nSTAT\r\n' % pw.encode())
        return sock, f

    def read_to_eof(self, sock, f):
        data = b''
        sock.settimeout(20)
        while True:
            try:
                line = f.readline()
            except (ssl.SSLError, ConnectionResetError) as e:
                raise AssertionError('connection broke after %r: %s'
                                     % (data, e))
            except socket.timeout:
                raise AssertionError('no answer or no close after %r'
                                     % data)
            if not line:
                return data
            data += line

    def finish_login(self, listener, sock, f):
        """The temporary failure, nothing for the pipelined command, and
        the close."""
        try:
            data = self.read_to_eof(sock, f)
        finally:
            sock.close()
        if listener.startswith('imap'):
            self.assertRegex(data, rb'(?m)^\* BYE \[UNAVAILABLE\] ')
            self.assertRegex(data, rb'(?m)^a1 NO \[UNAVAILABLE\] ')
            self.assertNotRegex(data, rb'(?m)^a2 ')
            self.assertNotIn(b'a1 OK', data)
        else:
            self.assertRegex(data, rb'^-ERR \[SYS/TEMP\] [^\r\n]+\r\n$')

    def assert_login_fails(self, listener, tls, name, sasl=False):
        sock, f = self.start_login(listener, tls, name, sasl)
        self.finish_login(listener, sock, f)

    # ---- the daemon is fine ----

    def assert_login_works(self, name):
        for tls in (False, True):
            m = self.imap(tls)
            self.assertEqual(m.login(name, su.USERS.passwords[name])[0],
                             'OK')
            self.assertEqual(m.select('INBOX'), ('OK', [b'1']))
            m.logout()
            self.wait_no_sessions()  # one at a time: a class has a limit
            p = self.pop3(tls)
            p.user(name)
            self.assertTrue(p.pass_(su.USERS.passwords[name]).startswith(
                b'+OK Logged in, 1 messages'))
            p.quit()
            self.wait_no_sessions()

    def count(self, pattern):
        return len(re.findall(pattern, self.server.log_text()))

    def wait_count(self, pattern, n, what):
        su.wait_for(lambda: self.count(pattern) >= n, what=what)

    def no_session_of(self, name):
        uid = su.USERS.info[name]['uid']
        su.wait_for(lambda: uid not in self.sessions_by_uid(),
                    what='no session process of %s' % name)


class ShimBase(FailureBase):
    """The daemon runs with the fault shim preloaded and shim_env()."""
    SHIM = None

    @classmethod
    def shim_env(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        if SKIP:
            raise harness.unittest.SkipTest(SKIP)
        cls.SHIM = build_shim()
        if cls.SHIM is None:
            raise harness.unittest.SkipTest('no C compiler for the shim')
        env = su.USERS.env()
        env['LD_PRELOAD'] = env['LD_PRELOAD'] + ' ' + cls.SHIM
        env.update(cls.shim_env())
        su.USERS.env = lambda: env
        try:
            super().setUpClass()
        finally:
            del su.USERS.env


@harness.unittest.skipIf(SKIP, SKIP)
class SessionUidSwitchFails(ShimBase):
    """setresuid() to B's uid fails in B's session child."""

    @classmethod
    def shim_env(cls):
        b = su.USERS.names[1]
        return {'PH_TEST_FAIL_SETRESUID': str(su.USERS.info[b]['uid'])}

    def test_uid_switch_fails(self):
        a, b = su.USERS.names
        uid = su.USERS.info[b]['uid']
        for n, (listener, tls) in enumerate(self.ATTEMPTS, 1):
            self.assert_login_fails(listener, tls, b)
            self.wait_count(fail_pattern(
                b, r'setresuid to uid %d: Resource temporarily '
                   r'unavailable' % uid), n, 'the failure line')
        self.no_session_of(b)
        self.assert_login_works(a)
        log = self.server.log_text()
        self.assertRegex(log, r'session not started: answering the login '
                              r'with a temporary failure')
        self.assertNotIn('ERROR: AddressSanitizer', log)

    def test_uid_switch_fails_sasl(self):
        # AUTHENTICATE / AUTH are answered the same way as LOGIN / PASS.
        b = su.USERS.names[1]
        pattern = fail_pattern(b, r'setresuid to uid %d: '
                               % su.USERS.info[b]['uid'])
        before = self.count(pattern)
        for n, (listener, tls) in enumerate(self.ATTEMPTS, 1):
            self.assert_login_fails(listener, tls, b, sasl=True)
            self.wait_count(pattern, before + n, 'the failure line')
        self.no_session_of(b)


@harness.unittest.skipIf(SKIP, SKIP)
class SessionMailStoreFails(FailureBase):
    """B's Maildir belongs to root, mode 000: B's session cannot open
    it."""

    def test_mail_store_unopenable(self):
        a, b = su.USERS.names
        maildir = su.USERS.info[b]['maildir']
        st = os.stat(maildir)
        os.chown(maildir, 0, 0)
        os.chmod(maildir, 0)
        try:
            for n, (listener, tls) in enumerate(self.ATTEMPTS, 1):
                self.assert_login_fails(listener, tls, b)
                self.wait_count(fail_pattern(b, r'mail store: '), n,
                                'the failure line')
            self.no_session_of(b)
            self.assert_login_works(a)
        finally:
            os.chown(maildir, st.st_uid, st.st_gid)
            os.chmod(maildir, st.st_mode & 0o7777)
        # Fixed: B is served again.
        self.assert_login_works(b)


@harness.unittest.skipIf(SKIP, SKIP)
class SessionForkFails(ShimBase):
    """The master cannot fork: a pids cgroup with room for the master
    alone (the kernel's own limit) where one can be made, else the shim
    failing fork() like that limit does."""
    TRIGGER = None

    @classmethod
    def shim_env(cls):
        cls.TRIGGER = os.path.join(tempfile.mkdtemp(prefix='ph-fork-'),
                                   'fail-fork')
        harness.unittest.addModuleCleanup(
            shutil.rmtree, os.path.dirname(cls.TRIGGER), True)
        return {'PH_TEST_FAIL_FORK_FILE': cls.TRIGGER}

    def test_fork_fails(self):
        a, b = su.USERS.names
        cg = PidsCgroup.create(self.server.pid)
        if cg is None:
            with open(self.TRIGGER, 'w') as f:
                f.write('%d\n' % self.server.pid)
        try:
            for n, (listener, tls) in enumerate(self.ATTEMPTS, 1):
                self.assert_login_fails(listener, tls, a)
                self.wait_count(fail_pattern(
                    a, r'fork: Resource temporarily unavailable'), n,
                    'the failure line')
        finally:
            if cg is not None:
                cg.remove()
            else:
                os.unlink(self.TRIGGER)
        self.assertEqual(self.sessions_by_uid(), {})
        self.assert_login_works(a)
        self.assert_login_works(b)


@harness.unittest.skipIf(SKIP, SKIP)
class SessionLimitReached(FailureBase):
    """[core] max_connections counts sessions: one more is answered."""
    core = {'user': 'nobody', 'max_connections': '1'}

    def first_connection(self):
        """The one connection the limit allows. A probe's slot can still
        be taken for a moment after its disconnect line (the worker
        finishes closing it): a refusal at accept is retried briefly."""
        deadline = time.time() + 5
        while True:
            try:
                return self.imap(False)
            except imaplib.IMAP4.abort:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

    def test_session_limit(self):
        a, b = su.USERS.names
        # The readiness probes count too (some were refused at accept,
        # over the limit, without a connect line).
        su.wait_for(lambda: self.count(r': connect: ') ==
                    self.count(r': disconnect: '), what='the probes to go')
        ma = self.first_connection()
        self.assertEqual(ma.login(a, su.USERS.passwords[a])[0], 'OK')
        su.wait_for(self.sessions_by_uid, what='the first session')
        # The worker let go of it (it holds a plaintext connection until
        # the session reports): the next one is not refused at accept.
        self.wait_count(r'disconnect: reason=moved to a session process',
                        1, 'the worker to let go of the first session')
        for n, (listener, tls) in enumerate(self.ATTEMPTS, 1):
            self.assert_login_fails(listener, tls, b)
            self.wait_count(fail_pattern(
                b, r'session limit of 1 reached \(\[core\] '
                   r'max_connections\)'), n, 'the failure line')
            # Gone from the worker too, before the next one connects.
            self.wait_count(r'disconnect: reason=session not started', n,
                            'the worker to let go')
        self.assertEqual(ma.select('INBOX'), ('OK', [b'1']))
        ma.logout()
        self.wait_no_sessions()
        self.assert_login_works(b)


class StoppedMasterBase(FailureBase):
    """Logins handed over while the master is stopped (SIGSTOP): the
    worker has sent the handoff and waits; what happens before the
    master takes it is up to the test."""

    def handed_over(self, listener, tls, name):
        """The login sent and handed to the stopped master."""
        moved = r'session moved to a process of its own'
        before = self.count(moved)
        os.kill(self.server.pid, signal.SIGSTOP)
        try:
            sock, f = self.start_login(listener, tls, name)
            self.wait_count(moved, before + 1, 'the handoff')
        except BaseException:
            os.kill(self.server.pid, signal.SIGCONT)
            raise
        return sock, f


@harness.unittest.skipIf(SKIP, SKIP)
class SessionTicketExpires(StoppedMasterBase):
    extra = dict(su.SessionBase.extra)
    extra['auth'] = dict(su.SessionBase.extra['auth'],
                         session_ticket_ttl='1s')

    def test_ticket_expired(self):
        a = su.USERS.names[0]
        for n, (listener, tls) in enumerate(self.ATTEMPTS, 1):
            sock, f = self.handed_over(listener, tls, a)
            time.sleep(1.5)
            os.kill(self.server.pid, signal.SIGCONT)
            self.finish_login(listener, sock, f)
            self.wait_count(fail_pattern(
                a, r'session refused: ticket refused by the auth service: '
                   r'expired ticket'), n, 'the failure line')
        self.no_session_of(a)
        self.assert_login_works(a)


@harness.unittest.skipIf(SKIP, SKIP)
class SessionKilledBeforeStart(StoppedMasterBase):

    def auth_pid(self):
        return int(self.server.wait_log(
            r'posthornd\[(\d+)\] auth: info: auth: serving').group(1))

    def test_killed_before_resume(self):
        a = su.USERS.names[0]
        auth = self.auth_pid()
        for n, (listener, tls) in enumerate(self.ATTEMPTS, 1):
            sock, f = self.handed_over(listener, tls, a)
            # The child will wait for the stopped service in its redeem.
            os.kill(auth, signal.SIGSTOP)
            try:
                os.kill(self.server.pid, signal.SIGCONT)
                pids = su.wait_for(lambda: list(su.session_procs(
                    self.server.pid)), what='the session process')
                self.assertEqual(len(pids), 1)
                os.kill(pids[0], signal.SIGKILL)
                self.finish_login(listener, sock, f)
            finally:
                os.kill(auth, signal.SIGCONT)
            self.wait_count(fail_pattern(
                a, r'session process killed by signal 9 \(Killed\) '
                   r'before it started'), n, 'the failure line')
        self.assertEqual(self.auth_pid(), auth)
        self.assert_login_works(a)


if __name__ == '__main__':
    harness.main()
