#!/usr/bin/env python3
"""ESEARCH (RFC 4731): SEARCH RETURN (MIN MAX ALL COUNT) answered with
one ESEARCH line, UID forms, empty results, and bad RETURN options."""
import re

import harness


def compress(nums):
    """1,2,3,5 -> '1:3,5' (the sequence-set form ESEARCH ALL uses)."""
    out, nums = [], sorted(nums)
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(str(nums[i]) if i == j else '%d:%d' % (nums[i], nums[j]))
        i = j + 1
    return ','.join(out)


class ImapEsearch(harness.TestCase):
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'secret')]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for n in range(1, 11):
            harness.deliver(cls.server, 'alice', (
                'From: a@example.org\r\nSubject: m%d%s\r\n\r\nbody\r\n' %
                (n, ' odd' if n % 2 else '')).encode())

    def setUp(self):
        self.c = self.server.connect('imap')
        self.addCleanup(self.c.close)
        self.assertTrue(self.c.line().startswith('* OK'))
        self.assertTrue(self.c.cmd('a LOGIN alice secret').startswith(
            'a OK'))
        self.c.send('b SELECT INBOX\r\n')
        while not self.c.line().startswith('b '):
            pass
        # the storage numbers messages its own way: seq of message mN
        self.seq = {}
        for line in self.run_cmd('f', 'FETCH 1:* (BODY.PEEK[HEADER.FIELDS '
                                      '(Subject)])'):
            m = re.match(r'\* (\d+) FETCH', line)
            if m:
                seq = int(m.group(1))
            m = re.match(r'Subject: m(\d+)', line)
            if m:
                self.seq[int(m.group(1))] = seq
        self.assertEqual(len(self.seq), 10)

    def run_cmd(self, tag, command):
        """Untagged lines and the tagged one."""
        self.c.send('%s %s\r\n' % (tag, command))
        lines = []
        while True:
            line = self.c.line()  # '' is an empty line (or EOF: timeout)
            lines.append(line)
            self.assertLess(len(lines), 1000)
            if line.startswith(tag + ' '):
                return lines

    def uid_of(self, seq):
        lines = self.run_cmd('u', 'FETCH %d UID' % seq)
        return int(lines[0].split('UID ')[1].rstrip(')'))

    def test_capability(self):
        lines = self.run_cmd('c', 'CAPABILITY')
        self.assertIn(' ESEARCH', lines[0])

    def test_min_max_count(self):
        lines = self.run_cmd('t1', 'SEARCH RETURN (MIN MAX COUNT) ALL')
        self.assertEqual(lines, ['* ESEARCH (TAG "t1") MIN 1 MAX 10 COUNT 10',
                                 't1 OK Search completed.'])

    def test_all_compressed(self):
        self.run_cmd('s', 'STORE 4,6,7 +FLAGS (\\Seen)')
        lines = self.run_cmd('t2', 'SEARCH RETURN (ALL) UNSEEN')
        self.assertEqual(lines[0], '* ESEARCH (TAG "t2") ALL 1:3,5,8:10')
        self.run_cmd('s', 'STORE 4,6,7 -FLAGS (\\Seen)')
        odd = [self.seq[n] for n in (1, 3, 5, 7, 9)]
        lines = self.run_cmd('t2', 'SEARCH RETURN (ALL) SUBJECT odd')
        self.assertEqual(lines[0], '* ESEARCH (TAG "t2") ALL ' +
                         compress(odd))

    def test_empty_return_means_all(self):
        lines = self.run_cmd('t3', 'SEARCH RETURN () SUBJECT odd')
        self.assertEqual(lines[0], '* ESEARCH (TAG "t3") ALL ' +
                         compress(self.seq[n] for n in (1, 3, 5, 7, 9)))

    def test_uid_search(self):
        lines = self.run_cmd('t4', 'UID SEARCH RETURN (MIN MAX) 2:4')
        self.assertEqual(lines[0], '* ESEARCH (TAG "t4") UID MIN %d MAX %d'
                         % (self.uid_of(2), self.uid_of(4)))

    def test_no_match(self):
        lines = self.run_cmd('t5', 'SEARCH RETURN (MIN MAX ALL) SUBJECT zz')
        self.assertEqual(lines[0], '* ESEARCH (TAG "t5")')
        lines = self.run_cmd('t6', 'UID SEARCH RETURN (COUNT MIN) '
                                   'SUBJECT zz')
        self.assertEqual(lines[0], '* ESEARCH (TAG "t6") UID COUNT 0')

    def test_with_charset(self):
        lines = self.run_cmd('t7', 'SEARCH RETURN (COUNT) CHARSET UTF-8 '
                                   'SUBJECT ODD')
        self.assertEqual(lines[0], '* ESEARCH (TAG "t7") COUNT 5')

    def test_plain_search_unchanged(self):
        lines = self.run_cmd('t8', 'SEARCH SUBJECT odd')
        self.assertEqual(lines[0], '* SEARCH ' + ' '.join(
            str(n) for n in sorted(self.seq[k] for k in (1, 3, 5, 7, 9))))

    # ---- bad input, each its own test ----

    def test_return_save_refused(self):
        lines = self.run_cmd('b1', 'SEARCH RETURN (SAVE) ALL')
        self.assertTrue(lines[-1].startswith('b1 BAD'), lines)
        self.assertEqual(len(lines), 1)

    def test_return_unknown_option(self):
        lines = self.run_cmd('b2', 'SEARCH RETURN (MIN BOGUS) ALL')
        self.assertTrue(lines[-1].startswith('b2 BAD'), lines)

    def test_return_without_list(self):
        lines = self.run_cmd('b3', 'SEARCH RETURN MIN ALL')
        self.assertTrue(lines[-1].startswith('b3 BAD'), lines)

    def test_return_without_keys(self):
        lines = self.run_cmd('b4', 'SEARCH RETURN (MIN)')
        self.assertTrue(lines[-1].startswith('b4 BAD'), lines)

    def test_return_nested_list(self):
        lines = self.run_cmd('b5', 'SEARCH RETURN ((MIN)) ALL')
        self.assertTrue(lines[-1].startswith('b5 BAD'), lines)


if __name__ == '__main__':
    harness.main()
