#!/usr/bin/env python3
"""Issue 4: 10,000 failed IMAP logins from one IP. The attacker's answers
slow down, a user on another address logs in at once meanwhile, and the
daemon's memory stays flat. Penalties are set to 2 s so the test runs in
seconds; their growth up to 15 s is covered by test_auth_service."""
import os
import resource
import selectors
import socket
import time

import harness

ATTEMPTS = 10000
PENALTY = 2  # seconds; a victim's login must take well under this
CONNECTIONS = 1000
ATTACKER = '127.0.0.1'
VICTIM_SIDE = '127.0.0.2'  # another loopback address: another client IP


def daemon_pids(master):
    """The master and its children (workers, auth service)."""
    pids = [master]
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry) as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            except OSError:
                continue
            if ppid == master:
                pids.append(int(entry))
    return pids


class Attacker:
    """CONNECTIONS connections, each sending one wrong LOGIN at a time
    until ATTEMPTS answers have come back; records answer latencies."""

    def __init__(self, server):
        self.server = server
        self.sel = selectors.DefaultSelector()
        self.sent = self.answered = 0
        self.latencies = []  # (sequence number, seconds)

    def send_one(self, s, state):
        if self.sent >= ATTEMPTS:
            return
        self.sent += 1
        state['t'] = time.time()
        state['n'] = self.sent
        # alternately a real user and a sprayed new name each time
        user = b'alice' if self.sent % 2 else b'user%d' % self.sent
        s.sendall(b'a%d LOGIN %s wrong%d\r\n' % (self.sent, user,
                                                   self.sent))

    def run(self, on_progress):
        for _ in range(CONNECTIONS):
            s = socket.create_connection(
                (self.server.host, self.server.port('imap')), timeout=30)
            s.setblocking(False)
            state = {'buf': b'', 'greeted': False}
            self.sel.register(s, selectors.EVENT_READ, state)
        deadline = time.time() + 300
        while self.answered < ATTEMPTS and time.time() < deadline:
            for key, _ in self.sel.select(timeout=1):
                s, state = key.fileobj, key.data
                data = s.recv(65536)
                if not data:
                    raise AssertionError('attacker connection closed after '
                                         '%d answers' % self.answered)
                state['buf'] += data
                while b'\r\n' in state['buf']:
                    line, state['buf'] = state['buf'].split(b'\r\n', 1)
                    if not state['greeted']:
                        state['greeted'] = True
                        self.send_one(s, state)
                    elif line.startswith(b'a'):
                        assert b' NO ' in line, line
                        self.answered += 1
                        self.latencies.append(
                            (state['n'], time.time() - state['t']))
                        on_progress(self.answered)
                        self.send_one(s, state)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        return self.answered


class BruteForce(harness.TestCase):
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'right-password'), ('bob', 'bobs-password')]
    core = {'max_connections_per_ip': CONNECTIONS + 10}
    extra = {'auth': {'penalty_base': '%ds' % PENALTY,
                      'penalty_max': '%ds' % PENALTY}}

    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = CONNECTIONS + 200
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (min(want, hard), hard))
        # Under ASan freed memory sits in a quarantine (256 MiB by default)
        # that would read as growth; keep it small so RSS means something.
        os.environ['ASAN_OPTIONS'] = ':'.join(
            x for x in (os.environ.get('ASAN_OPTIONS', ''),
                        'quarantine_size_mb=4') if x)
        super().setUpClass()

    def victim_login(self):
        s = socket.socket()
        s.bind((VICTIM_SIDE, 0))
        s.settimeout(10)
        s.connect((self.server.host, self.server.port('imap')))
        c = harness.LineClient(s)
        try:
            self.assertTrue(c.line().startswith('* OK'))
            t = time.time()
            line = c.cmd('v LOGIN bob bobs-password')
            elapsed = time.time() - t
            self.assertTrue(line.startswith('v OK'), line)
            return elapsed
        finally:
            c.close()

    def test_ten_thousand_failures(self):
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < CONNECTIONS + 100:
            self.skipTest('cannot open %d sockets' % CONNECTIONS)
        pids = daemon_pids(self.server.pid)
        checks = {}

        def on_progress(n):
            if n == 2000:
                checks['rss_2000'] = sum(harness.rss_kb(p) for p in pids)
                checks['per'] = {p: harness.rss_kb(p) for p in pids}
            if n in (3000, 6000, 9000):
                checks.setdefault('victim', []).append(self.victim_login())

        attacker = Attacker(self.server)
        answered = attacker.run(on_progress)
        self.assertEqual(answered, ATTEMPTS)
        rss_end = sum(harness.rss_kb(p) for p in pids)
        # memory stays flat: the last 8,000 failures add (almost) nothing
        self.assertLess(rss_end - checks['rss_2000'], 16 * 1024,
                        (checks['per'], {p: harness.rss_kb(p) for p in pids}))
        # the attacker is slowed down: its first answers come at once,
        # later ones only after the penalty
        first = min(t for n, t in attacker.latencies if n <= CONNECTIONS)
        late = sorted(t for n, t in attacker.latencies if n > CONNECTIONS)
        print('attacker: fastest first-round answer %.3f s, median later '
              '%.3f s; victim logins %s' %
              (first, late[len(late) // 2], checks['victim']))
        self.assertLess(first, PENALTY * 0.5)
        self.assertGreaterEqual(late[len(late) // 2], PENALTY * 0.9)
        # another client logged in undelayed while the attack ran
        self.assertEqual(len(checks['victim']), 3)
        for elapsed in checks['victim']:
            # queued behind a burst of attack requests at worst, never
            # behind the attacker's penalty
            self.assertLess(elapsed, PENALTY * 0.75)
        self.server.wait_log(r'auth failed: user=<alice> rip=127\.0\.0\.1 ')


if __name__ == '__main__':
    harness.main()
