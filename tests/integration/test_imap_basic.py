#!/usr/bin/env python3
"""IMAP4rev1 through Python's imaplib against a real posthornd, on a
mailbox built from the corpus (harness.deliver)."""
import base64
import imaplib
import os
import re
import socket
import time

import harness

CORPUS = harness.CORPUS_DIR
SAMPLES = ['cpython/msg_02.txt', 'cpython/msg_20.txt', 'mailkit/message.3.msg',
           'ruby-mail/attachment_emails/attachment_message_rfc822_inline_image.eml',
           'ruby-mail/plain_emails/basic_email_lf.eml',
           'cyrus/iso-2022-jp.eml']


def wire(data):
    """The message as IMAP sends it: every line end CR LF."""
    return re.sub(rb'\r?\n', b'\r\n', data)


class ImapBasic(harness.TestCase):
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'secret'), ('bob', 'hunter2'), ('carol', 'pw'),
             ('dave', 'pw'), ('erin', 'pw'), ('frank', 'pw'),
             ('gina', 'pw'), ('hank', 'pw'), ('ivan', 'pw')]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.messages = []
        for name in SAMPLES:
            with open(os.path.join(CORPUS, name), 'rb') as f:
                data = f.read()
            cls.messages.append(data)
            harness.deliver(cls.server, 'alice', data)

    def seq(self, m, index):
        """Sequence number of SAMPLES[index] in alice's INBOX (the storage
        numbers messages in its own order)."""
        if not hasattr(type(self), 'seqs'):
            typ, data = m.fetch('1:*', '(BODY.PEEK[])')
            by_body = {}
            for item in data:
                if isinstance(item, tuple):
                    n = int(item[0].split()[0])
                    by_body[item[1]] = n
            type(self).seqs = [by_body[wire(raw)] for raw in self.messages]
        return str(type(self).seqs[index])

    def connect(self, user='alice', password='secret'):
        m = imaplib.IMAP4(self.server.host, self.server.port('imap'))
        self.addCleanup(harness.quiet_logout, m)
        typ, _ = m.login(user, password)
        self.assertEqual(typ, 'OK')
        return m

    def test_greeting_and_capability(self):
        m = imaplib.IMAP4(self.server.host, self.server.port('imap'))
        self.assertIn('IMAP4REV1', m.capabilities)
        self.assertIn('LITERAL+', m.capabilities)
        self.assertIn('AUTH=PLAIN', m.capabilities)
        self.assertNotIn('LOGINDISABLED', m.capabilities)
        typ, data = m.capability()
        self.assertEqual(typ, 'OK')
        m.logout()

    def test_login_wrong_password(self):
        m = imaplib.IMAP4(self.server.host, self.server.port('imap'))
        with self.assertRaises(imaplib.IMAP4.error) as e:
            m.login('alice', 'wrong')
        self.assertIn('AUTHENTICATIONFAILED', str(e.exception))
        m.logout()

    def test_authenticate_plain_with_ir(self):
        m = imaplib.IMAP4(self.server.host, self.server.port('imap'))
        typ, _ = m.authenticate('PLAIN',
                                lambda _: b'\0bob\0hunter2')
        self.assertEqual(typ, 'OK')
        self.assertEqual(m.select('INBOX')[0], 'OK')
        m.logout()

    def test_authenticate_sasl_ir_and_cancel(self):
        c = self.server.connect('imap')
        self.addCleanup(c.close)
        self.assertTrue(c.line().startswith('* OK'))
        # cancelled exchange
        self.assertTrue(c.cmd('a AUTHENTICATE PLAIN').startswith('+'))
        self.assertTrue(c.cmd('*').startswith('a BAD'))
        # wrong password in the initial response
        ir = base64.b64encode(b'\0alice\0nope').decode()
        self.assertTrue(c.cmd('b AUTHENTICATE PLAIN ' + ir).startswith(
            'b NO [AUTHENTICATIONFAILED]'))
        self.assertTrue(c.cmd('c AUTHENTICATE FOO').startswith('c NO'))
        ir = base64.b64encode(b'\0alice\0secret').decode()
        self.assertTrue(c.cmd('d AUTHENTICATE PLAIN ' + ir).startswith(
            'd OK [CAPABILITY'))
        self.assertTrue(c.cmd('e SELECT INBOX').startswith('*'))

    def test_fetch_sizes_and_bodies(self):
        m = self.connect()
        typ, data = m.select('INBOX', readonly=True)
        self.assertEqual(int(data[0]), len(SAMPLES))
        expected = sorted(wire(raw) for raw in self.messages)
        typ, data = m.fetch('1:*', '(RFC822.SIZE BODY.PEEK[])')
        self.assertEqual(typ, 'OK')
        got = []
        for item in data:
            if isinstance(item, tuple):
                size = int(re.search(rb'RFC822.SIZE (\d+)',
                                     item[0]).group(1))
                self.assertEqual(size, len(item[1]))
                got.append(item[1])
        self.assertEqual(sorted(got), expected)

    def test_fetch_lf_message_across_chunks(self):
        # Stored with bare LFs, CR LFs and lone CRs mixed, a CR ending one
        # 16 KiB read and its LF starting the next, runs of LFs: BODY[]
        # and partial fetches are the CR LF form, byte for byte.
        body = bytearray(b'Subject: chunks\n\n')
        body += b'a' * (16384 - len(body) - 1) + b'\r'  # CR ends chunk 1
        body += b'\n' + b'\n\n\n' + b'x\r\ny\rz\n' * 3000 + b'end'
        raw = bytes(body)
        want = re.sub(rb'(?<!\r)\n', b'\r\n', raw)
        harness.deliver(self.server, 'ivan', raw)
        m = self.connect('ivan', 'pw')
        m.select('INBOX', readonly=True)
        typ, data = m.fetch('1', '(RFC822.SIZE BODY.PEEK[])')
        self.assertEqual(data[0][1], want)
        self.assertIn(b'RFC822.SIZE %d' % len(want), data[0][0])
        for start, n in ((16380, 10), (16383, 2), (0, 16385), (30000, 7)):
            typ, data = m.fetch('1', '(BODY.PEEK[]<%d.%d>)' % (start, n))
            self.assertEqual(data[0][1], want[start:start + n],
                             (start, n))

    def test_fetch_partial_and_header(self):
        m = self.connect()
        m.select('INBOX', readonly=True)
        raw = wire(self.messages[4])  # LF-only file: converted on the fly
        typ, data = m.fetch(self.seq(m, 4), '(BODY.PEEK[]<10.50>)')
        self.assertIn(b'BODY[]<10> {50}', data[0][0])
        self.assertEqual(data[0][1], raw[10:60])
        typ, data = m.fetch(self.seq(m, 4), '(BODY.PEEK[HEADER])')
        self.assertEqual(data[0][1], raw[:raw.index(b'\r\n\r\n') + 4])
        typ, data = m.fetch(self.seq(m, 4), '(BODY.PEEK[TEXT])')
        self.assertEqual(data[0][1], raw[raw.index(b'\r\n\r\n') + 4:])
        typ, data = m.fetch(self.seq(m, 1),
                            '(BODY.PEEK[HEADER.FIELDS (Subject CC)])')
        self.assertEqual(data[0][1],
                         b'Cc: ccc@zzz.org\r\nCC: ddd@zzz.org\r\n'
                         b'cc: eee@zzz.org\r\n'
                         b'Subject: This is a test message\r\n\r\n')
        typ, data = m.fetch(self.seq(m, 1), '(BODY.PEEK[HEADER.FIELDS.NOT (Received '
                                 'Subject Cc From To Date Message-ID)])')
        self.assertNotIn(b'Subject', data[0][1])
        self.assertTrue(data[0][1].endswith(b'\r\n\r\n'))

    def test_fetch_nested_parts(self):
        m = self.connect()
        m.select('INBOX', readonly=True)
        # msg_02: part 3 is a multipart/digest of message/rfc822 parts
        typ, data = m.fetch(self.seq(m, 0),
                            '(BODY.PEEK[1] BODY.PEEK[3.1.HEADER] '
                                 'BODY.PEEK[3.1.TEXT] BODY.PEEK[3.1.MIME] '
                                 'BODY.PEEK[3.2.1])')
        self.assertEqual(typ, 'OK')
        parts = {}
        for item in data:
            if isinstance(item, tuple):
                name = re.search(rb'(BODY\[[^\]]*\])', item[0]).group(1)
                parts[name] = item[1]
        self.assertTrue(parts[b'BODY[1]'].startswith(
            b'Send Ppp mailing list submissions to'))
        self.assertIn(b'Subject: [Ppp] testing #1\r\n', parts[b'BODY[3.1.HEADER]'])
        self.assertEqual(parts[b'BODY[3.1.TEXT]'], b'\r\nhello\r\n\r\n')
        self.assertEqual(parts[b'BODY[3.1.MIME]'], b'\r\n')
        self.assertEqual(parts[b'BODY[3.2.1]'], b'\r\nhello\r\n\r\n')

    def test_fetch_nonexistent_section(self):
        m = self.connect()
        m.select('INBOX', readonly=True)
        typ, data = m.fetch('1', '(BODY.PEEK[99.1])')
        self.assertEqual(typ, 'OK')
        self.assertIn(b'BODY[99.1] NIL', data[0])

    def test_envelope_bodystructure_cached(self):
        m = self.connect()
        m.select('INBOX', readonly=True)
        typ, first = m.fetch('1:*', '(ENVELOPE BODYSTRUCTURE)')
        typ, second = m.fetch('1:*', '(ENVELOPE BODYSTRUCTURE)')
        self.assertEqual(first, second)
        self.assertIn(b'"Ppp digest, Vol 1 #2 - 5 msgs"', b''.join(
            x if isinstance(x, bytes) else x[0] for x in first))
        typ, data = m.fetch('1', 'FULL')
        self.assertIn(b'INTERNALDATE', data[0])
        self.assertIn(b' BODY (', data[0])

    def test_uid_commands(self):
        m = self.connect()
        m.select('INBOX', readonly=True)
        typ, data = m.uid('SEARCH', 'ALL')
        uids = data[0].split()
        self.assertEqual(len(uids), len(SAMPLES))
        typ, data = m.uid('FETCH', uids[-1], '(FLAGS)')
        self.assertIn(b'UID ' + uids[-1], data[0])
        typ, data = m.uid('FETCH', '1:*', '(UID)')
        self.assertEqual(len(data), len(SAMPLES))
        typ, data = m.uid('FETCH', '4000000000:*', '(UID)')
        self.assertEqual(len([d for d in data if d]), 1)  # "*" is the last

    def test_store_search_expunge(self):
        m = self.connect('bob', 'hunter2')
        for i in range(5):
            m.append('INBOX', None, None,
                     b'Subject: n%d\r\n\r\n%s\r\n' % (i, b'x' * (i * 100)))
        m.select('INBOX')
        typ, data = m.store('2,4', '+FLAGS', '(\\Deleted \\Flagged)')
        self.assertEqual(len(data), 2)
        self.assertEqual(m.search(None, 'DELETED')[1], [b'2 4'])
        self.assertEqual(m.search(None, 'NOT', 'DELETED')[1], [b'1 3 5'])
        self.assertEqual(m.search(None, 'OR', 'FLAGGED', '1')[1],
                         [b'1 2 4'])
        self.assertEqual(m.search(None, 'LARGER', '250')[1], [b'4 5'])
        self.assertEqual(m.search(None, '(UNDELETED SMALLER 150)')[1],
                         [b'1'])
        m.store('1', 'FLAGS', '($Label1)')
        self.assertEqual(m.search(None, 'KEYWORD', '$Label1')[1], [b'1'])
        self.assertEqual(m.search(None, 'SINCE', '1-Jan-2000')[1],
                         [b'1 2 3 4 5'])
        self.assertEqual(m.search(None, 'BEFORE', '1-Jan-2000')[1], [b''])
        typ, data = m.expunge()
        self.assertEqual(data, [b'4', b'2'])
        self.assertEqual(m.search(None, 'ALL')[1], [b'1 2 3'])
        self.assertEqual(m.search(None, 'SUBJECT', 'N2')[1], [b'2'])
        self.assertEqual(m.search(None, 'BODY', 'xxxx')[1], [b'2 3'])

    def test_mailboxes(self):
        m = self.connect('dave', 'pw')
        self.assertEqual(m.create('Work/Reports')[0], 'OK')
        self.assertEqual(m.create('Caf&AOk-')[0], 'OK')  # "Café"
        self.assertTrue(os.path.isdir(os.path.join(
            self.server.maildir('dave'), '.Caf\u00e9')))
        typ, data = m.list()
        names = [d.decode() for d in data]
        self.assertTrue(any(n.endswith('"Work"') and 'HasChildren' in n
                            for n in names), names)
        self.assertTrue(any('"Work/Reports"' in n for n in names), names)
        typ, data = m.list('""', 'Work/%')
        self.assertEqual(len(data), 1)
        typ, data = m.list('""', '%')
        self.assertFalse(any('Reports' in d.decode() for d in data))
        self.assertEqual(m.rename('Work/Reports', '"Old Reports"')[0], 'OK')
        typ, data = m.status('"Old Reports"', '(MESSAGES UIDNEXT)')
        self.assertEqual(data, [b'"Old Reports" (MESSAGES 0 UIDNEXT 1)'])
        self.assertEqual(m.subscribe('"Old Reports"')[0], 'OK')
        typ, data = m.lsub('""', '*')
        self.assertIn(b'"Old Reports"', b' '.join(data))
        self.assertEqual(m.delete('"Old Reports"')[0], 'OK')
        typ, data = m.select('"Old Reports"')
        self.assertEqual(typ, 'NO')
        self.assertIn(b'NONEXISTENT', data[0])
        typ, data = m.list('""', 'inbox')
        self.assertIn(b'"INBOX"', data[0])

    def test_append_literal_date_and_26_byte_message(self):
        c = self.server.connect('imap')
        self.addCleanup(c.close)
        c.line()
        self.assertTrue(c.cmd('a LOGIN hank pw').startswith('a OK'))
        self.assertTrue(c.cmd('b APPEND INBOX (\\Seen) {26}').startswith('+'))
        self.assertTrue(c.cmd('17-Jul-1996 02:44:25 -0700 {5}')
                        .startswith('+'))
        self.assertTrue(c.cmd('hello').startswith('b OK [APPENDUID'))
        msg = 'Subject: x\r\n\r\n1234567890\r\n'
        self.assertEqual(len(msg), 26)
        self.assertTrue(c.cmd('c APPEND INBOX {26}').startswith('+'))
        self.assertTrue(c.cmd(msg).startswith('c OK [APPENDUID'))
        line = c.cmd('d SELECT INBOX')
        while not line.startswith('d OK'):
            line = c.line()
        # the same instant (the storage may keep the zone or not)
        self.assertIn(c.cmd('e FETCH 1 (INTERNALDATE FLAGS RFC822.SIZE)'),
                      ['* 1 FETCH (INTERNALDATE "%s" FLAGS (\\Seen '
                       '\\Recent) RFC822.SIZE 5)' % d for d in
                       ('17-Jul-1996 02:44:25 -0700',
                        '17-Jul-1996 09:44:25 +0000')])
        c.line()
        c.send('f FETCH 2 BODY.PEEK[]\r\n')
        self.assertEqual(c.line(), '* 2 FETCH (BODY[] {26}')
        self.assertEqual(c.read_exact(26).decode(), msg)

    def test_list_extended(self):
        m = self.connect('frank', 'pw')
        self.assertIn('LIST-STATUS', m.capabilities)
        m.append('INBOX', None, None, b'Subject: a\r\n\r\nx\r\n')
        m.append('INBOX', '(\\Seen)', None, b'Subject: b\r\n\r\ny\r\n')
        m.subscribe('INBOX')
        typ, data = m._simple_command(
            'LIST', '""', '(INBOX "Nothing*")', 'RETURN',
            '(STATUS (MESSAGES UNSEEN) SUBSCRIBED)')
        self.assertEqual(typ, 'OK')
        self.assertEqual(m._untagged_response(typ, data, 'STATUS')[1],
                         [b'"INBOX" (MESSAGES 2 UNSEEN 1)'])
        m.untagged_responses.clear()
        typ, data = m._simple_command('LIST', '(SPECIAL-USE)', '""', '*')
        self.assertEqual(typ, 'OK')
        lines = m._untagged_response(typ, data, 'LIST')[1]
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, rb'\\(All|Archive|Drafts|Flagged|Junk|'
                                   rb'Sent|Trash)')
        with self.assertRaisesRegex(imaplib.IMAP4.error, 'BAD'):
            m._simple_command('LIST', '(RECURSIVEMATCH)', '""', '*')
        with self.assertRaisesRegex(imaplib.IMAP4.error, 'BAD'):
            m._simple_command('LIST', '""', '*', 'RETURN',
                              '(STATUS (BOGUS))')

    def test_copy_move_append(self):
        m = self.connect('carol', 'pw')
        for i in range(2):
            m.append('INBOX', None, None, b'Subject: c%d\r\n\r\nhi\r\n' % i)
        m.select('INBOX')
        m.create('Saved')
        typ, data = m.copy('1:2', 'Saved')
        self.assertEqual(typ, 'OK')
        self.assertIn(b'COPYUID', data[0])
        typ, data = m.copy('1', 'Nowhere')
        self.assertEqual(typ, 'NO')
        self.assertIn(b'TRYCREATE', data[0])
        m.select('Saved')
        typ, data = m._simple_command('MOVE', '1', 'INBOX')
        self.assertEqual(typ, 'OK')
        self.assertEqual(m.search(None, 'ALL')[1], [b'1'])
        big = b'Subject: big\r\n\r\n' + b'0123456789abcdef' * 65536
        typ, data = m.append('Saved', '(\\Seen)', None, big)
        self.assertEqual(typ, 'OK')
        self.assertIn(b'APPENDUID', data[0])
        m.select('Saved')
        typ, data = m.fetch('2', '(FLAGS BODY.PEEK[])')
        self.assertIn(b'\\Seen', data[0][0])
        self.assertEqual(data[0][1], big)

    def test_states(self):
        m = imaplib.IMAP4(self.server.host, self.server.port('imap'))
        with self.assertRaises(imaplib.IMAP4.error):
            m.select('INBOX')  # not authenticated
        m.login('alice', 'secret')
        with self.assertRaises(imaplib.IMAP4.error):
            m.fetch('1', 'FLAGS')  # nothing selected
        m.select('INBOX', readonly=True)
        typ, data = m.store('1', '+FLAGS', '(\\Deleted)')
        self.assertEqual(typ, 'NO')
        self.assertEqual(m.close()[0], 'OK')
        m.logout()

    def test_pipelining_500(self):
        s = socket.create_connection((self.server.host,
                                      self.server.port('imap')), 20)
        f = s.makefile('rb')
        f.readline()
        cmds = [b'a0 LOGIN alice secret\r\n', b'a1 SELECT INBOX\r\n']
        for i in range(2, 500):
            cmds.append(b'a%d %s\r\n' % (i, [b'NOOP', b'FETCH 1 (UID FLAGS)',
                                             b'SEARCH ALL',
                                             b'UID FETCH 1:* (UID)'][i % 4]))
        s.sendall(b''.join(cmds))
        seen = []
        while len(seen) < 500:
            line = f.readline()
            self.assertTrue(line, 'connection closed early')
            m = re.match(rb'(a\d+) (OK|NO|BAD)', line)
            if m:
                self.assertEqual(m.group(2), b'OK', line)
                seen.append(m.group(1))
        self.assertEqual(seen, [b'a%d' % i for i in range(500)])
        s.sendall(b'z LOGOUT\r\n')
        s.close()

    def test_stalled_reader_memory(self):
        """LF-stored messages are converted while sent: with the client
        not reading, the worker must not queue the converted bytes."""
        body = b'Subject: lf\n\n' + (b'z' * 1000 + b'\n') * 4000
        for _ in range(10):
            harness.deliver(self.server, 'gina', body)
        s = socket.create_connection((self.server.host,
                                      self.server.port('imap')), 20)
        s.sendall(b'a LOGIN gina pw\r\nb SELECT INBOX\r\n')
        f = s.makefile('rb')
        while not f.readline().startswith(b'b OK'):
            pass
        before = harness.rss_kb(self.server.worker_pid())
        s.sendall(b'c FETCH 1:* (BODY.PEEK[])\r\n')
        time.sleep(1.5)  # not reading: the answer is 40 MB
        grown = harness.rss_kb(self.server.worker_pid()) - before
        self.assertLess(grown, 8 * 1024, 'worker grew %d kB' % grown)
        total = 0
        while True:
            line = f.readline()
            self.assertTrue(line)
            m2 = re.search(rb'\{(\d+)\}\r\n$', line)
            if m2:
                data = f.read(int(m2.group(1)))
                self.assertNotIn(b'z\nz', data)  # CRLF on the wire
                total += len(data)
            if line.startswith(b'c OK'):
                break
        self.assertGreaterEqual(total, 10 * (len(body) + 4001))
        s.close()

    def test_large_fetch_bounded(self):
        """A client that stops reading during a large FETCH: the server
        stops producing (bounded memory) and serves others meanwhile."""
        m = self.connect('erin', 'pw')
        body = b'Subject: big\r\n\r\n' + (b'y' * 1000 + b'\r\n') * 2000
        for _ in range(8):
            m.append('INBOX', None, None, body)
        s = socket.create_connection((self.server.host,
                                      self.server.port('imap')), 20)
        s.sendall(b'a LOGIN erin pw\r\nb SELECT INBOX\r\n'
                  b'c FETCH 1:* (BODY.PEEK[])\r\n')
        # do not read; another client is still served at once
        other = self.connect()
        self.assertEqual(other.select('INBOX', readonly=True)[0], 'OK')
        self.assertEqual(other.noop()[0], 'OK')
        # now drain everything: the whole answer arrives
        f = s.makefile('rb')
        total = 0
        while True:
            line = f.readline()
            self.assertTrue(line)
            m2 = re.search(rb'\{(\d+)\}\r\n$', line)
            if m2:
                total += len(f.read(int(m2.group(1))))
            if line.startswith(b'c OK'):
                break
        self.assertGreaterEqual(total, 8 * len(body))
        s.close()


if __name__ == '__main__':
    harness.main()
