#!/usr/bin/env python3
"""SEARCH on message text through imaplib: RFC 2047 header words,
base64 and quoted-printable bodies, charsets, HEADER/TEXT, sent dates."""
import base64
import imaplib

import harness

MESSAGES = [
    # 1: UTF-8 base64 encoded-word subject, base64 UTF-8 body
    b'From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.com>\r\n'
    b'To: team@example.com\r\n'
    b'Date: Tue, 4 Jun 2002 21:46:59 -0400\r\n'
    b'Subject: =?UTF-8?B?R3LDvMOfZQ==?= =?UTF-8?Q?_aus_K=C3=B6ln?=\r\n'
    b'Content-Type: text/plain; charset=utf-8\r\n'
    b'Content-Transfer-Encoding: base64\r\n\r\n' +
    base64.encodebytes('Das Wetter in Köln ist schön.\n'.encode()) +
    b'\r\n',
    # 2: quoted-printable latin-1 body with a soft line break in a word
    b'From: bob@example.com\r\n'
    b'Date: 1 Jan 2020 10:00:00 +0000\r\n'
    b'Subject: plain\r\n'
    b'X-Custom: Marker-42\r\n'
    b'Content-Type: text/plain; charset=iso-8859-1\r\n'
    b'Content-Transfer-Encoding: quoted-printable\r\n\r\n'
    b'Caf=E9 au lait, super=\r\ncalifragilistic\r\n',
    # 3: the word only inside a base64 image: not text, not found
    b'From: carol@example.com\r\n'
    b'Date: 15 Mar 2021 08:00:00 +0100\r\n'
    b'Subject: picture\r\n'
    b'Content-Type: multipart/mixed; boundary=b\r\n\r\n'
    b'--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n'
    b'--b\r\nContent-Type: image/png\r\n'
    b'Content-Transfer-Encoding: base64\r\n\r\n' +
    base64.encodebytes(b'califragilistic hidden') + b'--b--\r\n',
]


class ImapSearch(harness.TestCase):
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'secret')]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.uid = {}
        for data in MESSAGES:
            harness.deliver(cls.server, 'alice', data)

    def setUp(self):
        self.m = imaplib.IMAP4(self.server.host, self.server.port('imap'))
        self.m.login('alice', 'secret')
        self.m.select('INBOX', readonly=True)
        # the storage numbers messages its own way: map by Subject
        typ, data = self.m.fetch('1:*', '(BODY.PEEK[HEADER.FIELDS '
                                        '(X-Custom Date)])')
        self.seq = {}
        for item in data:
            if isinstance(item, tuple):
                n = item[0].split()[0].decode()
                if b'Marker' in item[1]:
                    self.seq[2] = n
                elif b'2021' in item[1]:
                    self.seq[3] = n
                else:
                    self.seq[1] = n

    def tearDown(self):
        self.m.logout()

    def search(self, *keys, charset=None):
        typ, data = self.m.search(charset, *keys)
        self.assertEqual(typ, 'OK')
        return sorted(data[0].decode().split(), key=int)

    def expect(self, keys, which, charset=None):
        self.assertEqual(self.search(*keys, charset=charset),
                         sorted((self.seq[w] for w in which), key=int))

    def test_subject_encoded_words(self):
        self.m.literal = 'Grüße aus Köln'.encode()
        self.expect(['SUBJECT'], [1], charset='UTF-8')
        self.expect(['SUBJECT', 'PLAIN'], [2])

    def test_from_display_name_decoded(self):
        self.m.literal = 'André'.encode()
        self.expect(['FROM'], [1], charset='UTF-8')
        self.expect(['FROM', 'bob@EXAMPLE'], [2])

    def test_body_base64_and_qp(self):
        self.m.literal = 'schön'.encode()
        self.expect(['BODY'], [1], charset='UTF-8')
        self.m.literal = 'Café'.encode()
        self.expect(['BODY'], [2], charset='UTF-8')
        # a soft line break inside the word; not in the base64 image
        self.expect(['BODY', 'supercalifragilistic'], [2])
        self.expect(['BODY', 'califragilistic'], [2])

    def test_header_and_text(self):
        self.expect(['HEADER', 'X-Custom', 'marker-42'], [2])
        self.expect(['HEADER', 'X-Custom', '""'], [2])
        self.expect(['TEXT', 'x-custom'], [2])
        self.expect(['TEXT', 'attached'], [3])
        self.expect(['NOT', 'TEXT', 'example.com'], [])

    def test_sent_dates(self):
        self.expect(['SENTBEFORE', '1-Jan-2010'], [1])
        self.expect(['SENTON', '1-Jan-2020'], [2])
        self.expect(['SENTSINCE', '2-Jan-2020'], [3])
        self.expect(['OR', 'SENTON', '4-Jun-2002', 'SENTON', '15-Mar-2021'],
                     [1, 3])


if __name__ == '__main__':
    harness.main()
