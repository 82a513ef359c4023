#!/usr/bin/env python3
"""Bad IMAP input against a real posthornd, one case per test. Each test
checks the answer and that the connection still works afterwards (or was
closed on purpose)."""
import socket

import harness


class ImapBadInput(harness.TestCase):
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'secret')]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for i in range(3):
            harness.deliver(cls.server, 'alice',
                            b'Subject: m%d\r\n\r\nbody %d\r\n' % (i, i))

    def session(self, login=True, select=True):
        c = self.server.connect('imap')
        self.addCleanup(c.close)
        self.assertTrue(c.line().startswith('* OK'))
        if login:
            self.assertTrue(c.cmd('l LOGIN alice secret').startswith('l OK'))
        if select:
            self.expect_tagged(c.cmd('s SELECT INBOX'), c, 's', 'OK')
        return c

    def expect_tagged(self, first, c, tag, status):
        """Reads until the tagged answer; returns it (after checking)."""
        line = first
        while not line.startswith(tag + ' '):
            self.assertTrue(line, 'connection closed')
            line = c.line()
        self.assertTrue(line.startswith('%s %s' % (tag, status)), line)
        return line

    def still_alive(self, c):
        self.assertEqual(c.cmd('z NOOP').split()[:2], ['z', 'OK'])

    def test_unbalanced_close_paren(self):
        c = self.session()
        self.expect_tagged(c.cmd('a FETCH 1 (FLAGS))'), c, 'a', 'BAD')
        self.still_alive(c)

    def test_unbalanced_open_paren(self):
        c = self.session()
        self.expect_tagged(c.cmd('a FETCH 1 ((FLAGS)'), c, 'a', 'BAD')
        self.still_alive(c)

    def test_literal_length_lie_short(self):
        # announces 10 bytes, sends 3 and a new command: the "command" is
        # swallowed as literal data, then the line goes on
        c = self.session()
        self.assertTrue(c.cmd('a LOGIN {10}').startswith('+'))
        c.send('abc\r\nb NOO')
        c.send('P\r\n')
        line = c.line()
        self.assertTrue(line.startswith('a BAD') or line.startswith('a NO'),
                        line)
        self.still_alive(c)

    def test_literal_length_lie_long(self):
        # announces 3 bytes, sends 10: the surplus is read as the rest of
        # the command line, which is then malformed
        c = self.session()
        self.assertTrue(c.cmd('a LOGIN {3}').startswith('+'))
        c.send('alicesecret x\r\n')
        self.expect_tagged(c.line(), c, 'a', 'BAD')
        self.still_alive(c)

    def test_literal_4294967296(self):
        c = self.session()
        line = c.cmd('a APPEND INBOX {4294967296}')
        self.assertTrue(line.startswith('a NO [TOOBIG]'), line)
        self.still_alive(c)

    def test_nonsync_literal_too_big_closes(self):
        c = self.session()
        c.send('a LOGIN {99999999999+}\r\n')
        line = c.line()
        self.assertTrue(line.startswith('* BYE'), line)
        self.assertTrue(c.is_closed())

    def test_star_and_zero(self):
        c = self.session()
        self.expect_tagged(c.cmd('a FETCH 0 FLAGS'), c, 'a', 'BAD')
        self.expect_tagged(c.cmd('b FETCH 0:* FLAGS'), c, 'b', 'BAD')
        self.expect_tagged(c.cmd('c FETCH *:* (UID)'), c, 'c', 'OK')
        self.expect_tagged(c.cmd('d FETCH 4 FLAGS'), c, 'd', 'BAD')
        self.expect_tagged(c.cmd('e UID FETCH 999 FLAGS'), c, 'e', 'OK')
        self.expect_tagged(c.cmd('f STORE * +FLAGS *'), c, 'f', 'BAD')
        self.expect_tagged(c.cmd('g FETCH $ FLAGS'), c, 'g', 'BAD')
        self.still_alive(c)

    def test_million_ranges(self):
        # 10^6 ranges cannot fit a line: the line cap answers, the
        # session goes on; a huge single range is cheap
        c = self.session()
        line = ','.join('%d' % (i % 3 + 1) for i in range(10000))
        self.expect_tagged(c.cmd('a FETCH %s (UID)' % line), c, 'a', 'OK')
        self.expect_tagged(c.cmd('b UID FETCH 1:1000000 (UID)'), c, 'b',
                           'OK')
        big = 'c FETCH ' + ','.join(['1:3'] * 400000) + ' FLAGS'
        c.send(big + '\r\n')
        line = c.line()
        self.assertTrue(line.startswith('* BYE') or 'BAD' in line, line)

    def test_deep_nesting(self):
        c = self.session()
        self.expect_tagged(c.cmd('a SEARCH ' + '(' * 200 + 'ALL' +
                                 ')' * 200), c, 'a', 'BAD')
        self.expect_tagged(c.cmd('b SEARCH ' + '(' * 20 + 'ALL' +
                                 ')' * 20), c, 'b', 'OK')
        self.still_alive(c)

    def test_wrong_state_before_login(self):
        c = self.session(login=False, select=False)
        for cmd in ('SELECT INBOX', 'FETCH 1 FLAGS', 'LIST "" *',
                    'EXPUNGE', 'APPEND INBOX {1+}\r\nx'):
            self.expect_tagged(c.cmd('a ' + cmd), c, 'a', 'BAD')
        self.still_alive(c)

    def test_wrong_state_not_selected(self):
        c = self.session(select=False)
        for cmd in ('FETCH 1 FLAGS', 'STORE 1 FLAGS ()', 'SEARCH ALL',
                    'EXPUNGE', 'CLOSE', 'UID FETCH 1 FLAGS', 'LOGIN a b'):
            self.expect_tagged(c.cmd('a ' + cmd), c, 'a', 'BAD')
        self.still_alive(c)

    def test_mailbox_name_dotdot(self):
        c = self.session(select=False)
        self.expect_tagged(c.cmd('a CREATE ../evil'), c, 'a', 'NO')
        self.expect_tagged(c.cmd('b SELECT ../../etc'), c, 'b', 'NO')
        self.still_alive(c)

    def test_mailbox_name_slash(self):
        # '/' is the hierarchy delimiter: a name may not start or end with
        # it (a trailing one on CREATE is a declaration, RFC 3501 6.3.3),
        # hold an empty component or climb out with '..'; a legal
        # "a/b" stays inside the user's Maildir (.a.b)
        c = self.session(select=False)
        for i, name in enumerate(('/etc', '/', 'a//b', 'x/../../y')):
            self.expect_tagged(c.cmd('a%d CREATE "%s"' % (i, name)), c,
                               'a%d' % i, 'NO')
            self.expect_tagged(c.cmd('s%d SELECT "%s"' % (i, name)), c,
                               's%d' % i, 'NO')
        self.expect_tagged(c.cmd('b CREATE "a/b"'), c, 'b', 'OK')
        import os
        self.assertTrue(os.path.isdir(
            os.path.join(self.server.maildir('alice'), '.a.b')))
        self.expect_tagged(c.cmd('d DELETE "a/b"'), c, 'd', 'OK')
        self.still_alive(c)

    def test_mailbox_name_nul(self):
        c = self.session(select=False)
        c.send('a CREATE {5+}\r\nab\0cd\r\n')
        self.expect_tagged(c.line(), c, 'a', 'NO')
        self.still_alive(c)

    def test_mailbox_name_bad_utf7(self):
        c = self.session(select=False)
        for i, name in enumerate(('&Jjo', '&Jjo-&Jjo-', '&AGE-', '&-&',
                                  '&ZeVnLIqe', '&2D0-', '&AEEAQg-')):
            self.expect_tagged(c.cmd('a%d CREATE "%s"' % (i, name)), c,
                               'a%d' % i, 'NO')
        self.expect_tagged(c.cmd('b CREATE "&ZeVnLIqe-"'), c, 'b', 'OK')
        self.still_alive(c)

    def test_huge_search_or_tree(self):
        c = self.session()
        # 3000 nested ORs: compiled with a depth cap, not recursion on
        # the wire
        self.expect_tagged(c.cmd('a SEARCH ' + 'OR ' * 3000 + 'ALL ' * 3001),
                           c, 'a', 'BAD')
        # a wide flat OR chain of small depth is fine
        self.expect_tagged(c.cmd('b SEARCH ' + 'OR 1 2 ' * 2000), c, 'b',
                           'OK')
        self.still_alive(c)

    def test_fetch_nonexistent_section(self):
        c = self.session()
        c.send('a FETCH 1 (BODY.PEEK[5.2.MIME] BODY.PEEK[1.TEXT])\r\n')
        line = c.line()
        self.assertIn('BODY[5.2.MIME] NIL', line)
        self.assertIn('BODY[1.TEXT] NIL', line)
        self.expect_tagged(c.line(), c, 'a', 'OK')
        self.expect_tagged(c.cmd('b FETCH 1 (BODY[MIME])'), c, 'b', 'BAD')
        self.expect_tagged(c.cmd('c FETCH 1 (BODY[1.])'), c, 'c', 'BAD')
        self.expect_tagged(c.cmd('d FETCH 1 (BODY[]<1.0>)'), c, 'd', 'BAD')
        self.still_alive(c)

    def test_unknown_command_and_garbage(self):
        c = self.session(login=False, select=False)
        self.expect_tagged(c.cmd('a FROBNICATE'), c, 'a', 'BAD')
        self.assertTrue(c.cmd('').startswith('* BAD'))
        c.send(b'\xff\xfe garbage\r\n')
        self.assertTrue(c.line().startswith('* BAD'))
        self.still_alive(c)

    def test_too_many_bad_commands_close(self):
        c = self.session(login=False, select=False)
        c.send(''.join('x%d FROB\r\n' % i for i in range(25)))
        lines = []
        while not c.is_closed(timeout=2) and len(lines) < 100:
            lines.append(c.line())
        text = '\n'.join(lines) + c.buf.decode('latin-1')
        self.assertIn('* BYE', text)

    def test_long_tag(self):
        c = self.session(select=False)
        self.assertTrue(c.cmd('t' * 200 + ' NOOP').startswith(
            '* BAD Tag too long'))
        self.still_alive(c)

    def test_line_over_parser_limit(self):
        # longer than the parser's 64000 bytes, shorter than the core's
        # 65536: answered BAD [TOOBIG], the session goes on
        c = self.session(select=False)
        line = c.cmd('a NOOP ' + 'x' * 65000)
        self.assertTrue(line.startswith('a BAD [TOOBIG]'), line)
        self.still_alive(c)

    def test_line_too_long_closes(self):
        c = self.session(select=False)
        c.send('a NOOP ' + 'x' * 70000 + '\r\n')
        self.assertTrue(c.line().startswith('* BYE'))
        self.assertTrue(c.is_closed())

    def test_error_line_with_nonsync_literal_closes(self):
        c = self.session(select=False)
        c.send('a LOGIN x) {5+}\r\nhello\r\n')
        line = c.line()
        self.assertTrue(line.startswith('* BYE'), line)
        self.assertTrue(c.is_closed())


if __name__ == '__main__':
    harness.main()
