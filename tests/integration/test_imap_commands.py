#!/usr/bin/env python3
"""Every IMAP4rev1 command and extension command the imap4 plugin offers,
through Python's imaplib and a raw line client against a real posthornd,
on mailboxes built from the corpus with harness.deliver. Each test has its
own user (named after the test), so no test depends on another's state.

Expected answers come from the RFC texts in /work/shared/rfc: 3501 (base),
4315 (UIDPLUS), 6851 (MOVE), 2342 (NAMESPACE), 2971 (ID), 5161 (ENABLE),
3691 (UNSELECT), 5530 (response codes)."""
import datetime
import imaplib
import os
import re
import unittest

import harness

CORPUS = harness.CORPUS_DIR
# A: text/plain, From/To/three Cc fields, Date 4 May 2001
# B: multipart/mixed with two text/plain parts, Date 11 Sep 2001
# C: LF line ends, Date 22 Nov 2008 (+1100)
# D: a "BCc:" header, no Date header, text/html in big5
FILES = {
    'A': 'cpython/msg_20.txt',
    'B': 'cpython/msg_04.txt',
    'C': 'ruby-mail/plain_emails/basic_email_lf.eml',
    'D': 'ruby-mail/error_emails/content_transfer_encoding_empty.eml',
}


def wire(data):
    """The message as IMAP sends it: every line end CR LF."""
    return re.sub(rb'\r?\n', b'\r\n', data)


def corpus(key):
    with open(os.path.join(CORPUS, FILES[key]), 'rb') as f:
        return f.read()


def split_message(raw):
    """(header with its blank line, body) of a message in wire form."""
    i = raw.index(b'\r\n\r\n') + 4
    return raw[:i], raw[i:]


def header_fields(header):
    """The header as a list of (name, whole field with continuations)."""
    fields = []
    for line in header[:-2].split(b'\r\n')[:-1]:
        if line[:1] in (b' ', b'\t') and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + line + b'\r\n')
        else:
            fields.append((line.split(b':', 1)[0].strip().lower(),
                           line + b'\r\n'))
    return fields


class Raw:
    """A raw session: exact untagged lines for each command. Literals are
    spliced into their line (decoded as Latin-1)."""

    def __init__(self, test, user, password='pw'):
        self.c = test.server.connect('imap')
        test.addCleanup(self.c.close)
        self.n = 0
        greeting = self.c.line()
        assert greeting.startswith('* OK'), greeting
        if user is not None:
            tagged, _ = self.run('LOGIN %s %s' % (user, password))
            assert tagged.startswith('OK'), tagged

    def _line(self):
        line = self.c.line()
        while True:
            m = re.search(r'\{(\d+)\}$', line)
            if not m:
                return line
            data = self.c.read_exact(int(m.group(1))).decode('latin-1')
            line = line + '\r\n' + data + self.c.line()

    def run(self, command):
        """(tagged status and text, [untagged lines without "* "])."""
        self.n += 1
        tag = 'r%d' % self.n
        self.c.send('%s %s\r\n' % (tag, command))
        untagged = []
        while True:
            line = self._line()
            if line == '':
                raise AssertionError('connection closed during %r' % command)
            if line.startswith(tag + ' '):
                return line[len(tag) + 1:], untagged
            self.assert_(line.startswith('* '), line)
            untagged.append(line[2:])

    @staticmethod
    def assert_(ok, what):
        if not ok:
            raise AssertionError(what)

    def ok(self, command):
        tagged, untagged = self.run(command)
        self.assert_(tagged.startswith('OK'), '%s -> %s' % (command, tagged))
        return untagged


def fetch_items(line):
    """'3 FETCH (UID 7 FLAGS (\\Seen))' -> (3, {'UID': '7', 'FLAGS':
    '(\\Seen)'}) for the simple items (no literals, lists of one level,
    quoted strings without escapes)."""
    m = re.match(r'(\d+) FETCH \((.*)\)$', line, re.S)
    assert m, line
    items, s = {}, m.group(2)
    while s:
        name, s = s.split(' ', 1)
        if s.startswith('('):
            depth = 0
            for i, ch in enumerate(s):
                depth += ch == '('
                depth -= ch == ')'
                if depth == 0:
                    break
            items[name], s = s[:i + 1], s[i + 2:]
        elif s.startswith('"'):
            end = s.index('"', 1)
            items[name], s = s[:end + 1], s[end + 2:]
        elif ' ' in s:
            items[name], s = s.split(' ', 1)
        else:
            items[name], s = s, ''
    return int(m.group(1)), items


def flags_of(text):
    return set(text.strip('()').split())


