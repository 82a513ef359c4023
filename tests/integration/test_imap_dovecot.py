#!/usr/bin/env python3
"""Differential test against Dovecot over a copy of the same Maildir.

posthornd serves alice's Maildir (the corpus delivered into it); a copy
of that Maildir is opened by Dovecot's imap binary in PREAUTH mode over a
pipe (imaplib.IMAP4_stream). Both are asked the same things and the
answers are compared message by message (matched by their bytes, since
the two servers number messages independently):

  FETCH 1:* (RFC822.SIZE ENVELOPE BODYSTRUCTURE), BODY.PEEK[1.MIME],
  BODY.PEEK[HEADER.FIELDS (From To Subject Date Message-ID)], and SEARCH
  for a few header and body keys.

Differences are allowed only for the files listed (with the reason) in
tests/unit/imap4-mime/diff-dovecot.py. dovecot-imapd is installed with
apt-get when missing; the test is skipped (with the reason) only when that
fails.
"""
import hashlib
import imaplib
import importlib.util
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

import harness

DOVECOT_IMAP = '/usr/lib/dovecot/imap'
_spec = importlib.util.spec_from_file_location(
    'diff_dovecot', os.path.join(harness.SOURCE_DIR, 'tests', 'unit',
                                 'imap4-mime', 'diff-dovecot.py'))
diff_dovecot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(diff_dovecot)

SEARCHES = [('SUBJECT', 'test'), ('FROM', 'barry'), ('TO', 'example'),
            ('BODY', 'hello'), ('HEADER', 'X-Mailer', ''),
            ('SUBJECT', 'mime'), ('TEXT', 'attachment')]
# CHARSET UTF-8 searches whose case differs from the text beyond ASCII
# (RFC 2047 subjects, iso-8859-1 / utf-8 bodies, a header value).
UNICODE_SEARCHES = [('SUBJECT', 'PÄRING'), ('SUBJECT', 'eelanalÜÜsi'),
                    ('SUBJECT', 'FOUCHÉ'), ('BODY', 'ÉLECTRONIQUE'),
                    ('BODY', 'FRANÇAISE'), ('TEXT', 'JØRN STØYLEN')]


def ensure_dovecot():
    if os.path.exists(DOVECOT_IMAP):
        return None
    r = subprocess.run(['apt-get', 'install', '-y', 'dovecot-imapd'],
                       capture_output=True)
    if r.returncode != 0 or not os.path.exists(DOVECOT_IMAP):
        return 'dovecot-imapd is not installed and apt-get install failed'
    return None


def fetch_all(m):
    """{sha1(body): {item: value}} for every message, values tokenized."""
    typ, data = m.fetch('1:*', '(BODY.PEEK[] RFC822.SIZE ENVELOPE '
                               'BODYSTRUCTURE BODY.PEEK[1.MIME] '
                               'BODY.PEEK[HEADER.FIELDS (From To Subject '
                               'Date Message-ID)])')
    assert typ == 'OK', data
    # re-join imaplib's pieces into the wire form, then read responses
    # one after the other with the literal-aware tokenizer
    raw = b''
    for item in data:
        if isinstance(item, tuple):
            raw += item[0] + b'\r\n' + item[1]
        else:
            raw += item + b'\r\n'
    out, seqs = {}, {}
    pos = 0
    while True:
        mm = re.compile(rb'\s*(\d+) \(').match(raw, pos)
        if mm is None:
            break
        vals, pos = diff_dovecot.tokenize(raw, mm.end())
        items = diff_dovecot.items(vals)
        key = hashlib.sha1(items[b'BODY[]']).hexdigest()
        out[key] = items
        seqs[int(mm.group(1))] = key
    return out, seqs


