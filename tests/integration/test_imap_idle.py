#!/usr/bin/env python3
"""IDLE (RFC 2177): news pushed to an idling client when another session
appends, stores flags or expunges, or an MTA delivers; DONE; bad input
while idling; bursts coalesced; memory of many idlers bounded.

Waits are bounded (the idler must see the news within a few seconds) but
no latency is measured."""
import imaplib
import re
import socket
import time

import harness

WAIT = 15  # seconds an idler may take to see a change (ASan, busy box)


def msg(subject):
    return ('From: a@example.org\r\nSubject: %s\r\n\r\nbody of %s\r\n' %
            (subject, subject)).encode()


class Idler:
    """A raw IMAP connection that logs in, selects and idles."""

    def __init__(self, server, user, password, mailbox='INBOX',
                 rcvbuf=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connect, so the window is small
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(WAIT)
        s.connect((server.host, server.port('imap')))
        self.c = harness.LineClient(s)
        assert self.c.line().startswith('* OK')
        assert self.c.cmd('a LOGIN %s %s' % (user, password)).startswith(
            'a OK')
        self.exists = None
        if mailbox is not None:
            self.c.send('b SELECT %s\r\n' % mailbox)
            while True:
                line = self.c.line()
                m = re.match(r'\* (\d+) EXISTS', line)
                if m:
                    self.exists = int(m.group(1))
                if line.startswith('b '):
                    assert line.startswith('b OK'), line
                    break

    def idle(self, tag='i'):
        self.tag = tag
        self.c.send('%s IDLE\r\n' % tag)
        lines = []
        while True:
            line = self.c.line()
            assert line, 'closed'
            if line.startswith('+'):
                return lines
            lines.append(line)

    def wait_for(self, pattern, timeout=WAIT):
        """Reads untagged lines until one matches; returns the match and
        every line read."""
        end = time.time() + timeout
        seen = []
        while time.time() < end:
            self.c.sock.settimeout(max(0.01, end - time.time()))
            try:
                line = self.c.line()
            except socket.timeout:
                break
            finally:
                self.c.sock.settimeout(WAIT)
            if not line:
                break
            seen.append(line)
            m = re.match(pattern, line)
            if m:
                return m, seen
        raise AssertionError('%r not received in %ss; got %r' %
                             (pattern, timeout, seen))

    def done(self):
        self.c.send('DONE\r\n')
        lines = []
        while True:
            line = self.c.line()
            assert line, 'closed'
            lines.append(line)
            if line.startswith(self.tag + ' '):
                return lines

    def close(self):
        self.c.close()


class ImapIdle(harness.TestCase):
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'secret'), ('bob', 'pw'), ('carol', 'pw'),
             ('dave', 'pw'), ('erin', 'pw'), ('frank', 'pw'),
             ('gina', 'pw'), ('hank', 'pw'), ('ivan', 'pw'), ('judy', 'pw'),
             ('many', 'pw')]
    core = {'max_connections_per_ip': 1000}
    # Every change below must be pushed: a poll would come too late.
    extra = {'imap4': {'idle_poll_interval': '1h'}}

    def other(self, user, password='pw'):
        m = imaplib.IMAP4(self.server.host, self.server.port('imap'))
        self.addCleanup(harness.quiet_logout, m)
        self.assertEqual(m.login(user, password)[0], 'OK')
        return m

    def idler(self, user, password='pw', mailbox='INBOX', rcvbuf=None):
        i = Idler(self.server, user, password, mailbox, rcvbuf)
        self.addCleanup(i.close)
        return i

    def test_capability(self):
        m = self.other('alice', 'secret')
        self.assertIn('IDLE', m.capabilities)

    def test_append_pushes_exists(self):
        harness.deliver(self.server, 'alice', msg('first'))
        i = self.idler('alice', 'secret')
        self.assertEqual(i.exists, 1)
        i.idle()
        m = self.other('alice', 'secret')
        m.append('INBOX', None, None, msg('appended'))
        i.wait_for(r'\* 2 EXISTS$')
        self.assertEqual(i.done()[-1], 'i OK Idle completed.')

    def test_store_pushes_flags(self):
        for n in range(3):
            harness.deliver(self.server, 'bob', msg('s%d' % n))
        i = self.idler('bob')
        i.idle()
        m = self.other('bob')
        m.select('INBOX')
        m.store('2', '+FLAGS', '(\\Flagged)')
        match, _ = i.wait_for(r'\* 2 FETCH \(FLAGS \(([^)]*)\)\)$')
        self.assertIn('\\Flagged', match.group(1))
        i.done()

    def test_expunge_pushes_expunge(self):
        for n in range(3):
            harness.deliver(self.server, 'carol', msg('e%d' % n))
        i = self.idler('carol')
        i.idle()
        m = self.other('carol')
        m.select('INBOX')
        m.store('3', '+FLAGS', '(\\Deleted)')
        m.expunge()
        i.wait_for(r'\* 3 EXPUNGE$')
        i.done()
        # the idler's numbering follows: message 3 is gone
        self.assertTrue(i.c.cmd('f FETCH 3 FLAGS').startswith('f BAD'))

    def test_delivery_wakes_idler(self):
        i = self.idler('dave')
        self.assertEqual(i.exists, 0)
        i.idle()
        harness.deliver(self.server, 'dave', msg('by the MTA'))
        i.wait_for(r'\* 1 EXISTS$')
        lines = i.done()
        self.assertEqual(lines[-1], 'i OK Idle completed.')
        self.assertTrue(i.c.cmd('n NOOP').startswith('n OK'))

    def test_done_pipelined_with_next_command(self):
        i = self.idler('erin')
        i.idle()
        i.c.send('DONE\r\nn NOOP\r\n')
        self.assertEqual(i.c.line(), 'i OK Idle completed.')
        self.assertTrue(i.c.line().startswith('n OK'))

    def test_done_lower_case(self):
        i = self.idler('erin')
        i.idle()
        i.c.send('done\r\n')
        self.assertEqual(i.c.line(), 'i OK Idle completed.')

    def test_idle_in_authenticated_state(self):
        i = self.idler('erin', mailbox=None)
        self.assertEqual(i.idle(), [])
        self.assertEqual(i.done(), ['i OK Idle completed.'])

    def test_news_before_continuation(self):
        """Changes made before IDLE are reported when it starts."""
        i = self.idler('frank')
        harness.deliver(self.server, 'frank', msg('before idle'))
        lines = i.idle()
        self.assertIn('* 1 EXISTS', lines)
        i.done()

    # ---- bad input, each its own test ----

    def test_bad_command_during_idle(self):
        i = self.idler('gina')
        i.idle()
        i.c.send('x NOOP\r\n')
        self.assertTrue(i.c.line().startswith('i BAD'))
        # IDLE is over: commands run again
        self.assertTrue(i.c.cmd('n NOOP').startswith('n OK'))

    def test_done_with_trailing_text(self):
        i = self.idler('gina')
        i.idle()
        i.c.send('DONE now\r\n')
        self.assertTrue(i.c.line().startswith('i BAD'))
        self.assertTrue(i.c.cmd('n NOOP').startswith('n OK'))

    def test_long_line_during_idle(self):
        i = self.idler('gina')
        i.idle()
        i.c.send('D' * 100000 + '\r\n')
        self.assertTrue(i.c.line().startswith('i BAD'))
        self.assertTrue(i.c.cmd('n NOOP').startswith('n OK'))

    def test_empty_line_during_idle(self):
        i = self.idler('gina')
        i.idle()
        i.c.send('\r\n')
        self.assertTrue(i.c.line().startswith('i BAD'))
        self.assertTrue(i.c.cmd('n NOOP').startswith('n OK'))

    def test_idle_with_arguments(self):
        i = self.idler('gina')
        self.assertTrue(i.c.cmd('i IDLE now').startswith('i BAD'))
        self.assertTrue(i.c.cmd('n NOOP').startswith('n OK'))

    def test_idle_before_login(self):
        c = self.server.connect('imap')
        self.addCleanup(c.close)
        self.assertTrue(c.line().startswith('* OK'))
        self.assertTrue(c.cmd('i IDLE').startswith('i BAD'))

    def test_uid_idle(self):
        i = self.idler('gina')
        self.assertTrue(i.c.cmd('i UID IDLE').startswith('i BAD'))

    def test_close_while_idling(self):
        i = self.idler('gina')
        i.idle()
        i.close()
        # the server is fine and the next client is served
        m = self.other('gina')
        self.assertEqual(m.select('INBOX')[0], 'OK')

    # ---- coalescing and memory ----

    def test_burst_coalesced(self):
        i = self.idler('hank')
        i.idle()
        n = 200
        for k in range(n):
            harness.deliver(self.server, 'hank', msg('burst %d' % k))
        _, seen = i.wait_for(r'\* %d EXISTS$' % n)
        exists = [l for l in seen if l.endswith(' EXISTS')]
        counts = [int(l.split()[1]) for l in exists]
        self.assertEqual(counts, sorted(counts))
        self.assertLess(len(exists), n // 2, exists)
        i.done()

    def test_stalled_idler_does_not_queue(self):
        """An idler that does not read while another session keeps
        changing flags: syncs stop once its output is above the low-water
        mark, so what waits for it is bounded by buffers, not by the
        number of changes (each change below pushes 600 kB of FETCH)."""
        m = self.other('ivan')
        for k in range(300):
            harness.deliver(self.server, 'ivan', msg('st %d' % k))
        m.select('INBOX')
        kws = ['kw%02d_' % k + 'x' * 45 for k in range(40)]
        m.store('1:*', '+FLAGS', '(%s)' % ' '.join(kws))
        i = self.idler('ivan', rcvbuf=4096)
        i.idle()
        rounds = 40
        for k in range(rounds):
            m.store('1:*', '+FLAGS.SILENT' if k % 2 == 0 else
                    '-FLAGS.SILENT', '(\\Flagged)')
            time.sleep(0.15)  # past the settle time: one sync each
        time.sleep(1)
        # reading again: the news that waited, then DONE's answer
        i.c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        i.c.send('DONE\r\n')
        total = 0
        while True:
            line = i.c.line()
            self.assertTrue(line)
            total += len(line) + 2
            if line.startswith('i '):
                break
        self.assertEqual(line, 'i OK Idle completed.')
        self.assertGreater(total, 300 * 2000)  # some news did come
        self.assertLess(total, 8 << 20, 'all %d syncs were queued' % rounds)

    def test_many_idlers(self):
        """A few hundred idlers on one mailbox: memory per idler bounded,
        and a delivery is pushed to every one, past the 128 inotify
        instances a user may have (the storage shares one instance per
        process; polling is set to an hour here)."""
        harness.deliver(self.server, 'many', msg('m0'))
        warm = [self.idler('many') for _ in range(5)]
        for w in warm:
            w.idle()
        before = harness.rss_kb(self.server.worker_pid())
        n = 300
        idlers = [self.idler('many') for _ in range(n)]
        for i in idlers:
            i.idle()
        per = (harness.rss_kb(self.server.worker_pid()) - before) / n
        self.assertLess(per, 256, 'each idler costs %.0f kB' % per)
        harness.deliver(self.server, 'many', msg('m1'))
        for i in warm + idlers:
            i.wait_for(r'\* 2 EXISTS$', timeout=WAIT + 10)
        for i in idlers[:20]:
            self.assertEqual(i.done()[-1], 'i OK Idle completed.')


class ImapIdleAutologout(harness.TestCase):
    """A daemon whose default connection timeout ([core] idle_timeout) is
    1 s: IMAP's autologout is at least 30 minutes (RFC 3501 5.4), so an
    idler that sends nothing for several seconds is not dropped, still
    gets news, and DONE works (RFC 2177: clients re-IDLE every 29
    minutes, which must be within the autologout)."""
    listeners = ImapIdle.listeners
    users = [('alice', 'secret')]
    core = {'idle_timeout': '1s'}

    def test_idler_outlives_core_timeout(self):
        i = Idler(self.server, 'alice', 'secret')
        self.addCleanup(i.close)
        i.idle()
        time.sleep(3)
        self.assertFalse(i.c.is_closed(timeout=0.5))
        harness.deliver(self.server, 'alice', msg('after a quiet while'))
        i.wait_for(r'\* 1 EXISTS$')
        self.assertEqual(i.done()[-1], 'i OK Idle completed.')


if __name__ == '__main__':
    harness.main()