class ImapCommands(harness.TestCase):
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}

    # ---- helpers ----

    def user(self):
        return self._testMethodName[len('test_'):]

    def build(self, keys, folder=None, user=None):
        """Delivers corpus messages; returns {key: raw wire bytes}."""
        user = user or self.user()
        for k in keys:
            harness.deliver(self.server, user, corpus(k), folder=folder)
        return {k: wire(corpus(k)) for k in keys}

    def seqs(self, raw, msgs):
        """{key: sequence number} in the selected mailbox of `raw`."""
        out = {}
        for line in raw.ok('FETCH 1:* (BODY.PEEK[])'):
            m = re.match(r'(\d+) FETCH \(BODY\[\] (.*)\)$', line, re.S)
            body = m.group(2).split('\r\n', 1)[1].encode('latin-1')
            for k, v in msgs.items():
                if v == body:
                    out[k] = int(m.group(1))
        self.assertEqual(set(out), set(msgs))
        return out

    def imap(self, user=None):
        m = imaplib.IMAP4(self.server.host, self.server.port('imap'))
        self.addCleanup(harness.quiet_logout, m)
        self.assertEqual(m.login(user or self.user(), 'pw')[0], 'OK')
        return m

    def uid_map(self, raw):
        """{seq: uid} of the selected mailbox."""
        out = {}
        for line in raw.ok('FETCH 1:* (UID)'):
            n, items = fetch_items(line)
            out[n] = int(items['UID'])
        return out

    def status(self, raw, box, items='MESSAGES RECENT UIDNEXT UIDVALIDITY '
               'UNSEEN'):
        untagged = raw.ok('STATUS %s (%s)' % (box, items))
        self.assertEqual(len(untagged), 1, untagged)
        m = re.match(r'STATUS ("?[^"]*"?|\S+) \((.*)\)$', untagged[0])
        self.assertTrue(m, untagged)
        v = m.group(2).split()
        return {v[i]: int(v[i + 1]) for i in range(0, len(v), 2)}

    def select(self, raw, box='INBOX', examine=False):
        untagged = raw.ok('%s %s' % ('EXAMINE' if examine else 'SELECT',
                                     box))
        info = {}
        for line in untagged:
            m = re.match(r'(\d+) (EXISTS|RECENT)$', line)
            if m:
                info[m.group(2)] = int(m.group(1))
            m = re.match(r'OK \[(UIDVALIDITY|UIDNEXT|UNSEEN) (\d+)\]', line)
            if m:
                info[m.group(1)] = int(m.group(2))
        return info

    # ---- UIDPLUS (RFC 4315), MOVE (RFC 6851) ----

    def test_uid_copy(self):
        msgs = self.build('ABC')
        r = Raw(self, self.user())
        r.ok('CREATE Dest')
        self.select(r)
        seq = self.seqs(r, msgs)
        uids = self.uid_map(r)
        r.ok('STORE %d +FLAGS.SILENT (\\Flagged)' % seq['B'])
        src = sorted([uids[seq['A']], uids[seq['B']]])
        dest_validity = self.status(r, 'Dest')['UIDVALIDITY']
        tagged, untagged = r.run('UID COPY %d,%d Dest' % tuple(src))
        # RFC 4315: OK [COPYUID validity source-uids dest-uids]; the sets
        # are in matching order
        m = re.match(r'OK \[COPYUID (\d+) (\S+) (\S+)\]', tagged)
        self.assertTrue(m, tagged)
        self.assertEqual(int(m.group(1)), dest_validity)
        self.assertEqual(untagged, [])

        def expand(s):
            out = []
            for part in s.split(','):
                lo, _, hi = part.partition(':')
                out += range(int(lo), int(hi or lo) + 1)
            return out
        self.assertEqual(expand(m.group(2)), src)
        dest_uids = expand(m.group(3))
        self.assertEqual(len(dest_uids), 2)
        # the source is unchanged
        self.assertEqual(self.status(r, 'INBOX')['MESSAGES'], 3)
        # a nonexistent UID is ignored without error (RFC 3501 6.4.8)
        tagged, untagged = r.run('UID COPY 999999 Dest')
        self.assertTrue(tagged.startswith('OK'), tagged)
        self.assertNotIn('COPYUID', tagged)
        self.select(r, 'Dest')
        got = {}
        for line in r.ok('UID FETCH 1:* (UID FLAGS BODY.PEEK[])'):
            n, items = fetch_items(line.split(' BODY[]')[0] + ')')
            body = line.split('\r\n', 1)[1][:-1].encode('latin-1')
            got[int(items['UID'])] = (body, flags_of(items['FLAGS']))
        self.assertEqual(sorted(got), sorted(dest_uids))
        # COPY preserves the flags; dest UIDs pair with source UIDs
        by_src = dict(zip(src, dest_uids))
        a_uid, b_uid = uids[seq['A']], uids[seq['B']]
        self.assertEqual(got[by_src[a_uid]][0], msgs['A'])
        self.assertEqual(got[by_src[b_uid]][0], msgs['B'])
        self.assertIn('\\Flagged', got[by_src[b_uid]][1])
        self.assertNotIn('\\Flagged', got[by_src[a_uid]][1])

    def test_uid_expunge(self):
        msgs = self.build('ABCD')
        r = Raw(self, self.user())
        self.select(r)
        self.seqs(r, msgs)
        uids = self.uid_map(r)
        order = sorted(uids)  # 1..4
        r.ok('STORE 1:3 +FLAGS.SILENT (\\Deleted)')
        # UID EXPUNGE of 2:4's UIDs: only 2 and 3 have \Deleted
        tagged, untagged = r.run('UID EXPUNGE %d:%d' %
                                 (uids[order[1]], uids[order[3]]))
        self.assertTrue(tagged.startswith('OK'), tagged)
        self.assertIn(untagged, (['3 EXPUNGE', '2 EXPUNGE'],
                                 ['2 EXPUNGE', '2 EXPUNGE']))
        left = self.uid_map(r)
        self.assertEqual(sorted(left.values()),
                         sorted([uids[1], uids[4]]))
        # message 1 keeps its \Deleted flag and is still there
        untagged = r.ok('FETCH 1 (FLAGS)')
        self.assertIn('\\Deleted', flags_of(fetch_items(untagged[0])[1]
                                            ['FLAGS']))
        # a UID set with nothing \Deleted in it removes nothing
        tagged, untagged = r.run('UID EXPUNGE %d' % uids[4])
        self.assertTrue(tagged.startswith('OK'), tagged)
        self.assertEqual(untagged, [])
        # UID EXPUNGE needs a set; EXPUNGE takes none
        self.assertTrue(r.run('UID EXPUNGE')[0].startswith('BAD'))
        self.assertTrue(r.run('EXPUNGE 1')[0].startswith('BAD'))
        # read-only: NO, nothing removed
        self.select(r, examine=True)
        tagged, _ = r.run('UID EXPUNGE 1:*')
        self.assertTrue(tagged.startswith('NO [READ-ONLY]'), tagged)
        self.assertEqual(self.status(r, 'INBOX')['MESSAGES'], 2)

    def test_uid_move(self):
        msgs = self.build('ABC')
        r = Raw(self, self.user())
        r.ok('CREATE Archive')
        self.select(r)
        seq = self.seqs(r, msgs)
        uids = self.uid_map(r)
        r.ok('STORE %d +FLAGS.SILENT (\\Flagged \\Seen)' % seq['B'])
        validity = self.status(r, 'Archive')['UIDVALIDITY']
        tagged, untagged = r.run('UID MOVE %d Archive' % uids[seq['B']])
        self.assertTrue(tagged.startswith('OK'), tagged)
        # RFC 6851: untagged OK [COPYUID ...] first, then the EXPUNGE
        self.assertEqual(len(untagged), 2, untagged)
        m = re.match(r'OK \[COPYUID (\d+) (\d+) (\d+)\]', untagged[0])
        self.assertTrue(m, untagged)
        self.assertEqual(int(m.group(1)), validity)
        self.assertEqual(int(m.group(2)), uids[seq['B']])
        self.assertEqual(untagged[1], '%d EXPUNGE' % seq['B'])
        self.assertEqual(self.status(r, 'INBOX')['MESSAGES'], 2)
        # a nonexistent UID: OK, nothing moved, no EXPUNGE
        tagged, untagged = r.run('UID MOVE 999999 Archive')
        self.assertTrue(tagged.startswith('OK'), tagged)
        self.assertEqual(untagged, [])
        # to a mailbox that does not exist: NO [TRYCREATE], nothing lost
        tagged, untagged = r.run('UID MOVE 1:* Nowhere')
        self.assertTrue(tagged.startswith('NO [TRYCREATE]'), tagged)
        self.assertEqual(untagged, [])
        self.assertEqual(self.status(r, 'INBOX')['MESSAGES'], 2)
        # in the target: the message, its flags, never \Deleted
        self.select(r, 'Archive')
        untagged = r.ok('UID FETCH %s (FLAGS BODY.PEEK[])' % m.group(3))
        self.assertEqual(len(untagged), 1)
        head, body = untagged[0].split('\r\n', 1)
        self.assertEqual(body[:-1].encode('latin-1'), msgs['B'])
        # UID FETCH answers the UID unasked (RFC 3501 6.4.8)
        self.assertIn('UID %s' % m.group(3), head)
        flags = flags_of(re.search(r'FLAGS (\([^)]*\))', head).group(1))
        self.assertIn('\\Flagged', flags)
        self.assertIn('\\Seen', flags)
        self.assertNotIn('\\Deleted', flags)
        # MOVE in a read-only mailbox: NO [READ-ONLY]
        self.select(r, 'Archive', examine=True)
        tagged, _ = r.run('UID MOVE 1:* INBOX')
        self.assertTrue(tagged.startswith('NO [READ-ONLY]'), tagged)

    def test_copy_move_keep_internaldate(self):
        """RFC 3501 6.4.7: flags and internal date SHOULD be preserved;
        RFC 6851: MOVE is COPY + EXPUNGE."""
        for k, when in (('A', 1104580800), ('B', 1136116800)):  # 2005, 2006
            path = harness.deliver(self.server, self.user(), corpus(k))
            os.utime(path, (when, when))
        r = Raw(self, self.user())
        r.ok('CREATE Copies')
        r.ok('CREATE Moved')
        self.select(r)
        dates = {}
        for line in r.ok('FETCH 1:* (INTERNALDATE RFC822.SIZE)'):
            _, items = fetch_items(line)
            dates[items['RFC822.SIZE']] = items['INTERNALDATE']
        self.assertEqual(sorted(d[8:12] for d in dates.values()),
                         ['2005', '2006'])
        r.ok('COPY 1:2 Copies')
        r.ok('MOVE 1:2 Moved')
        for box in ('Copies', 'Moved'):
            self.select(r, box, examine=True)
            got = {}
            for line in r.ok('FETCH 1:* (INTERNALDATE RFC822.SIZE)'):
                _, items = fetch_items(line)
                got[items['RFC822.SIZE']] = items['INTERNALDATE']
            self.assertEqual(got, dates, box)

    def test_select_and_logout_do_not_expunge(self):
        """RFC 3501 6.4.2: SELECT, EXAMINE and LOGOUT close the mailbox
        without expunging."""
        self.build('AB')
        r = Raw(self, self.user())
        self.select(r)
        r.ok('STORE 1 +FLAGS.SILENT (\\Deleted)')
        self.select(r)
        self.assertEqual(self.status(r, 'INBOX')['MESSAGES'], 2)
        r.ok('STORE 2 +FLAGS.SILENT (\\Deleted)')
        self.select(r, examine=True)
        self.assertEqual(self.status(r, 'INBOX')['MESSAGES'], 2)
        self.select(r)
        tagged, untagged = r.run('LOGOUT')
        self.assertTrue(tagged.startswith('OK'), tagged)
        self.assertEqual(untagged[0].split()[0], 'BYE')
        self.assertTrue(all('EXPUNGE' not in u for u in untagged), untagged)
        r2 = Raw(self, self.user())
        self.assertEqual(self.status(r2, 'INBOX')['MESSAGES'], 2)
        self.select(r2)
        flags = [flags_of(fetch_items(x)[1]['FLAGS'])
                 for x in r2.ok('FETCH 1:* (FLAGS)')]
        self.assertEqual([('\\Deleted' in f) for f in flags], [True, True])

    # ---- any state: NAMESPACE, ID, ENABLE, NOOP, CHECK ----

    def test_namespace(self):
        r = Raw(self, self.user())
        untagged = r.ok('LIST "" ""')
        sep = re.match(r'LIST \(\\Noselect\) "(.)" ""$', untagged[0]).group(1)
        # RFC 2342: one personal namespace, no other users', no shared
        self.assertEqual(r.ok('NAMESPACE'),
                         ['NAMESPACE (("" "%s")) NIL NIL' % sep])
        m = self.imap()
        typ, data = m.namespace()
        self.assertEqual((typ, data),
                         ('OK', [b'(("" "%s")) NIL NIL' % sep.encode()]))
        # authenticated state only
        r2 = Raw(self, None)
        self.assertTrue(r2.run('NAMESPACE')[0].startswith('BAD'))

    def test_id(self):
        # any state (RFC 2971 3.1): before login too
        r = Raw(self, None)
        for args in ('NIL', '("name" "imaplib" "version" NIL)'):
            tagged, untagged = r.run('ID ' + args)
            self.assertTrue(tagged.startswith('OK'), tagged)
            self.assertEqual(len(untagged), 1)
            m = re.match(r'ID \((.*)\)$', untagged[0])
            self.assertTrue(m, untagged)
            pairs = re.findall(r'"([^"]*)" "([^"]*)"', m.group(1))
            # the list is field/value pairs of quoted strings only
            self.assertEqual(' '.join('"%s" "%s"' % p for p in pairs),
                             m.group(1))
            fields = [f.lower() for f, _ in pairs]
            self.assertEqual(dict(pairs)['name'], 'Posthorn')
            self.assertIn('version', fields)
            self.assertEqual(len(fields), len(set(fields)))  # no repeats
            self.assertLessEqual(len(fields), 30)
            self.assertTrue(all(len(f) <= 30 for f in fields))
        # an empty list is a valid id-params-list
        tagged, untagged = r.run('ID ()')
        self.assertTrue(tagged.startswith('OK'), tagged)
        self.assertEqual(len(untagged), 1)
        # ABNF (RFC 2971 4): "(" *(string SP nstring) ")"
        for bad in ('ID', 'ID name', 'ID NIL NIL', 'ID "x"', 'ID ("name")',
                    'ID (name "imaplib")', 'ID ("name" imaplib)',
                    'ID ("name" ("x"))', 'ID ("a" "b" "c")'):
            self.assertTrue(r.run(bad)[0].startswith('BAD'), bad)
        m = self.imap()
        imaplib.Commands.setdefault('ID', ('NONAUTH', 'AUTH', 'SELECTED'))
        typ, data = m._simple_command('ID', 'NIL')
        self.assertEqual(typ, 'OK')
        self.assertIn(b'"name" "Posthorn"',
                      m._untagged_response(typ, data, 'ID')[1][0])

    def test_enable(self):
        r = Raw(self, None)
        before = r.ok('CAPABILITY')
        # authenticated state only (RFC 5161 3.1)
        self.assertTrue(r.run('ENABLE CONDSTORE')[0].startswith('BAD'))
        r.ok('LOGIN %s pw' % self.user())
        caps = r.ok('CAPABILITY')
        # nothing here needs enabling: an ENABLED response that lists
        # nothing, and OK (unknown names MUST be ignored)
        tagged, untagged = r.run('ENABLE CONDSTORE X-UNKNOWN-EXT')
        self.assertTrue(tagged.startswith('OK'), tagged)
        self.assertEqual(untagged, ['ENABLED'])
        # ENABLE MUST NOT change the capability list
        self.assertEqual(r.ok('CAPABILITY'), caps)
        self.assertIn('ENABLE', before[0].split())
        # no arguments / a non-atom: BAD
        self.assertTrue(r.run('ENABLE')[0].startswith('BAD'))
        self.assertTrue(r.run('ENABLE "CONDSTORE"')[0].startswith('BAD'))

    def test_noop_sync_point(self):
        """A second session sees EXISTS, RECENT, FETCH FLAGS and EXPUNGE
        made by another session or an MTA at its next NOOP."""
        msgs = self.build('AB')
        one, two = Raw(self, self.user()), Raw(self, self.user())
        self.select(one)
        info = self.select(two)
        self.assertEqual(info['EXISTS'], 2)
        seq = self.seqs(one, msgs)
        self.assertEqual(two.ok('NOOP'), [])  # nothing new
        # a flag change by the other session
        one.ok('STORE %d +FLAGS.SILENT (\\Flagged)' % seq['A'])
        untagged = two.ok('NOOP')
        self.assertEqual(len(untagged), 1, untagged)
        n, items = fetch_items(untagged[0])
        self.assertEqual(n, seq['A'])
        self.assertEqual(flags_of(items['FLAGS']), {'\\Flagged'})
        # a keyword (it renames no file in the Maildir: still seen)
        one.ok('STORE %d +FLAGS.SILENT ($Work)' % seq['B'])
        untagged = two.ok('NOOP')
        self.assertEqual(len(untagged), 1, untagged)
        self.assertEqual(fetch_items(untagged[0]),
                         (seq['B'], {'FLAGS': '($Work)'}))
        # a delivery
        self.build('C')
        self.assertEqual(two.ok('NOOP'), ['3 EXISTS', '1 RECENT'])
        # an expunge by the other session
        one.ok('NOOP')
        one.ok('STORE %d +FLAGS.SILENT (\\Deleted)' % seq['B'])
        one.ok('EXPUNGE')
        self.assertEqual(two.ok('NOOP'), ['%d EXPUNGE' % seq['B']])
        self.assertEqual(two.ok('NOOP'), [])
        self.assertEqual(len(two.ok('FETCH 1:* (UID)')), 2)
        # NOOP takes no arguments
        self.assertTrue(two.run('NOOP now')[0].startswith('BAD'))

    def test_check(self):
        self.build('A')
        r = Raw(self, self.user())
        # selected state only
        self.assertTrue(r.run('CHECK')[0].startswith('BAD'))
        self.select(r)
        self.assertEqual(r.ok('CHECK'), [])
        # a delivery may show up at CHECK (it is a NOOP here)
        self.build('B')
        # (both messages are \Recent in this, the only session)
        self.assertIn(r.ok('CHECK'), ([], ['2 EXISTS', '2 RECENT']))
        self.assertEqual(self.status(r, 'INBOX')['MESSAGES'], 2)
        # RFC 3501 6.4.1: "Arguments: none"
        self.assertTrue(r.run('CHECK INBOX')[0].startswith('BAD'))

    def test_no_expunge_during_fetch_store_search(self):
        """RFC 3501 7.4.1: no EXPUNGE while answering FETCH, STORE or
        SEARCH; the next NOOP brings it."""
        msgs = self.build('ABC')
        one, two = Raw(self, self.user()), Raw(self, self.user())
        self.select(one)
        self.select(two)
        seq = self.seqs(one, msgs)
        one.ok('STORE %d +FLAGS.SILENT (\\Deleted)' % seq['A'])
        one.ok('EXPUNGE')
        # the expunged message is still numbered in session two
        for cmd in ('FETCH 1:3 (FLAGS)', 'STORE 1:3 +FLAGS (\\Answered)',
                    'SEARCH ALL', 'FETCH 1:3 (UID)'):
            tagged, untagged = two.run(cmd)
            self.assertFalse(tagged.startswith('BAD'), (cmd, tagged))
            self.assertFalse([u for u in untagged if 'EXPUNGE' in u],
                             (cmd, untagged))
        tagged, untagged = two.run('SEARCH ALL')
        self.assertTrue(untagged[0].startswith('SEARCH'), untagged)
        self.assertEqual(two.ok('NOOP'), ['%d EXPUNGE' % seq['A']])
        self.assertEqual(two.ok('SEARCH ALL'), ['SEARCH 1 2'])

    # ---- STATUS ----

    def test_status_items(self):
        msgs = self.build('ABC')
        r = Raw(self, self.user())
        st = self.status(r, 'INBOX')
        # nobody selected INBOX yet: all three are \Recent and unseen
        self.assertEqual(st['MESSAGES'], 3)
        self.assertEqual(st['RECENT'], 3)
        self.assertEqual(st['UNSEEN'], 3)
        # STATUS MUST NOT make messages lose \Recent
        self.assertEqual(self.status(r, 'INBOX'), st)
        # only the items asked, in the order RFC 3501 lists them or asked
        untagged = r.ok('STATUS INBOX (UNSEEN MESSAGES)')
        self.assertIn(untagged, (['STATUS "INBOX" (MESSAGES 3 UNSEEN 3)'],
                                 ['STATUS "INBOX" (UNSEEN 3 MESSAGES 3)'],
                                 ['STATUS INBOX (MESSAGES 3 UNSEEN 3)'],
                                 ['STATUS INBOX (UNSEEN 3 MESSAGES 3)']))
        info = self.select(r)
        self.assertEqual(info['RECENT'], 3)
        self.assertEqual(info['UIDVALIDITY'], st['UIDVALIDITY'])
        self.assertEqual(info['UIDNEXT'], st['UIDNEXT'])
        uids = self.uid_map(r)
        self.assertGreater(st['UIDNEXT'], max(uids.values()))
        seq = self.seqs(r, msgs)
        r.ok('STORE %d +FLAGS.SILENT (\\Seen)' % seq['A'])
        r.ok('UNSELECT')
        st2 = self.status(r, 'INBOX')
        self.assertEqual(st2['UNSEEN'], 2)
        # the selecting session took \Recent away
        self.assertEqual(st2['RECENT'], 0)
        self.assertEqual(st2['UIDVALIDITY'], st['UIDVALIDITY'])
        # a new delivery: RECENT 1, UIDNEXT grows
        self.build('D')
        st3 = self.status(r, 'INBOX')
        self.assertEqual((st3['MESSAGES'], st3['RECENT'], st3['UNSEEN']),
                         (4, 1, 3))
        self.assertGreater(st3['UIDNEXT'], st['UIDNEXT'])
        # RFC 5530 NONEXISTENT; unknown item BAD
        tagged, _ = r.run('STATUS Nowhere (MESSAGES)')
        self.assertTrue(tagged.startswith('NO [NONEXISTENT]'), tagged)
        self.assertTrue(r.run('STATUS INBOX (BOGUS)')[0].startswith('BAD'))
        self.assertTrue(r.run('STATUS INBOX ()')[0].startswith('BAD'))

    def test_extra_arguments_bad(self):
        """Arguments the RFC 3501 grammar does not have are BAD, and the
        command does nothing."""
        r = Raw(self, self.user())
        r.ok('CREATE keep')
        r.ok('CREATE other')
        for cmd in ('CREATE made extra', 'DELETE keep extra',
                    'RENAME keep moved extra', 'SUBSCRIBE keep extra',
                    'UNSUBSCRIBE keep extra', 'LOGOUT now',
                    'CAPABILITY x', 'NOOP x'):
            tagged, untagged = r.run(cmd)
            self.assertTrue(tagged.startswith('BAD'), (cmd, tagged))
            self.assertEqual(untagged, [], cmd)
        names = sorted(r.ok('LIST "" *'))
        self.assertTrue(any(n.endswith('"keep"') for n in names), names)
        self.assertFalse(any('"made"' in n or '"moved"' in n
                             for n in names), names)
        self.assertEqual(r.ok('LSUB "" *'), [])
        # still connected after "LOGOUT now"
        self.assertEqual(r.ok('NOOP'), [])

    def test_append_to_selected_mailbox(self):
        """RFC 3501 6.3.11: APPEND to the selected mailbox SHOULD bring
        an EXISTS; RFC 4315: APPENDUID with UIDVALIDITY and the UID."""
        self.build('A')
        raw = corpus('B')
        r = Raw(self, self.user())
        info = self.select(r)
        self.assertEqual(info['EXISTS'], 1)
        r.c.send('a1 APPEND INBOX (\\Flagged $Todo) "05-Jan-2004 10:00:00 '
                 '+0100" {%d}\r\n' % len(raw))
        self.assertTrue(r.c.line().startswith('+'))
        r.c.send(raw + b'\r\n')
        self.assertEqual(r.c.line(), '* 2 EXISTS')
        line = r.c.line()
        while not line.startswith('a1 '):
            self.assertRegex(line, r'^\* (\d+ RECENT|FLAGS|OK \[PERMANENT)')
            line = r.c.line()
        self.assertEqual(line.split(']')[0], 'a1 OK [APPENDUID %d %d' %
                         (info['UIDVALIDITY'], info['UIDNEXT']))
        n, items = fetch_items(r.ok('FETCH 2 (UID FLAGS INTERNALDATE '
                                    'RFC822.SIZE)')[0])
        self.assertEqual(int(items['UID']), info['UIDNEXT'])
        self.assertTrue({'\\Flagged', '$Todo'} <= flags_of(items['FLAGS']))
        self.assertEqual(items['INTERNALDATE'],
                         '"05-Jan-2004 10:00:00 +0100"'
                         if items['INTERNALDATE'].endswith('+0100"')
                         else '"05-Jan-2004 09:00:00 +0000"')
        self.assertEqual(int(items['RFC822.SIZE']), len(wire(raw)))

    def test_examine_keeps_recent(self):
        """RFC 3501 6.3.2: EXAMINE MUST NOT cause messages to lose
        \\Recent; SELECT takes it (6.3.1, 2.3.2)."""
        self.build('AB')
        r = Raw(self, self.user())
        info = self.select(r, examine=True)
        self.assertEqual((info['EXISTS'], info['RECENT']), (2, 2))
        self.assertEqual(self.search(r, 'RECENT'), [1, 2])
        r.ok('UNSELECT')
        self.assertEqual(self.status(r, 'INBOX')['RECENT'], 2)
        info = self.select(r)
        self.assertEqual(info['RECENT'], 2)
        r.ok('UNSELECT')
        self.assertEqual(self.status(r, 'INBOX')['RECENT'], 0)
        self.assertEqual(self.select(r, examine=True)['RECENT'], 0)

    # ---- mailboxes ----

    def test_rename_inbox(self):
        msgs = self.build('ABC')
        r = Raw(self, self.user())
        self.select(r)
        seq = self.seqs(r, msgs)
        r.ok('STORE %d +FLAGS.SILENT (\\Seen \\Answered)' % seq['A'])
        old_uids = set(self.uid_map(r).values())
        r.ok('UNSELECT')
        before = self.status(r, 'INBOX')
        r.ok('CREATE INBOX/Kept')
        # RFC 3501 6.3.5: the messages move to the new mailbox, INBOX
        # stays (empty), inferiors of INBOX are unaffected
        self.assertTrue(r.run('RENAME INBOX "Old Mail"')[0].startswith('OK'))
        names = r.ok('LIST "" *')
        self.assertTrue(any(n.endswith(' "INBOX"') or n.endswith(' INBOX')
                            for n in names), names)
        self.assertTrue(any('INBOX/Kept' in n for n in names), names)
        self.assertTrue(any('"Old Mail"' in n for n in names), names)
        st = self.status(r, 'INBOX')
        self.assertEqual(st['MESSAGES'], 0)
        self.assertEqual(self.status(r, '"Old Mail"')['MESSAGES'], 3)
        self.assertEqual(self.status(r, '"Old Mail"')['UNSEEN'], 2)
        self.select(r, '"Old Mail"')
        got = {}
        for line in r.ok('FETCH 1:* (FLAGS BODY.PEEK[])'):
            head, body = line.split('\r\n', 1)
            got[body[:-1].encode('latin-1')] = flags_of(
                re.search(r'FLAGS (\([^)]*\))', head).group(1))
        self.assertEqual(set(got), set(msgs.values()))
        self.assertTrue({'\\Seen', '\\Answered'} <= got[msgs['A']])
        # INBOX is still selectable, and its UIDs are not reused
        self.build('D')
        self.select(r)
        uids = self.uid_map(r)
        self.assertEqual(len(uids), 1)
        if self.status(r, 'INBOX')['UIDVALIDITY'] == before['UIDVALIDITY']:
            self.assertGreater(min(uids.values()), max(old_uids))
        # renaming INBOX to an existing name: NO [ALREADYEXISTS]
        tagged, _ = r.run('RENAME INBOX "Old Mail"')
        self.assertTrue(tagged.startswith('NO [ALREADYEXISTS]'), tagged)

    def test_recreated_mailbox_uids(self):
        """RFC 3501 6.3.4/6.3.5: a mailbox created again under a deleted
        or renamed name does not reuse UIDs, unless UIDVALIDITY differs."""
        r = Raw(self, self.user())
        for how in ('DELETE X', 'RENAME X Y%d'):
            r.ok('CREATE X')
            for _ in range(3):
                r.ok('APPEND X {10+}\r\nSubject:\r\n')
            old = self.status(r, 'X')
            r.ok(how.replace('%d', str(old['UIDNEXT'])))
            r.ok('CREATE X')
            r.ok('APPEND X {10+}\r\nSubject:\r\n')
            new = self.status(r, 'X')
            self.assertTrue(new['UIDVALIDITY'] != old['UIDVALIDITY'] or
                            new['UIDNEXT'] > old['UIDNEXT'], (how, old, new))
            r.ok('DELETE X')

    def test_rename_errors(self):
        r = Raw(self, self.user())
        r.ok('CREATE a')
        r.ok('CREATE b')
        tagged, _ = r.run('RENAME a b')
        self.assertTrue(tagged.startswith('NO [ALREADYEXISTS]'), tagged)
        tagged, _ = r.run('RENAME nothere c')
        self.assertTrue(tagged.startswith('NO [NONEXISTENT]'), tagged)
        self.assertTrue(r.run('RENAME a')[0].startswith('BAD'))
        # into itself: an invariant (RFC 5530 CANNOT)
        tagged, _ = r.run('RENAME a a/inner')
        self.assertTrue(tagged.startswith('NO [CANNOT]'), tagged)

    def test_rename_with_children(self):
        self.build('A', folder='p/q')
        r = Raw(self, self.user())
        r.ok('CREATE p')
        # RFC 3501 6.3.5: inferior names are renamed too
        self.assertTrue(r.run('RENAME p z/y')[0].startswith('OK'))
        names = sorted(re.sub(r'^LIST \([^)]*\) "/" ', '', n)
                       for n in r.ok('LIST "" *'))
        self.assertIn('"z/y/q"', names)
        self.assertIn('"z/y"', names)
        self.assertFalse([n for n in names if n.startswith('"p')], names)
        self.assertEqual(self.status(r, 'z/y/q')['MESSAGES'], 1)
        tagged, _ = r.run('STATUS p/q (MESSAGES)')
        self.assertTrue(tagged.startswith('NO [NONEXISTENT]'), tagged)

    def test_rename_noselect_parent(self):
        """RFC 3501 6.3.5 example A684: RENAME of a \\Noselect name moves
        its inferiors; the new name is \\Noselect too."""
        self.build('A', folder='foo/bar')
        r = Raw(self, self.user())
        self.assertEqual(sorted(r.ok('LIST "" foo*')),
                         ['LIST (\\HasNoChildren) "/" "foo/bar"',
                          'LIST (\\Noselect \\HasChildren) "/" "foo"'])
        tagged, _ = r.run('RENAME foo zowie')
        self.assertTrue(tagged.startswith('OK'), tagged)
        self.assertEqual(sorted(r.ok('LIST "" zowie*')),
                         ['LIST (\\HasNoChildren) "/" "zowie/bar"',
                          'LIST (\\Noselect \\HasChildren) "/" "zowie"'])
        self.assertEqual(r.ok('LIST "" foo*'), [])
        self.assertEqual(self.status(r, 'zowie/bar')['MESSAGES'], 1)
        # a name that is neither a mailbox nor a parent: NONEXISTENT
        tagged, _ = r.run('RENAME foo zap')
        self.assertTrue(tagged.startswith('NO [NONEXISTENT]'), tagged)

    def test_close_expunges_silently(self):
        msgs = self.build('ABC')
        r = Raw(self, self.user())
        self.select(r)
        seq = self.seqs(r, msgs)
        r.ok('STORE %d,%d +FLAGS.SILENT (\\Deleted)' % (seq['A'], seq['C']))
        # RFC 3501 6.4.2: removed, and no untagged EXPUNGE
        self.assertEqual(r.ok('CLOSE'), [])
        # back in the authenticated state
        self.assertTrue(r.run('FETCH 1 (FLAGS)')[0].startswith('BAD'))
        self.assertTrue(r.run('CLOSE')[0].startswith('BAD'))
        self.assertEqual(self.status(r, 'INBOX')['MESSAGES'], 1)
        # read-only (EXAMINE): nothing removed, no error
        self.select(r)
        r.ok('STORE 1 +FLAGS.SILENT (\\Deleted)')
        self.select(r, examine=True)
        self.assertEqual(r.ok('CLOSE'), [])
        self.assertEqual(self.status(r, 'INBOX')['MESSAGES'], 1)
        # CLOSE takes no arguments
        self.select(r)
        self.assertTrue(r.run('CLOSE INBOX')[0].startswith('BAD'))

    def test_unselect(self):
        self.build('AB')
        r = Raw(self, self.user())
        # not selected: BAD (RFC 3691)
        self.assertTrue(r.run('UNSELECT')[0].startswith('BAD'))
        self.select(r)
        r.ok('STORE 1:2 +FLAGS.SILENT (\\Deleted)')
        # argument supplied: BAD (RFC 3691)
        self.assertTrue(r.run('UNSELECT INBOX')[0].startswith('BAD'))
        self.assertEqual(r.ok('UNSELECT'), [])
        self.assertTrue(r.run('FETCH 1 (FLAGS)')[0].startswith('BAD'))
        # unlike CLOSE, nothing was removed
        self.assertEqual(self.status(r, 'INBOX')['MESSAGES'], 2)
        self.select(r)
        flags = [flags_of(fetch_items(x)[1]['FLAGS'])
                 for x in r.ok('FETCH 1:* (FLAGS)')]
        self.assertTrue(all('\\Deleted' in f for f in flags), flags)

    def test_subscribe_unsubscribe(self):
        m = self.imap()
        self.assertEqual(m.create('Lists')[0], 'OK')
        self.assertEqual(m.lsub('""', '*'), ('OK', [None]))
        self.assertEqual(m.subscribe('Lists')[0], 'OK')
        typ, data = m.lsub('""', '*')
        self.assertEqual(data, [b'() "/" "Lists"'])
        # subscribing twice is fine, listed once
        self.assertEqual(m.subscribe('Lists')[0], 'OK')
        self.assertEqual(m.lsub('""', '*')[1], [b'() "/" "Lists"'])
        # the mailbox goes; the subscription MUST stay (RFC 3501 6.3.6)
        self.assertEqual(m.delete('Lists')[0], 'OK')
        typ, data = m.lsub('""', '*')
        self.assertEqual(len(data), 1)
        self.assertTrue(data[0].endswith(b'"Lists"'), data)
        self.assertEqual(m.unsubscribe('Lists')[0], 'OK')
        self.assertEqual(m.lsub('""', '*'), ('OK', [None]))
        # LIST (SUBSCRIBED) agrees
        m.create('Other')
        m.subscribe('Other')
        typ, data = m._simple_command('LIST', '(SUBSCRIBED)', '""', '*')
        self.assertEqual(m._untagged_response(typ, data, 'LIST')[1],
                         [b'(\\HasNoChildren \\Subscribed) "/" "Other"'])

    def test_lsub_percent_noselect_parent(self):
        r = Raw(self, self.user())
        r.ok('CREATE foo/bar')
        r.ok('CREATE top')
        r.ok('SUBSCRIBE foo/bar')
        r.ok('SUBSCRIBE top')
        # RFC 3501 6.3.9: "%" returns foo (not subscribed) flagged
        # \Noselect, because foo/bar is subscribed
        self.assertEqual(sorted(r.ok('LSUB "" %')),
                         ['LSUB () "/" "top"',
                          'LSUB (\\Noselect) "/" "foo"'])
        self.assertEqual(sorted(r.ok('LSUB "" *')),
                         ['LSUB () "/" "foo/bar"', 'LSUB () "/" "top"'])
        self.assertEqual(r.ok('LSUB "" foo/%'), ['LSUB () "/" "foo/bar"'])
        # foo made a real mailbox, still not subscribed: \Noselect in LSUB
        r.ok('CREATE foo')
        self.assertEqual(sorted(r.ok('LSUB "" %')),
                         ['LSUB () "/" "top"',
                          'LSUB (\\Noselect) "/" "foo"'])
        # once foo is subscribed it is listed as it is
        r.ok('SUBSCRIBE foo')
        self.assertEqual(sorted(r.ok('LSUB "" %')),
                         ['LSUB () "/" "foo"', 'LSUB () "/" "top"'])

    def test_delete_with_children(self):
        self.build('A', folder='par')
        r = Raw(self, self.user())
        r.ok('CREATE par/child')
        self.build('B', folder='par/child')
        self.assertEqual(self.status(r, 'par')['MESSAGES'], 1)
        # RFC 3501 6.3.4: allowed; the messages go, the name stays with
        # \Noselect, the inferior is not touched
        self.assertTrue(r.run('DELETE par')[0].startswith('OK'))
        lines = r.ok('LIST "" par*')
        attrs = {}
        for line in lines:
            m = re.match(r'LIST \(([^)]*)\) "/" "?([^"]*)"?$', line)
            attrs[m.group(2)] = m.group(1).split()
        self.assertIn('\\Noselect', attrs['par'])
        self.assertNotIn('\\Noselect', attrs['par/child'])
        self.assertEqual(self.status(r, 'par/child')['MESSAGES'], 1)
        tagged, _ = r.run('SELECT par')
        self.assertTrue(tagged.startswith('NO'), tagged)
        # a \Noselect name with inferiors cannot be deleted
        self.assertTrue(r.run('DELETE par')[0].startswith('NO'))
        self.assertTrue(r.run('DELETE par/child')[0].startswith('OK'))

    def test_delete_inbox_and_missing(self):
        r = Raw(self, self.user())
        # RFC 3501 6.3.4: an error; RFC 5530: CANNOT (an invariant)
        for name in ('INBOX', 'inbox'):
            tagged, _ = r.run('DELETE %s' % name)
            self.assertTrue(tagged.startswith('NO [CANNOT]'), tagged)
        self.assertEqual(self.status(r, 'INBOX')['MESSAGES'], 0)
        tagged, _ = r.run('DELETE nothere')
        self.assertTrue(tagged.startswith('NO [NONEXISTENT]'), tagged)
        self.assertTrue(r.run('DELETE')[0].startswith('BAD'))

    def test_create_existing(self):
        r = Raw(self, self.user())
        self.assertTrue(r.run('CREATE box')[0].startswith('OK'))
        # RFC 3501 6.3.3 + RFC 5530
        for name in ('box', 'INBOX', 'InBoX'):
            tagged, _ = r.run('CREATE %s' % name)
            self.assertTrue(tagged.startswith('NO [ALREADYEXISTS]'),
                            (name, tagged))
        # a trailing separator: the name is created without it
        self.assertTrue(r.run('CREATE parent/')[0].startswith('OK'))
        self.assertEqual(r.ok('LIST "" parent*'),
                         ['LIST (\\HasNoChildren) "/" "parent"'])
        tagged, _ = r.run('CREATE parent')
        self.assertTrue(tagged.startswith('NO [ALREADYEXISTS]'), tagged)

    # ---- STORE ----

    def test_store_silent_and_replace(self):
        msgs = self.build('AB')
        r = Raw(self, self.user())
        self.select(r)
        seq = self.seqs(r, msgs)
        a, b = seq['A'], seq['B']
        # .SILENT: no untagged FETCH, plain or UID form
        self.assertEqual(r.ok('STORE %d +FLAGS.SILENT (\\Seen $Work)' % a),
                         [])
        uid_a = self.uid_map(r)[a]
        self.assertEqual(r.ok('UID STORE %d +FLAGS.SILENT (\\Draft)' % uid_a),
                         [])
        self.assertEqual(r.ok('STORE %d -FLAGS.SILENT (\\Draft)' % a), [])
        self.assertEqual(r.ok('STORE %d FLAGS.SILENT (\\Seen $Work)' % a),
                         [])
        n, items = fetch_items(r.ok('FETCH %d (FLAGS)' % a)[0])
        self.assertEqual(flags_of(items['FLAGS']),
                         {'\\Seen', '$Work', '\\Recent'})
        # FLAGS replaces every flag but \Recent and answers the new value
        untagged = r.ok('STORE %d FLAGS (\\Flagged)' % a)
        self.assertEqual(len(untagged), 1)
        n, items = fetch_items(untagged[0])
        self.assertEqual(n, a)
        self.assertEqual(flags_of(items['FLAGS']), {'\\Flagged', '\\Recent'})
        # -FLAGS removes only what it names
        r.ok('STORE %d +FLAGS (\\Answered \\Seen)' % b)
        untagged = r.ok('STORE %d -FLAGS (\\Seen \\Draft)' % b)
        n, items = fetch_items(untagged[0])
        self.assertEqual((n, flags_of(items['FLAGS'])),
                         (b, {'\\Answered', '\\Recent'}))
        # an empty list with FLAGS clears all
        untagged = r.ok('STORE %d FLAGS ()' % b)
        self.assertEqual(flags_of(fetch_items(untagged[0])[1]['FLAGS']),
                         {'\\Recent'})
        # UID STORE answers with the UID (RFC 3501 6.4.8)
        untagged = r.ok('UID STORE %d +FLAGS (\\Seen)' % uid_a)
        n, items = fetch_items(untagged[0])
        self.assertEqual((n, items['UID']), (a, str(uid_a)))
        # \Recent cannot be stored; an unknown item is BAD
        self.assertTrue(r.run('STORE 1 +FLAGS (\\Recent)')[0]
                        .startswith('BAD'))
        self.assertTrue(r.run('STORE 1 FLAGS.LOUD (\\Seen)')[0]
                        .startswith('BAD'))

    def test_store_on_expunged_messages(self):
        """RFC 2180 4.2: STORE on messages another session expunged."""
        msgs = self.build('ABC')
        one, two = Raw(self, self.user()), Raw(self, self.user())
        self.select(one)
        self.select(two)
        seq = self.seqs(one, msgs)
        a = seq['A']
        one.ok('STORE %d +FLAGS.SILENT (\\Deleted)' % a)
        one.ok('EXPUNGE')
        two.ok('FETCH 1:3 (UID)')  # the view learns, no EXPUNGE yet
        # 4.2.2: only expunged messages, not .SILENT: a tagged NO only
        tagged, untagged = two.run('STORE %d +FLAGS (\\Seen)' % a)
        self.assertTrue(tagged.startswith('NO [EXPUNGEISSUED]'), tagged)
        self.assertEqual(untagged, [])
        # 4.2.3: a mixture: FETCH for the others, tagged NO
        tagged, untagged = two.run('STORE 1:3 +FLAGS (\\Answered)')
        self.assertTrue(tagged.startswith('NO [EXPUNGEISSUED]'), tagged)
        self.assertEqual(sorted(fetch_items(u)[0] for u in untagged),
                         sorted(n for n in (1, 2, 3) if n != a))
        for u in untagged:
            self.assertIn('\\Answered', fetch_items(u)[1]['FLAGS'])
        # 4.2.1: .SILENT and the others stored: OK
        tagged, untagged = two.run('STORE 1:3 +FLAGS.SILENT (\\Flagged)')
        self.assertTrue(tagged.startswith('OK'), tagged)
        self.assertEqual(untagged, [])
        self.assertEqual(two.ok('NOOP'), ['%d EXPUNGE' % a])
        for line in two.ok('FETCH 1:2 (FLAGS)'):
            self.assertTrue({'\\Answered', '\\Flagged'} <=
                            flags_of(fetch_items(line)[1]['FLAGS']), line)

    def test_store_keyword_limit(self):
        """RFC 5530 LIMIT: 64 keywords per mailbox. A refused STORE must
        not use up keyword slots."""
        self.build('AB')
        r = Raw(self, self.user())
        self.select(r)
        # a BAD list defines none of its keywords either
        tagged, _ = r.run('STORE 1 +FLAGS (zz \\Bogus)')
        self.assertTrue(tagged.startswith('BAD'), tagged)
        tagged, untagged = r.run('STORE 1 +FLAGS (%s)' %
                                 ' '.join('k%d' % i for i in range(70)))
        self.assertTrue(tagged.startswith('NO [LIMIT]'), tagged)
        self.assertEqual(untagged, [])
        self.assertEqual(flags_of(fetch_items(r.ok('FETCH 1 (FLAGS)')[0])[1]
                                  ['FLAGS']), {'\\Recent'})
        # nothing was defined: 60 fit, then 4 more, then no more
        words = ['k%d' % i for i in range(60)]
        r.ok('STORE 1 +FLAGS (%s)' % ' '.join(words))
        # the same names again (any case) take no new slot
        r.ok('STORE 2 +FLAGS (%s K0 k0)' % ' '.join(words).upper())
        r.ok('STORE 2 +FLAGS (j1 j2 j3 j4)')
        tagged, _ = r.run('STORE 2 +FLAGS (j5)')
        self.assertTrue(tagged.startswith('NO [LIMIT]'), tagged)
        untagged = r.ok('SELECT INBOX')
        flags = [u for u in untagged if u.startswith('FLAGS')][0]
        self.assertEqual(len(flags_of(flags[len('FLAGS '):])), 5 + 64)
        self.assertNotIn('\\*', [u for u in untagged
                                  if 'PERMANENTFLAGS' in u][0])

    # ---- FETCH ----

    def test_fetch_macros(self):
        msgs = self.build('A')
        r = Raw(self, self.user())
        self.select(r)
        expect = {
            'FAST': {'FLAGS', 'INTERNALDATE', 'RFC822.SIZE'},
            'ALL': {'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'},
            'FULL': {'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE',
                     'BODY'},
        }
        for macro, names in expect.items():
            untagged = r.ok('FETCH 1 %s' % macro)
            self.assertEqual(len(untagged), 1)
            found = set(re.findall(r'(?:^1 FETCH \(| )(FLAGS|INTERNALDATE|'
                                   r'RFC822\.SIZE|ENVELOPE|BODY|'
                                   r'BODYSTRUCTURE|UID) ', untagged[0]))
            self.assertEqual(found, names, (macro, untagged))
            self.assertIn('RFC822.SIZE %d' % len(msgs['A']), untagged[0])
        # a macro is used by itself (RFC 3501 6.4.5 and the ABNF)
        for bad in ('(ALL)', '(FAST UID)', '(FLAGS FULL)'):
            self.assertTrue(r.run('FETCH 1 %s' % bad)[0].startswith('BAD'),
                            bad)
        # none of them sets \Seen
        self.assertEqual(self.status(r, 'INBOX')['UNSEEN'], 1)

    def test_fetch_rfc822_items_and_seen(self):
        msgs = self.build('A')
        header, text = split_message(msgs['A'])
        r = Raw(self, self.user())
        self.select(r)

        def seen():
            line = r.ok('FETCH 1 (FLAGS)')[0]
            return '\\Seen' in flags_of(fetch_items(line)[1]['FLAGS'])

        def literal(untagged, name):
            self.assertEqual(len(untagged), 1, untagged)
            m = re.match(r'1 FETCH \((.*)' + re.escape(name) +
                         r' \{(\d+)\}\r\n', untagged[0], re.S)
            self.assertTrue(m, untagged[0][:200])
            start = m.end()
            return untagged[0][start:start + int(m.group(2))] \
                .encode('latin-1'), m.group(1) + \
                untagged[0][start + int(m.group(2)):]

        # RFC822.HEADER == BODY.PEEK[HEADER]: no \Seen
        data, rest = literal(r.ok('FETCH 1 RFC822.HEADER'), 'RFC822.HEADER')
        self.assertEqual(data, header)
        self.assertFalse(seen())
        data, _ = literal(r.ok('FETCH 1 BODY.PEEK[]'), 'BODY[]')
        self.assertEqual(data, msgs['A'])
        data, _ = literal(r.ok('FETCH 1 BODY.PEEK[TEXT]'), 'BODY[TEXT]')
        self.assertEqual(data, text)
        self.assertFalse(seen())
        # RFC822.TEXT == BODY[TEXT]: sets \Seen, reported in the answer
        data, rest = literal(r.ok('FETCH 1 RFC822.TEXT'), 'RFC822.TEXT')
        self.assertEqual(data, text)
        self.assertIn('FLAGS (', rest)
        self.assertIn('\\Seen', rest)
        self.assertTrue(seen())
        # RFC822 == BODY[]: sets \Seen
        r.ok('STORE 1 -FLAGS.SILENT (\\Seen)')
        data, rest = literal(r.ok('FETCH 1 RFC822'), 'RFC822')
        self.assertEqual(data, msgs['A'])
        self.assertTrue(seen())
        r.ok('STORE 1 -FLAGS.SILENT (\\Seen)')
        data, _ = literal(r.ok('FETCH 1 BODY[HEADER]'), 'BODY[HEADER]')
        self.assertEqual(data, header)
        self.assertTrue(seen())
        # EXAMINE: nothing is set
        r.ok('STORE 1 -FLAGS.SILENT (\\Seen)')
        self.select(r, examine=True)
        literal(r.ok('FETCH 1 RFC822'), 'RFC822')
        literal(r.ok('FETCH 1 RFC822.TEXT'), 'RFC822.TEXT')
        self.assertFalse(seen())
        # imaplib's own view of it
        m = self.imap()
        m.select('INBOX', readonly=True)
        typ, data = m.fetch('1', '(RFC822.SIZE RFC822.HEADER)')
        self.assertEqual(data[0][1], header)
        self.assertIn(b'RFC822.SIZE %d' % len(msgs['A']), data[0][0])

    def test_fetch_body_nonextensible(self):
        msgs = self.build('AB')
        r = Raw(self, self.user())
        self.select(r, examine=True)
        seq = self.seqs(r, msgs)
        _, text_a = split_message(msgs['A'])
        # RFC 3501 7.4.2: BODY is BODYSTRUCTURE without extension data
        line = r.ok('FETCH %d (BODY)' % seq['A'])[0]
        self.assertEqual(line, '%d FETCH (BODY ("text" "plain" ("charset" '
                         '"us-ascii") NIL NIL "7bit" %d %d))' %
                         (seq['A'], len(text_a), text_a.count(b'\r\n')))
        line = r.ok('FETCH %d (BODY)' % seq['B'])[0]
        # each part: two lines of 23 octets, CRLF each; the blank line
        # before the boundary belongs to the boundary (RFC 2046 5.1.1)
        part = ('("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" '
                '50 2)')
        self.assertEqual(line, '%d FETCH (BODY (%s%s "mixed"))' %
                         (seq['B'], part, part))
        # BODYSTRUCTURE carries the extension data BODY does not
        line = r.ok('FETCH %d (BODYSTRUCTURE)' % seq['B'])[0]
        self.assertIn('"mixed" ("boundary" "h90VIIIKmx")', line)
        self.assertIn('("inline" ("filename" "msg.txt"))', line)

    def test_fetch_header_fields_not(self):
        msgs = self.build('A')
        header, _ = split_message(msgs['A'])
        r = Raw(self, self.user())
        self.select(r, examine=True)
        drop = {b'received', b'cc', b'message-id'}
        want = b''.join(f for n, f in header_fields(header)
                        if n not in drop) + b'\r\n'
        line = r.ok('FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (Received cC '
                    'MESSAGE-ID)])')[0]
        m = re.match(r'1 FETCH \(BODY\[HEADER\.FIELDS\.NOT \(([^)]*)\)\] '
                     r'\{(\d+)\}\r\n', line)
        self.assertTrue(m, line[:120])
        data = line[m.end():m.end() + int(m.group(2))].encode('latin-1')
        self.assertEqual(data, want)
        # the folded Received field went whole, the other fields stayed
        self.assertNotIn(b'Postfix', data)
        self.assertNotIn(b'\tid 27CEAD38CC', data)
        self.assertIn(b'Subject: This is a test message\r\n', data)
        # partial: computed after subsetting
        line = r.ok('FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (Received cC '
                    'MESSAGE-ID)]<4.30>)')[0]
        m = re.search(r'\]<4> \{(\d+)\}\r\n', line)
        self.assertTrue(m, line[:120])
        self.assertEqual(line[m.end():m.end() + 30].encode('latin-1'),
                         want[4:34])

    def test_fetch_mime_section(self):
        self.build('B')
        r = Raw(self, self.user())
        self.select(r, examine=True)
        want = (b'Content-Type: text/plain\r\nContent-Disposition: inline;\r\n'
                b'\tfilename="msg.txt"\r\nContent-Transfer-Encoding: 7bit\r\n'
                b'\r\n')
        for n in (1, 2):
            line = r.ok('FETCH 1 (BODY.PEEK[%d.MIME])' % n)[0]
            self.assertEqual(line, '1 FETCH (BODY[%d.MIME] {%d}\r\n%s)' %
                             (n, len(want), want.decode()))
        line = r.ok('FETCH 1 (BODY.PEEK[1])')[0]
        self.assertEqual(line, '1 FETCH (BODY[1] {50}\r\na simple kind of '
                         'mirror\r\nto reflect upon our own\r\n)')
        # MIME needs a part number (RFC 3501 6.4.5)
        self.assertTrue(r.run('FETCH 1 (BODY.PEEK[MIME])')[0]
                        .startswith('BAD'))

    def test_fetch_text_partial(self):
        msgs = self.build('C')
        _, text = split_message(msgs['C'])
        r = Raw(self, self.user())
        self.select(r)
        line = r.ok('FETCH 1 (BODY.PEEK[TEXT]<2.10>)')[0]
        self.assertEqual(line, '1 FETCH (BODY[TEXT]<2> {10}\r\n%s)' %
                         text[2:12].decode())
        # past the end: truncated; from 0 still answered as partial
        line = r.ok('FETCH 1 (BODY.PEEK[TEXT]<0.100000>)')[0]
        self.assertEqual(line, '1 FETCH (BODY[TEXT]<0> {%d}\r\n%s)' %
                         (len(text), text.decode()))
        line = r.ok('FETCH 1 (BODY.PEEK[TEXT]<%d.10>)' % (len(text) - 3))[0]
        self.assertEqual(line, '1 FETCH (BODY[TEXT]<%d> {3}\r\n%s)' %
                         (len(text) - 3, text[-3:].decode()))
        # starting beyond the end: an empty string
        line = r.ok('FETCH 1 (BODY.PEEK[TEXT]<100000.10>)')[0]
        self.assertIn(line, ('1 FETCH (BODY[TEXT]<100000> "")',
                             '1 FETCH (BODY[TEXT]<100000> {0}\r\n)'))
        self.assertEqual(self.status(r, 'INBOX')['UNSEEN'], 1)
        # without PEEK the partial fetch sets \Seen and says so
        line = r.ok('FETCH 1 (BODY[TEXT]<0.5>)')[0]
        self.assertTrue(line.startswith('1 FETCH (BODY[TEXT]<0> {5}\r\n%s' %
                                        text[:5].decode()), line)
        self.assertIn('\\Seen', line)
        self.assertEqual(self.status(r, 'INBOX')['UNSEEN'], 0)

    # ---- SEARCH ----

    def corpus_box(self):
        msgs = self.build('ABCD')
        r = Raw(self, self.user())
        self.select(r)
        seq = self.seqs(r, msgs)
        return r, seq

    def search(self, r, criteria, uid=False):
        untagged = r.ok('%sSEARCH %s' % ('UID ' if uid else '', criteria))
        self.assertEqual(len(untagged), 1, untagged)
        self.assertTrue(untagged[0].startswith('SEARCH'), untagged)
        return sorted(int(x) for x in untagged[0].split()[1:])

    def test_search_charset(self):
        r, seq = self.corpus_box()
        self.assertEqual(self.search(r, 'CHARSET UTF-8 SUBJECT "test '
                                     'message"'), [seq['A']])
        self.assertEqual(self.search(r, 'CHARSET us-ascii FROM barry'),
                         [seq['B']])
        # an unknown charset: NO (not BAD) [BADCHARSET] (RFC 3501 6.4.4)
        tagged, untagged = r.run('SEARCH CHARSET X-NO-SUCH-CHARSET '
                                 'SUBJECT test')
        self.assertTrue(tagged.startswith('NO [BADCHARSET'), tagged)
        self.assertEqual(untagged, [])
        m = re.match(r'NO \[BADCHARSET \(([^)]*)\)\]', tagged)
        if m:
            self.assertIn('UTF-8', m.group(1).upper().split())
        # UTF-8 in a literal
        key = 'Testing 123'.encode()
        r.c.send('u1 SEARCH CHARSET UTF-8 SUBJECT {%d}\r\n' % len(key))
        self.assertTrue(r.c.line().startswith('+'))
        r.c.send(key + b'\r\n')
        self.assertEqual(r.c.line(), '* SEARCH %d' % seq['C'])
        self.assertTrue(r.c.line().startswith('u1 OK'))

    def test_search_address_and_header_keys(self):
        r, seq = self.corpus_box()
        self.assertEqual(self.search(r, 'FROM "John X. Doe"'), [seq['A']])
        self.assertEqual(self.search(r, 'FROM lindsaar.net'), [seq['C']])
        self.assertEqual(self.search(r, 'TO raasdnil'), [seq['C']])
        self.assertEqual(self.search(r, 'TO zzz.org'), [seq['A']])
        # all three Cc fields count
        for who in ('ccc@zzz', 'ddd@zzz', 'eee@ZZZ'):
            self.assertEqual(self.search(r, 'CC ' + who), [seq['A']], who)
        self.assertEqual(self.search(r, 'CC nobody'), [])
        self.assertEqual(self.search(r, 'BCC array'), [seq['D']])
        self.assertEqual(self.search(r, 'BCC zzz'), [])
        self.assertEqual(self.search(r, 'HEADER X-Mailer "Apple Mail"'),
                         [seq['C']])
        self.assertEqual(self.search(r, 'HEADER x-oblique-strategy window'),
                         [seq['B']])
        # an empty string: every message that has the field
        self.assertEqual(self.search(r, 'HEADER Message-ID ""'),
                         sorted(seq.values()))
        self.assertEqual(self.search(r, 'HEADER X-Mailer ""'),
                         sorted([seq['B'], seq['C']]))
        self.assertEqual(self.search(r, 'HEADER X-Not-There ""'), [])
        self.assertEqual(self.search(r, 'OR FROM barry TO raasdnil'),
                         sorted([seq['B'], seq['C']]))
        self.assertEqual(self.search(r, 'NOT FROM barry FROM python'), [])

    def test_search_date_keys(self):
        r, seq = self.corpus_box()
        # Date: header, day only (time and zone disregarded)
        self.assertEqual(self.search(r, 'SENTON 4-May-2001'), [seq['A']])
        self.assertEqual(self.search(r, 'SENTON 11-Sep-2001'), [seq['B']])
        self.assertEqual(self.search(r, 'SENTON 22-Nov-2008'), [seq['C']])
        self.assertEqual(self.search(r, 'SENTON 21-Nov-2008'), [])
        self.assertEqual(self.search(r, 'SENTBEFORE 11-Sep-2001'), [seq['A']])
        self.assertEqual(self.search(r, 'SENTBEFORE 12-Sep-2001'),
                         sorted([seq['A'], seq['B']]))
        # SENTSINCE includes the day itself
        self.assertEqual(self.search(r, 'SENTSINCE 11-Sep-2001 '
                                     'SENTBEFORE 1-Jan-2009'),
                         sorted([seq['B'], seq['C']]))
        self.assertEqual(self.search(r, 'SENTSINCE 23-Nov-2008 '
                                     'SENTBEFORE 1-Jan-2020'), [])
        # internal date: delivered today
        today = datetime.date.today()
        fmt = '%d-%s-%d'
        months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug',
                  'Sep', 'Oct', 'Nov', 'Dec']

        def day(d):
            return fmt % (d.day, months[d.month - 1], d.year)
        yesterday = today - datetime.timedelta(days=1)
        tomorrow = today + datetime.timedelta(days=1)
        everyone = sorted(seq.values())
        # the server's day may be UTC's: accept either neighbour
        on_days = [self.search(r, 'ON ' + day(d))
                   for d in (yesterday, today, tomorrow)]
        self.assertIn(everyone, on_days)
        self.assertEqual(self.search(r, 'ON 4-May-2001'), [])
        self.assertEqual(self.search(r, 'SINCE ' + day(yesterday)), everyone)
        self.assertEqual(self.search(r, 'BEFORE ' + day(yesterday)), [])
        self.assertTrue(r.run('SEARCH ON 31-Foo-2001')[0].startswith('BAD'))
        self.assertTrue(r.run('SEARCH SENTON')[0].startswith('BAD'))

    def test_search_new_old_recent(self):
        msgs = self.build('ABC')
        one = Raw(self, self.user())
        self.select(one)
        seq = self.seqs(one, msgs)
        everyone = sorted(seq.values())
        # the first session holds \Recent
        self.assertEqual(self.search(one, 'RECENT'), everyone)
        self.assertEqual(self.search(one, 'NEW'), everyone)
        self.assertEqual(self.search(one, 'OLD'), [])
        one.ok('STORE %d +FLAGS.SILENT (\\Seen)' % seq['A'])
        # NEW is RECENT UNSEEN
        self.assertEqual(self.search(one, 'NEW'),
                         sorted([seq['B'], seq['C']]))
        # a second session: nothing is recent for it
        two = Raw(self, self.user())
        info = self.select(two)
        self.assertEqual(info['RECENT'], 0)
        self.assertEqual(self.search(two, 'RECENT'), [])
        self.assertEqual(self.search(two, 'NEW'), [])
        self.assertEqual(self.search(two, 'OLD'), everyone)
        self.assertEqual(self.search(two, 'UNSEEN'),
                         sorted([seq['B'], seq['C']]))

    def test_search_flag_keys(self):
        r, seq = self.corpus_box()
        a, b, c, d = seq['A'], seq['B'], seq['C'], seq['D']
        everyone = sorted(seq.values())
        r.ok('STORE %d +FLAGS.SILENT (\\Answered \\Seen)' % a)
        r.ok('STORE %d +FLAGS.SILENT (\\Flagged \\Draft $Todo)' % b)
        r.ok('STORE %d +FLAGS.SILENT (\\Deleted \\Seen)' % c)
        cases = {
            'ANSWERED': [a], 'UNANSWERED': sorted([b, c, d]),
            'FLAGGED': [b], 'UNFLAGGED': sorted([a, c, d]),
            'DRAFT': [b], 'UNDRAFT': sorted([a, c, d]),
            'DELETED': [c], 'UNDELETED': sorted([a, b, d]),
            'SEEN': sorted([a, c]), 'UNSEEN': sorted([b, d]),
            'KEYWORD $Todo': [b], 'KEYWORD $todo': [b],
            'UNKEYWORD $Todo': sorted([a, c, d]),
            'KEYWORD $Never': [], 'UNKEYWORD $Never': everyone,
            'SEEN UNDELETED': [a], 'OR DRAFT DELETED': sorted([b, c]),
            # a list ANDs its keys: SEEN and (FLAGGED or DELETED) is c
            'NOT (SEEN OR FLAGGED DELETED)': sorted([a, b, d]),
            'NOT OR SEEN OR FLAGGED DELETED': [d],
            'ALL': everyone,
        }
        for criteria, want in cases.items():
            self.assertEqual(self.search(r, criteria), want, criteria)
        self.assertTrue(r.run('SEARCH KEYWORD')[0].startswith('BAD'))
        self.assertTrue(r.run('SEARCH BOGUS')[0].startswith('BAD'))

    def test_search_sets(self):
        r, _ = self.corpus_box()
        uids = self.uid_map(r)
        last = max(uids)
        self.assertEqual(self.search(r, '*'), [last])
        self.assertEqual(self.search(r, '2:*'), list(range(2, last + 1)))
        self.assertEqual(self.search(r, '*:3'), list(range(3, last + 1)))
        self.assertEqual(self.search(r, '1,3'), [1, 3])
        self.assertEqual(self.search(r, 'NOT 1:2'), [3, 4])
        # UID set: sequence numbers of those UIDs
        self.assertEqual(self.search(r, 'UID %d,%d' % (uids[2], uids[4])),
                         [2, 4])
        self.assertEqual(self.search(r, 'UID %d:*' % uids[3]), [3, 4])
        # UID n:* includes the last message even past the highest UID
        self.assertEqual(self.search(r, 'UID 999999:*'), [last])
        self.assertEqual(self.search(r, 'UID 999999'), [])
        # UID SEARCH answers UIDs; both kinds of sets AND together
        self.assertEqual(self.search(r, '1:2 UID %d:*' % uids[2], uid=True),
                         [uids[2]])
        self.assertEqual(self.search(r, 'ALL', uid=True),
                         sorted(uids.values()))
        # a sequence number past the end: RFC 3501 9 (seq-number) asks
        # for BAD in COPY, FETCH and STORE; in SEARCH it matches nothing
        # or is BAD, never an error that matches something
        tagged, untagged = r.run('SEARCH 9')
        self.assertTrue(tagged.startswith('BAD') or untagged == ['SEARCH'],
                        (tagged, untagged))
        self.assertTrue(r.run('FETCH 9 (UID)')[0].startswith('BAD'))
        self.assertTrue(r.run('STORE 9 +FLAGS (\\Seen)')[0]
                        .startswith('BAD'))
        self.assertTrue(r.run('COPY 9 INBOX')[0].startswith('BAD'))

    def test_star_in_empty_mailbox(self):
        r = Raw(self, self.user())
        r.ok('CREATE Empty')
        self.select(r, 'Empty')
        # RFC 3501 9 (seq-number): BAD for a number past the end, "*"
        # of an empty mailbox included
        for cmd in ('FETCH * (UID)', 'FETCH 1:* (UID)',
                    'STORE * +FLAGS (\\Seen)', 'COPY * INBOX',
                    'MOVE * INBOX'):
            tagged, untagged = r.run(cmd)
            self.assertTrue(tagged.startswith('BAD'), (cmd, tagged))
            self.assertEqual(untagged, [], cmd)
        # UIDs past the end are simply not there
        for cmd in ('UID FETCH * (UID)', 'UID FETCH 1:* (FLAGS)',
                    'UID STORE * +FLAGS (\\Seen)', 'UID COPY 1:* INBOX'):
            tagged, untagged = r.run(cmd)
            self.assertTrue(tagged.startswith('OK'), (cmd, tagged))
            self.assertEqual(untagged, [], cmd)
        self.assertEqual(self.status(r, 'INBOX')['MESSAGES'], 0)

    def test_copy_expunged_by_other_session(self):
        """RFC 2180 4.4.1: a COPY of messages another session expunged may
        fail, with the pending EXPUNGEs; it is not a missing mailbox."""
        msgs = self.build('AB')
        one, two = Raw(self, self.user()), Raw(self, self.user())
        one.ok('CREATE Dest')
        self.select(one)
        self.select(two)
        seq = self.seqs(one, msgs)
        one.ok('STORE %d +FLAGS.SILENT (\\Deleted)' % seq['A'])
        one.ok('EXPUNGE')
        tagged, untagged = two.run('COPY 1:2 Dest')
        self.assertTrue(tagged.startswith('NO [EXPUNGEISSUED]'), tagged)
        self.assertEqual(untagged, ['%d EXPUNGE' % seq['A']])
        # nothing copied (all or nothing)
        self.assertEqual(self.status(two, 'Dest')['MESSAGES'], 0)
        # renumbered: the survivor copies fine
        tagged, untagged = two.run('COPY 1 Dest')
        self.assertTrue(tagged.startswith('OK [COPYUID'), tagged)
        self.assertEqual(self.status(two, 'Dest')['MESSAGES'], 1)
        # the same for MOVE
        one.ok('NOOP')
        one.ok('STORE 1 +FLAGS.SILENT (\\Deleted)')
        self.build('C')
        self.assertEqual(sorted(two.ok('NOOP')),
                         ['1 FETCH (FLAGS (\\Deleted))', '1 RECENT',
                          '2 EXISTS'])
        one.ok('EXPUNGE')
        tagged, untagged = two.run('MOVE 1:2 Dest')
        self.assertTrue(tagged.startswith('NO [EXPUNGEISSUED]'), tagged)
        self.assertEqual(untagged, ['1 EXPUNGE'])
        self.assertEqual(self.status(two, 'Dest')['MESSAGES'], 1)
        self.assertEqual(self.status(two, 'INBOX')['MESSAGES'], 1)

    # ---- response codes (RFC 5530) and states ----

    def test_response_codes(self):
        r = Raw(self, self.user())
        # RFC 3501 6.3.1/6.3.2: READ-WRITE and READ-ONLY in the tagged OK
        tagged, _ = r.run('SELECT INBOX')
        self.assertTrue(tagged.startswith('OK [READ-WRITE]'), tagged)
        tagged, _ = r.run('EXAMINE INBOX')
        self.assertTrue(tagged.startswith('OK [READ-ONLY]'), tagged)
        r.ok('UNSELECT')
        tagged, _ = r.run('SELECT Nowhere')
        self.assertTrue(tagged.startswith('NO [NONEXISTENT]'), tagged)
        tagged, _ = r.run('EXAMINE Nowhere')
        self.assertTrue(tagged.startswith('NO [NONEXISTENT]'), tagged)
        m = self.imap()
        typ, data = m.append('Nowhere', None, None, b'Subject: x\r\n\r\ny\r\n')
        self.assertEqual(typ, 'NO')
        self.assertTrue(data[0].startswith(b'[TRYCREATE]'), data)
        self.build('A')
        self.select(r, examine=True)
        tagged, _ = r.run('COPY 1 Nowhere')
        self.assertTrue(tagged.startswith('NO [TRYCREATE]'), tagged)
        tagged, _ = r.run('STORE 1 +FLAGS (\\Seen)')
        self.assertTrue(tagged.startswith('NO [READ-ONLY]'), tagged)
        tagged, _ = r.run('EXPUNGE')
        self.assertTrue(tagged.startswith('NO [READ-ONLY]'), tagged)
        # NAMESPACE takes no arguments (RFC 2342 5)
        self.assertTrue(r.run('NAMESPACE x')[0].startswith('BAD'))
        # a failed SELECT leaves no mailbox selected (RFC 3501 6.3.1)
        self.assertTrue(r.run('SELECT Nowhere')[0].startswith('NO'))
        self.assertTrue(r.run('FETCH 1 (FLAGS)')[0].startswith('BAD'))

    # RFC 2180 3 offers a server three consistent choices when another
    # session deletes the selected mailbox: refuse the DELETE (3.1), keep
    # the messages readable (3.2), or end the sessions that have it
    # selected with an untagged BYE (3.3). The Maildir storage cannot keep
    # a removed directory readable: the next sync sends BYE and closes.
    def noop_or_bye(self, r):
        """NOOP on `r`: True when the server said BYE (RFC 2180 3.3) and
        closed, False after the tagged answer."""
        r.c.send('n1 NOOP\r\n')
        line = r._line()
        if line.startswith('* BYE'):
            self.assertTrue(r.c.is_closed())
            return True
        while not line.startswith('n1 '):
            line = r._line()
        return False

    def test_selected_mailbox_deleted_by_other_session(self):
        self.build('AB', folder='Gone')
        one, two = Raw(self, self.user()), Raw(self, self.user())
        self.select(two, 'Gone')
        tagged, _ = one.run('DELETE Gone')
        if tagged.startswith('NO'):
            return  # 3.1
        if self.noop_or_bye(two):
            return  # 3.3
        # 3.2: still readable
        line = two.ok('FETCH 1:2 (BODY.PEEK[])')
        self.assertEqual(len(line), 2)

    # After another session's RENAME, RFC 2180 3.4 wants the others to go
    # on (FETCH does not name the mailbox); 3.3 (BYE) does as well, and is
    # what a view bound to the old directory can give.
    def test_selected_mailbox_renamed_by_other_session(self):
        """RFC 2180 3.4: the others go on with FETCH."""
        msgs = self.build('AB', folder='Old')
        one, two = Raw(self, self.user()), Raw(self, self.user())
        self.select(two, 'Old')
        one.ok('RENAME Old New')
        if self.noop_or_bye(two):
            return  # 3.3
        lines = two.ok('FETCH 1:2 (BODY.PEEK[])')
        self.assertEqual(sorted(x.split('\r\n', 1)[1][:-1].encode('latin-1')
                                for x in lines),
                         sorted(msgs.values()))

    # RFC 7888 section 3: the octets of a {n+} literal are part of the
    # command, sent before any answer. An APPEND refused before its
    # message (the mailbox does not exist) reads and drops them and
    # answers once, NO [TRYCREATE], when the command ends; the connection
    # stays for the client's CREATE and second APPEND. (It used to close
    # with "* BYE [TOOBIG] Literal too large".)
    def test_append_nonsync_literal_refused_keeps_connection(self):
        r = Raw(self, self.user())
        tagged, untagged = r.run('APPEND Nowhere {3+}\r\nabc')
        self.assertTrue(tagged.startswith('NO [TRYCREATE]'), tagged)
        self.assertEqual(untagged, [])
        self.assertEqual(r.ok('NOOP'), [])
        r.ok('CREATE Nowhere')
        tagged, _ = r.run('APPEND Nowhere {3+}\r\nabc')
        self.assertTrue(tagged.startswith('OK [APPENDUID'), tagged)

    def test_multiappend_nonsync_refused_answers_once(self):
        # every message of a refused MULTIAPPEND is read; one answer
        r = Raw(self, self.user())
        tagged, untagged = r.run('APPEND Nowhere {3+}\r\nabc {4+}\r\n'
                                 'defg (\\Seen) {2+}\r\nhi')
        self.assertTrue(tagged.startswith('NO [TRYCREATE]'), tagged)
        self.assertEqual(untagged, [])
        self.assertEqual(r.ok('NOOP'), [])

    def test_append_nonsync_bad_flag_answers_once(self):
        r = Raw(self, self.user())
        tagged, untagged = r.run('APPEND INBOX (\\Bogus) {3+}\r\nabc')
        self.assertTrue(tagged.startswith('BAD'), tagged)
        self.assertEqual(untagged, [])
        self.assertEqual(r.ok('NOOP'), [])
        self.assertIn('0 EXISTS', r.ok('SELECT INBOX'))


# one user per test, named after it
ImapCommands.users = [(n[len('test_'):], 'pw') for n in dir(ImapCommands)
                      if n.startswith('test_')]

if __name__ == '__main__':
    harness.main()
