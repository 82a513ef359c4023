#!/usr/bin/env python3
"""SEARCH header keys answered from the storage cache: the first search
reads each message's header and caches the field's lines
("imap4.h.<field>" in posthorn-cache), later searches (in the same and in
a new session) read the cache and must answer exactly the same; folded,
repeated, absent and encoded fields; a damaged cache is recomputed."""
import glob
import imaplib
import os

import harness

MESSAGES = [
    # 1: folded Subject, Date
    b'From: a@example.com\r\nDate: 4 Jun 2002 21:46:59 -0400\r\n'
    b'Subject: the quarterly\r\n\tReport is late\r\n\r\nbody one\r\n',
    # 2: no Subject at all; the word only in the body
    b'From: b@example.com\r\nDate: 1 Jan 2020 10:00:00 +0000\r\n'
    b'\r\nreport in the body only\r\n',
    # 3: two Subject fields, the second one matches; encoded word
    b'From: c@example.com\r\nSubject: first\r\n'
    b'Subject: =?UTF-8?Q?annual_r=C3=A9port_report?=\r\n'
    b'X-Long-Header-Name-Over-Forty-Characters-Total: needle\r\n'
    b'\r\nbody three\r\n',
    # 4: header only, no empty line, no body
    b'From: d@example.com\r\nSubject: nothing here\r\n',
]


class ImapSearchCache(harness.TestCase):
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'secret')]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for data in MESSAGES:
            harness.deliver(cls.server, 'alice', data)

    def session(self):
        m = imaplib.IMAP4(self.server.host, self.server.port('imap'))
        m.login('alice', 'secret')
        m.select('INBOX', readonly=True)
        return m

    def subjects(self, m):
        """seq -> message index (1-based) by the From address."""
        typ, data = m.fetch('1:*', '(BODY.PEEK[HEADER.FIELDS (From)])')
        out = {}
        for item in data:
            if isinstance(item, tuple):
                n = int(item[0].split()[0])
                out[n] = ord(item[1].split(b'@')[0][-1:]) - ord('a') + 1
        return out

    def search(self, m, *keys):
        keys = ['"%s"' % k if k == '' or ' ' in k else k for k in keys]
        typ, data = m.search(None, *keys)
        self.assertEqual(typ, 'OK')
        seqs = self.subjects(m)
        return sorted(seqs[int(x)] for x in data[0].split())

    def cases(self, m):
        self.assertEqual(self.search(m, 'SUBJECT', 'report'), [1, 3])
        self.assertEqual(self.search(m, 'SUBJECT', 'report is LATE'), [1])
        self.assertEqual(self.search(m, 'SUBJECT', 'annual'), [3])
        self.assertEqual(self.search(m, 'NOT', 'SUBJECT', 'report'), [2, 4])
        self.assertEqual(self.search(m, 'HEADER', 'Subject', ''), [1, 3, 4])
        self.assertEqual(self.search(m, 'HEADER', 'subject', 'FIRST'), [3])
        self.assertEqual(self.search(
            m, 'HEADER', 'X-Long-Header-Name-Over-Forty-Characters-Total',
            'needle'), [3])
        self.assertEqual(self.search(m, 'SENTON', '1-Jan-2020'), [2])
        self.assertEqual(self.search(m, 'SENTBEFORE', '1-Jan-2020'), [1])
        self.assertEqual(self.search(m, 'TEXT', 'report'), [1, 2, 3])

    def test_same_answers_from_the_cache(self):
        m = self.session()
        self.cases(m)   # fills the cache
        self.cases(m)   # the same view, from its cache
        m.logout()
        caches = glob.glob(os.path.join(self.server.maildir('alice'),
                                        'posthorn-cache'))
        self.assertEqual(len(caches), 1)
        with open(caches[0], 'rb') as f:
            data = f.read()
        self.assertIn(b'imap4.h.subject', data)
        self.assertIn(b'imap4.h.date', data)
        self.assertNotIn(b'imap4.h.x-long', data)  # over 40: not cached
        m = self.session()  # a new view loads the file
        self.cases(m)
        m.logout()

    def test_damaged_cache(self):
        m = self.session()
        self.cases(m)
        m.logout()
        path = os.path.join(self.server.maildir('alice'), 'posthorn-cache')
        with open(path, 'r+b') as f:
            data = bytearray(f.read())
            i = data.find(b'Report is late')
            self.assertGreater(i, 0)
            data[i:i + 6] = b'Xeport'  # fails its CRC: recomputed
            f.seek(0)
            f.write(data)
        m = self.session()
        self.cases(m)
        m.logout()


if __name__ == '__main__':
    harness.main()
