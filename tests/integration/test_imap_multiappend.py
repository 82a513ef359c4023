#!/usr/bin/env python3
"""MULTIAPPEND (RFC 3502): several messages in one APPEND, each with its
own flags and date, synchronising and non-synchronising literals, the last
one possibly a quoted string; APPENDUID with a uid-set; all or nothing
when one message is refused."""
import datetime
import imaplib
import re

import harness


def internaldate(fetch_head):
    """The INTERNALDATE of a FETCH answer as an aware datetime (the zone
    shown may differ; the instant must not)."""
    text = re.search(rb'INTERNALDATE "([^"]+)"', fetch_head).group(1)
    return datetime.datetime.strptime(text.decode().strip(),
                                      '%d-%b-%Y %H:%M:%S %z')


def when(text):
    return datetime.datetime.strptime(text, '%d-%b-%Y %H:%M:%S %z')


def msg(n):
    return b'From: m@example.org\r\nSubject: multi %d\r\n\r\nbody %d\r\n' % (
        n, n)


class ImapMultiappend(harness.TestCase):
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'secret')]

    def setUp(self):
        self.c = self.server.connect('imap')
        self.addCleanup(self.c.close)
        self.assertTrue(self.c.line().startswith('* OK'))
        self.assertTrue(self.c.cmd('a LOGIN alice secret').startswith(
            'a OK'))

    def create(self, name):
        self.assertTrue(self.c.cmd('c CREATE %s' % name).startswith('c OK'))

    def count(self, name):
        line = self.c.cmd('s STATUS %s (MESSAGES)' % name)
        n = int(re.search(r'MESSAGES (\d+)', line).group(1))
        self.assertTrue(self.c.line().startswith('s OK'))
        return n

    def append_sync(self, head, parts, tag='m'):
        """APPEND with synchronising literals: `parts` is a list of
        (text before the literal, literal bytes); waits for each '+'.
        Returns the first line that is not a continuation."""
        self.c.send(('%s APPEND %s ' % (tag, head)).encode())
        for i, (before, data) in enumerate(parts):
            self.c.send(before.encode() + b'{%d}\r\n' % len(data))
            line = self.c.line()
            if not line.startswith('+'):
                return line
            self.c.send(data)
        self.c.send(b'\r\n')
        return self.c.line()

    def fetch_all(self, name):
        m = imaplib.IMAP4(self.server.host, self.server.port('imap'))
        self.addCleanup(m.logout)
        m.login('alice', 'secret')
        m.select(name, readonly=True)
        typ, data = m.fetch('1:*', '(UID FLAGS INTERNALDATE BODY.PEEK[])')
        return [(item[0], item[1]) for item in data
                if isinstance(item, tuple)]

    def test_capability(self):
        line = self.c.cmd('c CAPABILITY')
        self.assertIn(' MULTIAPPEND', line)

    def test_three_messages_sync_literals(self):
        self.create('M1')
        line = self.append_sync('M1', [
            ('(\\Seen) "01-Feb-2020 10:00:00 +0000" ', msg(1)),
            (' ', msg(2)),
            (' (\\Flagged $Label1) "02-Mar-2021 11:30:00 +0100" ', msg(3))])
        m = re.match(r'm OK \[APPENDUID (\d+) (\d+):(\d+)\]', line)
        self.assertTrue(m, line)
        self.assertEqual(int(m.group(3)) - int(m.group(2)), 2)
        got = self.fetch_all('M1')
        self.assertEqual([body for _, body in got], [msg(1), msg(2),
                                                     msg(3)])
        self.assertIn(b'\\Seen', got[0][0])
        self.assertEqual(internaldate(got[0][0]),
                         when('01-Feb-2020 10:00:00 +0000'))
        self.assertNotIn(b'\\Seen', got[1][0])
        self.assertIn(b'\\Flagged', got[2][0])
        self.assertIn(b'$Label1', got[2][0])
        self.assertEqual(internaldate(got[2][0]),
                         when('02-Mar-2021 11:30:00 +0100'))

    def test_nonsync_literals_and_quoted_last(self):
        self.create('M2')
        self.c.send(b'm APPEND M2 {%d+}\r\n%s (\\Answered) {%d+}\r\n%s '
                    b'"From: q@example.org"\r\n' %
                    (len(msg(4)), msg(4), len(msg(5)), msg(5)))
        line = self.c.line()
        self.assertRegex(line, r'^m OK \[APPENDUID \d+ \d+:\d+\]')
        got = self.fetch_all('M2')
        self.assertEqual([body for _, body in got],
                         [msg(4), msg(5), b'From: q@example.org'])
        self.assertIn(b'\\Answered', got[1][0])

    def test_first_message_of_26_bytes(self):
        """A 26-byte literal is buffered in case it is a date-time; here
        it is the first of two messages."""
        self.create('M4')
        first = b'Subject: x\r\n\r\n0123456789ab'
        self.assertEqual(len(first), 26)
        line = self.append_sync('M4', [('', first), (' ', msg(7))])
        self.assertRegex(line, r'^m OK \[APPENDUID \d+ \d+:\d+\]')
        got = self.fetch_all('M4')
        self.assertEqual([body for _, body in got], [first, msg(7)])

    def test_date_as_literal_then_two_messages(self):
        self.create('M5')
        line = self.append_sync('M5', [('(\\Seen) ',
                                        b'03-Apr-2022 09:15:00 +0000'),
                                       (' ', msg(8)), (' ', msg(9))])
        self.assertRegex(line, r'^m OK \[APPENDUID \d+ \d+:\d+\]')
        got = self.fetch_all('M5')
        self.assertEqual([body for _, body in got], [msg(8), msg(9)])
        self.assertEqual(internaldate(got[0][0]),
                         when('03-Apr-2022 09:15:00 +0000'))
        self.assertIn(b'\\Seen', got[0][0])

    def test_single_append_unchanged(self):
        self.create('M3')
        line = self.append_sync('M3', [('', msg(6))])
        self.assertRegex(line, r'^m OK \[APPENDUID \d+ \d+\]')

    # ---- all or nothing; bad input, each its own test ----

    def test_bad_flag_in_second_message(self):
        self.create('B1')
        line = self.append_sync('B1', [('', msg(1)),
                                       (' (\\Bogus) ', msg(2))])
        self.assertTrue(line.startswith('m BAD'), line)
        self.assertEqual(self.count('B1'), 0)

    def test_bad_date_in_third_message(self):
        self.create('B2')
        line = self.append_sync('B2', [('', msg(1)), (' ', msg(2)),
                                       (' "31-Foo-2020 00:00:00 +0000" ',
                                        msg(3))])
        self.assertTrue(line.startswith('m BAD'), line)
        self.assertEqual(self.count('B2'), 0)

    def test_nonexistent_mailbox(self):
        line = self.append_sync('Nowhere', [('', msg(1)), (' ', msg(2))])
        self.assertTrue(line.startswith('m NO [TRYCREATE]'), line)
        self.assertTrue(self.c.cmd('n NOOP').startswith('n OK'))

    def test_empty_message_cancels(self):
        self.create('B6')
        line = self.append_sync('B6', [('', msg(1)), (' ', msg(2)),
                                       (' ', b'')])
        self.assertTrue(line.startswith('m NO'), line)
        self.assertEqual(self.count('B6'), 0)

    def test_empty_message_nonsync_cancels(self):
        self.create('B7')
        self.c.send(b'm APPEND B7 {%d+}\r\n%s {0+}\r\n {%d+}\r\n%s\r\n'
                    % (len(msg(1)), msg(1), len(msg(2)), msg(2)))
        line = self.c.line()
        self.assertTrue(line.startswith('m NO'), line)
        self.assertTrue(self.c.cmd('n NOOP').startswith('n OK'))
        self.assertEqual(self.count('B7'), 0)

    def test_single_empty_message(self):
        self.create('B8')
        line = self.append_sync('B8', [('', b'')])
        self.assertTrue(line.startswith('m NO'), line)
        self.assertTrue(self.c.cmd('q APPEND B8 ""').startswith('q NO'))
        self.assertEqual(self.count('B8'), 0)

    def test_too_many_messages(self):
        self.create('B3')
        line = self.append_sync('B3', [(' ', msg(n)) for n in range(150)])
        self.assertTrue(line.startswith('m NO [LIMIT]'), line)
        self.assertEqual(self.count('B3'), 0)

    def test_garbage_between_messages(self):
        self.create('B4')
        self.c.send(b'm APPEND B4 {%d+}\r\n%s ((x) {%d+}\r\n%s\r\n' %
                    (len(msg(1)), msg(1), len(msg(2)), msg(2)))
        line = self.c.line()
        self.assertTrue(line.startswith('m BAD') or
                        line.startswith('* BYE'), line)
        c2 = self.server.connect('imap')
        self.addCleanup(c2.close)
        c2.line()
        c2.cmd('a LOGIN alice secret')
        line = c2.cmd('s STATUS B4 (MESSAGES)')
        self.assertIn('MESSAGES 0', line)

    def test_disconnect_midway(self):
        self.create('B5')
        self.c.send(b'm APPEND B5 {%d+}\r\n%s {1000+}\r\nonly part'
                    % (len(msg(1)), msg(1)))
        self.c.close()
        c2 = self.server.connect('imap')
        self.addCleanup(c2.close)
        c2.line()
        c2.cmd('a LOGIN alice secret')
        line = c2.cmd('s STATUS B5 (MESSAGES)')
        self.assertIn('MESSAGES 0', line)


if __name__ == '__main__':
    harness.main()
