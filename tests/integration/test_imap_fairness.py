#!/usr/bin/env python3
"""A long SEARCH must not stall the worker's other connections: it runs
as a job in steps and yields after its time slice. Ordering, not timing:
a NOOP sent by another client while the search runs is answered before
the search finishes."""
import select
import time

import harness

MESSAGES = 1500
BODY = (b'lorem ipsum dolor sit amet, consectetur adipiscing elit\r\n' *
        700)  # ~40 KB of text to scan per message


class Fairness(harness.TestCase):
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'pw-a'), ('bob', 'pw-b')]
    workers = 1  # both clients on the same worker

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for i in range(MESSAGES):
            harness.deliver(cls.server, 'alice',
                            b'Subject: m%d\r\n\r\n' % i + BODY)

    def client(self, user, password):
        c = self.server.connect('imap')
        self.addCleanup(c.close)
        self.assertTrue(c.line().startswith('* OK'))
        self.assertTrue(c.cmd('l LOGIN %s %s' % (user, password))
                        .startswith('l OK'))
        return c

    def tagged(self, c, tag):
        while True:
            line = c.line()
            if line.startswith(tag + ' '):
                return line

    def test_noop_answered_during_long_search(self):
        a = self.client('alice', 'pw-a')
        a.send('s SELECT INBOX\r\n')
        self.assertTrue(self.tagged(a, 's').startswith('s OK'))
        b = self.client('bob', 'pw-b')
        t0 = time.time()
        a.send('t SEARCH TEXT "no-such-needle-anywhere"\r\n')
        time.sleep(0.1)  # the worker is inside the search now
        b.send('n NOOP\r\n')
        self.assertTrue(self.tagged(b, 'n').startswith('n OK'))
        b_done = time.time() - t0
        # the search has not answered yet: nothing to read on A
        readable, _, _ = select.select([a.sock], [], [], 0)
        self.assertFalse(readable or a.buf,
                         'the search finished before the NOOP was '
                         'answered (%.2f s): it blocked the worker' % b_done)
        line = self.tagged(a, 't')
        self.assertTrue(line.startswith('t OK'), line)
        a_done = time.time() - t0
        self.assertGreater(a_done, b_done)


if __name__ == '__main__':
    harness.main()