class ImapDovecot(harness.TestCase):
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'secret')]

    @classmethod
    def setUpClass(cls):
        cls.skip_reason = ensure_dovecot()
        if cls.skip_reason:
            raise unittest.SkipTest(cls.skip_reason)
        super().setUpClass()
        cls.files = diff_dovecot.corpus_files(harness.CORPUS_DIR)
        for path in cls.files:
            with open(path, 'rb') as f:
                harness.deliver(cls.server, 'alice', f.read())
        # ours first: the storage moves new/ to cur/ and builds its index
        cls.ours = imaplib.IMAP4(cls.server.host, cls.server.port('imap'))
        cls.ours.login('alice', 'secret')
        cls.ours.select('INBOX', readonly=True)
        # Dovecot on a copy of the same Maildir (its own index files)
        cls.tmp = tempfile.mkdtemp(prefix='posthorn-dovecot-')
        os.chmod(cls.tmp, 0o755)
        maildir = os.path.join(cls.tmp, 'Maildir')
        shutil.copytree(cls.server.maildir('alice'), maildir,
                        ignore=lambda d, names: [
                            n for n in names
                            if n not in ('cur', 'new', 'tmp') and
                            d == cls.server.maildir('alice')])
        user = pwd.getpwnam('nobody') if os.getuid() == 0 else \
            pwd.getpwuid(os.getuid())
        conf = os.path.join(cls.tmp, 'dovecot.conf')
        with open(conf, 'w') as f:
            f.write('mail_location = maildir:%s\n' % maildir)
            f.write('log_path = %s/dovecot.log\nssl = no\n' % cls.tmp)
            f.write('first_valid_uid = 0\nfirst_valid_gid = 0\n')
            f.write('mail_uid = %d\nmail_gid = %d\n' % (user.pw_uid,
                                                         user.pw_gid))
        if os.getuid() == 0:
            for root, _, names in os.walk(cls.tmp):
                os.chown(root, user.pw_uid, user.pw_gid)
                for n in names:
                    os.chown(os.path.join(root, n), user.pw_uid,
                             user.pw_gid)
        cmd = 'env USER=%s HOME=%s %s -c %s' % (
            user.pw_name, cls.tmp, DOVECOT_IMAP, conf)
        if os.getuid() == 0:
            cmd = 'setpriv --reuid=%d --regid=%d --clear-groups %s' % (
                user.pw_uid, user.pw_gid, cmd)
        cls.theirs = imaplib.IMAP4_stream(cmd)
        cls.theirs.select('INBOX', readonly=True)
        cls.our_msgs, cls.our_seqs = fetch_all(cls.ours)
        cls.their_msgs, cls.their_seqs = fetch_all(cls.theirs)
        cls.name_of = {}
        for path in cls.files:
            with open(path, 'rb') as f:
                body = re.sub(rb'\r?\n', b'\r\n', f.read())
            cls.name_of[hashlib.sha1(body).hexdigest()] = \
                os.path.relpath(path, harness.CORPUS_DIR)

    @classmethod
    def tearDownClass(cls):
        for m in ('ours', 'theirs'):
            try:
                getattr(cls, m).logout()
            except Exception:
                pass
        if getattr(cls, 'tmp', None):
            shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def test_same_messages(self):
        # identical corpus files are one entry here
        self.assertEqual(len(self.our_msgs), len(self.name_of))
        self.assertEqual(set(self.our_msgs), set(self.their_msgs))

    def compare(self, item, allowed_ok=True):
        bad = []
        for key, ours in self.our_msgs.items():
            theirs = self.their_msgs.get(key)
            name = self.name_of.get(key, key)
            if theirs is None or ours.get(item) != theirs.get(item):
                if allowed_ok and name in diff_dovecot.ALLOWED:
                    continue
                bad.append('%s: ours %r\n  dovecot %r' % (
                    name, ours.get(item),
                    theirs.get(item) if theirs else None))
        self.assertEqual(bad, [], '\n'.join(bad[:5]))

    def test_rfc822_size(self):
        self.compare(b'RFC822.SIZE', allowed_ok=False)

    def test_envelope(self):
        self.compare(b'ENVELOPE', allowed_ok=False)

    def test_bodystructure(self):
        self.compare(b'BODYSTRUCTURE')

    def test_mime_header_of_part_1(self):
        self.compare(b'BODY[1.MIME]')

    def test_header_fields(self):
        self.compare(b'BODY[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)]',
                     allowed_ok=False)

    def test_search_unicode_case(self):
        for key, text in UNICODE_SEARCHES:
            found = []
            for m in (self.ours, self.theirs):
                m.literal = text.encode()
                typ, data = m.search('UTF-8', key)
                self.assertEqual(typ, 'OK')
                found.append(data[0].split())
            got = {self.name_of[self.our_seqs[int(n)]] for n in found[0]}
            want = {self.name_of[self.their_seqs[int(n)]]
                    for n in found[1]}
            self.assertTrue(want, (key, text))  # the key finds something
            self.assertEqual(got, want, (key, text))

    @staticmethod
    def esearch(m, args):
        """(COUNT, set of sequence numbers) of SEARCH RETURN (COUNT ALL)."""
        typ, data = m._simple_command('SEARCH', 'RETURN', '(COUNT ALL)',
                                      *args)
        typ, data = m._untagged_response(typ, data, 'ESEARCH')
        text = data[-1].decode()
        count = int(re.search(r'COUNT (\d+)', text).group(1))
        seqs = set()
        mm = re.search(r'ALL (\S+)', text)
        for part in (mm.group(1).split(',') if mm else []):
            lo, _, hi = part.partition(':')
            seqs.update(range(int(lo), int(hi or lo) + 1))
        return count, seqs

    def test_esearch(self):
        for key in SEARCHES:
            args = [k if k else '""' for k in key]
            count, ours = self.esearch(self.ours, args)
            tcount, theirs = self.esearch(self.theirs, args)
            self.assertEqual(count, len(ours), key)
            got = {self.name_of[self.our_seqs[n]] for n in ours}
            want = {self.name_of[self.their_seqs[n]] for n in theirs}
            self.assertTrue(want, key)
            self.assertEqual(got, want, key)
            # both serve the same files, duplicates included
            self.assertEqual(count, tcount, key)

    def test_search(self):
        for key in SEARCHES:
            args = [k if k else '""' for k in key]
            typ, ours = self.ours.search(None, *args)
            self.assertEqual(typ, 'OK')
            typ, theirs = self.theirs.search(None, *args)
            self.assertEqual(typ, 'OK')
            got = {self.name_of[self.our_seqs[int(n)]]
                   for n in ours[0].split()}
            want = {self.name_of[self.their_seqs[int(n)]]
                    for n in theirs[0].split()}
            self.assertTrue(want, key)  # the key finds something
            self.assertEqual(got, want, key)


if __name__ == '__main__':
    harness.main()
