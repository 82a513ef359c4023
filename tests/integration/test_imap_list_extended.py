#!/usr/bin/env python3
"""LIST-EXTENDED (RFC 5258): RECURSIVEMATCH with SUBSCRIBED returns
parents of subscribed mailboxes with CHILDINFO, \\NonExistent parents,
the examples of RFC 5258 section 5 (example 8), and BAD for
RECURSIVEMATCH without another selection option."""
import re

import harness


class ImapListExtended(harness.TestCase):
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'pw'), ('bob', 'pw'), ('carol', 'pw'),
             ('dave', 'pw'), ('erin', 'pw'), ('frank', 'pw')]

    def login(self, user):
        self.c = self.server.connect('imap')
        self.addCleanup(self.c.close)
        self.assertTrue(self.c.line().startswith('* OK'))
        self.assertTrue(self.c.cmd('a LOGIN %s pw' % user).startswith(
            'a OK'))
        line = self.run_cmd('s', 'LIST "" ""')[0]
        self.sep = re.match(r'\* LIST \(\\Noselect\) "(.)"', line).group(1)

    def run_cmd(self, tag, command):
        self.c.send('%s %s\r\n' % (tag, command))
        lines = []
        while True:
            line = self.c.line()
            lines.append(line)
            self.assertLess(len(lines), 1000)
            if line.startswith(tag + ' '):
                return lines

    def ok(self, command):
        lines = self.run_cmd('x', command)
        self.assertTrue(lines[-1].startswith('x OK'), lines)
        return lines[:-1]

    def tree(self):
        """Example 8 of RFC 5258: Foo, Foo/Bar, Foo/Baz, Moo; only
        Foo/Baz subscribed (INBOX unsubscribed to keep it out)."""
        s = self.sep
        for name in ('Foo', 'Foo%sBar' % s, 'Foo%sBaz' % s, 'Moo'):
            self.ok('CREATE "%s"' % name)
        self.run_cmd('u', 'UNSUBSCRIBE INBOX')
        self.ok('SUBSCRIBE "Foo%sBaz"' % s)

    def listing(self, command):
        """{name: (attributes, extended data or '')} of a LIST."""
        out = {}
        for line in self.ok(command):
            m = re.match(r'\* LIST \(([^)]*)\) "[^"]*" "?([^" ]+)"?(.*)$',
                         line)
            self.assertTrue(m, line)
            out[m.group(2)] = (set(m.group(1).split()), m.group(3).strip())
        return out

    def test_capability(self):
        self.login('alice')
        self.assertIn('LIST-EXTENDED', self.ok('CAPABILITY')[0])

    def test_subscribed_percent_without_recursivematch(self):
        self.login('alice')
        self.tree()
        self.assertEqual(self.listing('LIST (SUBSCRIBED) "" "%"'), {})
        got = self.listing('LIST (SUBSCRIBED) "" "*"')
        self.assertEqual(list(got), ['Foo%sBaz' % self.sep])
        self.assertIn('\\Subscribed', got['Foo%sBaz' % self.sep][0])

    def test_recursivematch_parent_with_childinfo(self):
        self.login('bob')
        self.tree()
        got = self.listing('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
        self.assertEqual(list(got), ['Foo'])
        attrs, ext = got['Foo']
        self.assertNotIn('\\Subscribed', attrs)
        self.assertEqual(ext, '("CHILDINFO" ("SUBSCRIBED"))')

    def test_recursivematch_no_redundant_childinfo(self):
        self.login('frank')
        self.tree()
        # the subscribed child is returned itself: Foo is not
        got = self.listing('LIST (SUBSCRIBED RECURSIVEMATCH) "" "*"')
        self.assertEqual(list(got), ['Foo%sBaz' % self.sep])
        self.assertEqual(got['Foo%sBaz' % self.sep][1], '')

    def test_recursivematch_subscribed_parent(self):
        self.login('carol')
        self.tree()
        self.ok('SUBSCRIBE Foo')
        got = self.listing('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
        self.assertEqual(list(got), ['Foo'])
        self.assertIn('\\Subscribed', got['Foo'][0])
        self.assertEqual(got['Foo'][1], '("CHILDINFO" ("SUBSCRIBED"))')

    def test_recursivematch_nonexistent_parent(self):
        self.login('dave')
        self.run_cmd('u', 'UNSUBSCRIBE INBOX')
        s = self.sep
        self.ok('CREATE "Ghost%sChild"' % s)
        self.ok('SUBSCRIBE "Ghost%sChild"' % s)
        self.ok('DELETE "Ghost%sChild"' % s)
        listed = self.listing('LIST "" "*"')
        got = self.listing('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
        self.assertIn('Ghost', got)
        attrs, ext = got['Ghost']
        if 'Ghost' not in listed:  # the storage kept no parent
            self.assertIn('\\NonExistent', attrs)
        self.assertEqual(ext, '("CHILDINFO" ("SUBSCRIBED"))')
        # the subscribed name itself no longer exists
        got = self.listing('LIST (SUBSCRIBED) "" "*"')
        self.assertIn('\\NonExistent', got['Ghost%sChild' % s][0])

    def test_recursivematch_with_status(self):
        self.login('erin')
        self.tree()
        lines = self.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "*" '
                        'RETURN (STATUS (MESSAGES))')
        self.assertTrue(any(l.startswith('* STATUS "Foo%sBaz"' % self.sep)
                            for l in lines), lines)

    # ---- bad input, each its own test ----

    def test_recursivematch_alone(self):
        self.login('alice')
        lines = self.run_cmd('b', 'LIST (RECURSIVEMATCH) "" "*"')
        self.assertTrue(lines[-1].startswith('b BAD'), lines)

    def test_remote_recursivematch(self):
        self.login('alice')
        lines = self.run_cmd('b', 'LIST (REMOTE RECURSIVEMATCH) "" "*"')
        self.assertTrue(lines[-1].startswith('b BAD'), lines)

    def test_unknown_selection_option(self):
        self.login('alice')
        lines = self.run_cmd('b', 'LIST (SUBSCRIBED BOGUS) "" "*"')
        self.assertTrue(lines[-1].startswith('b BAD'), lines)


if __name__ == '__main__':
    harness.main()
