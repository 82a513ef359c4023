#!/usr/bin/env python3
"""SEARCH with CHARSET UTF-8 matches case-insensitively beyond ASCII
(Unicode simple case folding) after MIME decoding: RFC 2047 subjects in
UTF-8, ISO-8859-7 and KOI8-R, a windows-1251 base64 body, a header
field. Simple folding maps one code point to one: ẞ matches ß, but ß
does not match "ss"."""
import base64
import imaplib

import harness


def word(text, charset, enc='B'):
    data = text.encode(charset)
    if enc == 'B':
        return '=?%s?B?%s?=' % (charset, base64.b64encode(data).decode())
    return '=?%s?Q?%s?=' % (charset, ''.join(
        '=%02X' % b if b > 127 or b in b' =?_' else chr(b) for b in data))


MESSAGES = {
    'koeln': 'Subject: %s\r\nFrom: a@example.org\r\n\r\nhallo\r\n' %
             word('Grüße aus Köln', 'utf-8'),
    'greek': 'Subject: %s\r\nFrom: b@example.org\r\n\r\nodyssey\r\n' %
             word('Ο Οδυσσεύς', 'iso-8859-7', 'Q'),
    'russian': 'Subject: %s\r\nFrom: %s <c@example.org>\r\n'
               'X-City: %s\r\n\r\nprivet\r\n' %
               (word('Привет, МИР', 'koi8-r'), word('Дмитрий', 'utf-8'),
                word('Санкт-Петербург', 'utf-8', 'Q')),
    'moscow': 'Subject: city\r\nFrom: d@example.org\r\n'
              'Content-Type: text/plain; charset=windows-1251\r\n'
              'Content-Transfer-Encoding: base64\r\n\r\n%s\r\n' %
              base64.b64encode('Столица — Москва.\n'.encode('cp1251'))
              .decode(),
    'strasse': 'Subject: %s\r\nFrom: e@example.org\r\n\r\nweg\r\n' %
               word('Hauptstraße 1', 'utf-8', 'Q'),
}


class ImapSearchUnicode(harness.TestCase):
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'secret')]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name, text in MESSAGES.items():
            harness.deliver(cls.server, 'alice', text.encode())

    def setUp(self):
        self.m = imaplib.IMAP4(self.server.host, self.server.port('imap'))
        self.m.login('alice', 'secret')
        self.m.select('INBOX', readonly=True)
        typ, data = self.m.fetch('1:*', '(BODY.PEEK[HEADER.FIELDS (From)])')
        self.name_of = {}
        for item in data:
            if isinstance(item, tuple):
                letter = item[1].split(b'@')[0][-1:].decode()
                self.name_of[item[0].split()[0].decode()] = {
                    'a': 'koeln', 'b': 'greek', 'c': 'russian',
                    'd': 'moscow', 'e': 'strasse'}[letter]

    def tearDown(self):
        self.m.logout()

    def found(self, *keys):
        """Messages matching keys[:-1] followed by keys[-1] as a literal."""
        self.m.literal = keys[-1].encode()
        typ, data = self.m.search('UTF-8', *keys[:-1])
        self.assertEqual(typ, 'OK')
        return {self.name_of[n] for n in data[0].decode().split()}

    def test_latin_subject_other_case(self):
        self.assertEqual(self.found('SUBJECT', 'KÖLN'), {'koeln'})
        self.assertEqual(self.found('SUBJECT', 'grÜße'), {'koeln'})

    def test_greek_final_sigma(self):
        # ΟΔΥΣΣΕΎΣ (capital sigmas) and οδυσσεύς (final sigma) agree
        self.assertEqual(self.found('SUBJECT', 'ΟΔΥΣΣΕΎΣ'), {'greek'})
        self.assertEqual(self.found('SUBJECT', 'οδυσσεύσ'), {'greek'})

    def test_cyrillic_koi8r_subject(self):
        self.assertEqual(self.found('SUBJECT', 'привет, мир'), {'russian'})
        self.assertEqual(self.found('SUBJECT', 'ПРИВЕТ'), {'russian'})

    def test_cyrillic_from_and_header(self):
        self.assertEqual(self.found('FROM', 'ДМИТРИЙ'), {'russian'})
        self.assertEqual(self.found('HEADER', 'X-City', 'санкт-ПЕТЕРБУРГ'),
                         {'russian'})

    def test_windows1251_body(self):
        self.assertEqual(self.found('BODY', 'МОСКВА'), {'moscow'})
        self.assertEqual(self.found('TEXT', 'столица'), {'moscow'})

    def test_sharp_s_simple_folding(self):
        self.assertEqual(self.found('SUBJECT', 'HAUPTSTRAẞE'), {'strasse'})
        self.assertEqual(self.found('SUBJECT', 'STRASSE'), set())

    def test_no_false_match(self):
        self.assertEqual(self.found('SUBJECT', 'КЁЛЬН'), set())
        self.assertEqual(self.found('BODY', 'МОСКВЫ'), set())


if __name__ == '__main__':
    harness.main()
