#!/usr/bin/env python3
"""Real IMAP clients against posthornd: curl (imap:// with STARTTLS,
imaps:// and plaintext imap://: listing, UID fetch, search, upload), mbsync (Debian isync)
syncing an account both ways with a local Maildir, and neomutt driven
headless in tmux opening INBOX and reading a message.

Each client has its own user so the tests do not see each other's mail.
Messages come from the corpus (harness.deliver, as an MTA would)."""
import glob
import imaplib
import os
import re
import shutil
import subprocess
import tempfile
import time

import harness

CORPUS = harness.CORPUS_DIR
SAMPLES = ['cpython/msg_02.txt', 'mailkit/message.3.msg',
           'ruby-mail/plain_emails/basic_email_lf.eml',
           'cyrus/iso-2022-jp.eml']


def wire(data):
    """The message as IMAP sends it: every line end CR LF."""
    return re.sub(rb'\r?\n', b'\r\n', data)


def lf(data):
    """Line ends as a Maildir client on Unix stores them."""
    return data.replace(b'\r\n', b'\n')


def no_tuid(data):
    """Without the X-TUID header mbsync (isync 1.4) writes into every
    message it copies, in either direction, to find it again."""
    return re.sub(rb'^X-TUID: [^\r\n]*\r?\n', b'', data, flags=re.M)


def corpus(name):
    with open(os.path.join(CORPUS, name), 'rb') as f:
        return f.read()


class ImapClients(harness.TestCase):
    listeners = {
        'imap': dict(protocol='imap4', tls='starttls', allow_plaintext='no'),
        'imaps': dict(protocol='imap4', tls='implicit'),
        'plain': dict(protocol='imap4', tls='none', allow_plaintext='yes'),
    }
    users = [('alice', 'secret'), ('bob', 'hunter2'), ('carol', 'pw'),
             ('dave', 'pw')]

    def imap(self, user, password):
        m = imaplib.IMAP4_SSL(self.server.host, self.server.port('imaps'),
                              ssl_context=self.server.ssl_context())
        self.addCleanup(harness.quiet_logout, m)
        self.assertEqual(m.login(user, password)[0], 'OK')
        return m

    def uid_of_subject(self, m, mailbox, subject):
        self.assertEqual(m.select(mailbox)[0], 'OK')
        typ, data = m.uid('SEARCH', 'SUBJECT', '"%s"' % subject)
        self.assertEqual(typ, 'OK')
        uids = data[0].split()
        self.assertEqual(len(uids), 1, data)
        return int(uids[0])

    # ---- curl ----

    def curl(self, url, *args, check=True):
        cmd = ['curl', '-sS', '--max-time', '60', '-u', 'alice:secret',
               '--cacert', self.server.ca_file] + list(args) + [url]
        p = subprocess.run(cmd, capture_output=True, timeout=90)
        if check:
            self.assertEqual(p.returncode, 0,
                             'curl %s: %s' % (url, p.stderr.decode()))
        return p

    def curl_setup(self):
        if getattr(type(self), 'curl_ready', False):
            return
        type(self).curl_ready = True
        for name in SAMPLES:
            harness.deliver(self.server, 'alice', corpus(name))
        harness.deliver(self.server, 'alice', corpus(SAMPLES[0]),
                        folder='Work')

    def urls(self):
        """(base URL, extra curl options) for STARTTLS, implicit TLS and
        plaintext (a listener that allows it)."""
        return [('imap://127.0.0.1:%d' % self.server.port('imap'),
                 ['--ssl-reqd']),
                ('imaps://127.0.0.1:%d' % self.server.port('imaps'), []),
                ('imap://127.0.0.1:%d' % self.server.port('plain'), [])]

    def test_curl_list(self):
        self.curl_setup()
        for base, opts in self.urls():
            out = self.curl(base + '/', *opts).stdout.decode()
            names = [n.strip('"') for n in re.findall(
                r'^\* LIST \([^)]*\) "[^"]*" (\S+)\r?$', out, re.M)]
            self.assertIn('INBOX', names, out)
            self.assertIn('Work', names, out)

    def test_curl_fetch_by_uid(self):
        self.curl_setup()
        m = self.imap('alice', 'secret')
        uid = self.uid_of_subject(m, 'INBOX', 'Ppp digest')
        for base, opts in self.urls():
            body = self.curl('%s/INBOX;UID=%d' % (base, uid), *opts).stdout
            self.assertEqual(body, wire(corpus(SAMPLES[0])))
            # a section of a message in another mailbox
            wuid = self.uid_of_subject(m, 'Work', 'Ppp digest')
            head = self.curl('%s/Work;UID=%d;SECTION=HEADER' % (base, wuid),
                             *opts).stdout
            self.assertTrue(wire(corpus(SAMPLES[0])).startswith(head), head)
            self.assertTrue(head.endswith(b'\r\n\r\n'))

    def test_curl_fetch_unknown_uid_fails(self):
        self.curl_setup()
        p = self.curl('imaps://127.0.0.1:%d/INBOX;UID=999999' %
                      self.server.port('imaps'), check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(p.stdout, b'')

    def test_curl_search(self):
        self.curl_setup()
        m = self.imap('alice', 'secret')
        uid = self.uid_of_subject(m, 'INBOX', 'Ppp digest')
        out = self.curl('imaps://127.0.0.1:%d/INBOX?SUBJECT%%20%%22Ppp%%20digest%%22' %
                        self.server.port('imaps')).stdout.decode()
        # curl runs SEARCH and prints the untagged answer (sequence numbers
        # of the UID-matching messages)
        self.assertRegex(out, r'^\* SEARCH \d+\r?$')
        typ, data = m.uid('FETCH', str(uid), '(UID)')
        seq = data[0].split()[0].decode()
        self.assertEqual(out.split()[2], seq)

    def test_curl_upload(self):
        self.curl_setup()
        m = self.imap('alice', 'secret')
        for i, (base, opts) in enumerate(self.urls()):
            msg = wire(b'From: curl <curl@example.org>\n'
                       b'To: alice@example.org\n'
                       b'Subject: uploaded by curl %d\n\n'
                       b'Line one.\nLine two, \xc3\xa4 in UTF-8.\n' % i)
            path = os.path.join(self.server.tmp, 'upload%d.eml' % i)
            with open(path, 'wb') as f:
                f.write(msg)
            self.curl(base + '/Work', '-T', path, *opts)
            uid = self.uid_of_subject(m, 'Work', 'uploaded by curl %d' % i)
            typ, data = m.uid('FETCH', str(uid), '(BODY.PEEK[] FLAGS)')
            self.assertEqual(typ, 'OK')
            self.assertEqual(data[0][1], msg)

    def test_curl_without_tls_refused(self):
        """LOGINDISABLED on the plaintext port: curl without --ssl-reqd
        must fail to log in, and no password crossed in clear."""
        self.curl_setup()
        p = self.curl('imap://127.0.0.1:%d/' % self.server.port('imap'),
                      check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn(b'INBOX', p.stdout)

    # ---- mbsync ----

    def mbsync(self, conf, *args):
        p = subprocess.run(['mbsync', '-c', conf] + list(args),
                           capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0,
                         'mbsync failed:\n%s\n%s' % (p.stdout.decode(),
                                                     p.stderr.decode()))
        return p

    @staticmethod
    def local_messages(folder):
        """{Subject: path} of a local Maildir folder."""
        out = {}
        for path in glob.glob(os.path.join(folder, 'cur', '*')) + \
                glob.glob(os.path.join(folder, 'new', '*')):
            with open(path, 'rb') as f:
                data = f.read()
            m = re.search(rb'^Subject: ?(.*)$', data, re.M)
            out[m.group(1).strip() if m else b''] = path
        return out

    @staticmethod
    def maildir_flags(path):
        return path.rsplit(':2,', 1)[1] if ':2,' in path else ''

    def test_mbsync_both_ways(self):
        if shutil.which('mbsync') is None:
            self.skipTest('mbsync (isync) not installed')
        sent = [corpus(n) for n in SAMPLES]
        for data in sent:
            harness.deliver(self.server, 'bob', data)
        work = b'From: a@example.org\nSubject: in work\n\nwork body\n'
        harness.deliver(self.server, 'bob', work, folder='Work')
        local = tempfile.mkdtemp(prefix='mbsync-', dir=self.server.tmp)
        os.makedirs(os.path.join(local, 'mail'))
        conf = os.path.join(local, 'mbsyncrc')
        with open(conf, 'w') as f:
            f.write('''IMAPAccount posthorn
Host localhost
Port %d
User bob
Pass hunter2
SSLType IMAPS
CertificateFile %s

IMAPStore far
Account posthorn

MaildirStore near
Path %s/mail/
Inbox %s/mail/INBOX
SubFolders Verbatim

Channel ch
Far :far:
Near :near:
Patterns *
Create Both
Expunge Both
SyncState *
Sync All
''' % (self.server.port('imaps'), self.server.ca_file, local, local))
        # 1. pull: every message arrives byte for byte (LF line ends)
        self.mbsync(conf, '-a')
        inbox = os.path.join(local, 'mail', 'INBOX')
        got = sorted(no_tuid(lf(open(p, 'rb').read()))
                     for p in self.local_messages(inbox).values())
        self.assertEqual(got, sorted(lf(d) for d in sent))
        wmsgs = self.local_messages(os.path.join(local, 'mail', 'Work'))
        self.assertEqual(list(wmsgs), [b'in work'])
        self.assertEqual(no_tuid(lf(open(wmsgs[b'in work'], 'rb').read())),
                         work)

        # 2. local changes: flag one, delete one, add one
        msgs = self.local_messages(inbox)
        subjects = sorted(msgs)
        flag_subj, del_subj = subjects[0], subjects[1]
        p = msgs[flag_subj]
        base = p.rsplit(':2,', 1)[0] if ':2,' in p else p
        os.rename(p, os.path.join(inbox, 'cur',
                                  os.path.basename(base) + ':2,FS'))
        os.unlink(msgs[del_subj])
        added = b'From: bob@example.org\nSubject: added locally\n\nhi\n'
        name = '%d.local.%d:2,S' % (time.time(), os.getpid())
        with open(os.path.join(inbox, 'cur', name), 'wb') as f:
            f.write(added)
        self.mbsync(conf, '-a')

        m = self.imap('bob', 'hunter2')
        uid = self.uid_of_subject(m, 'INBOX', flag_subj.decode())
        typ, data = m.uid('FETCH', str(uid), '(FLAGS)')
        self.assertIn(b'\\Flagged', data[0])
        self.assertIn(b'\\Seen', data[0])
        typ, data = m.uid('SEARCH', 'SUBJECT', '"%s"' % del_subj.decode())
        self.assertEqual(data[0], b'', 'deleted locally, still on server')
        uid = self.uid_of_subject(m, 'INBOX', 'added locally')
        typ, data = m.uid('FETCH', str(uid), '(FLAGS BODY.PEEK[])')
        self.assertEqual(no_tuid(data[0][1]), wire(added))
        self.assertIn(b'\\Seen', data[0][0])
        typ, data = m.search(None, 'ALL')
        self.assertEqual(len(data[0].split()), len(sent))

        # 3. server-side changes: a flag, an expunge, a new delivery
        uid = self.uid_of_subject(m, 'INBOX', 'added locally')
        m.uid('STORE', str(uid), '+FLAGS', '(\\Answered)')
        gone = self.uid_of_subject(m, 'INBOX', flag_subj.decode())
        m.uid('STORE', str(gone), '+FLAGS', '(\\Deleted)')
        m.expunge()
        late = b'From: x@example.org\nSubject: delivered later\n\nlate\n'
        harness.deliver(self.server, 'bob', late)
        self.mbsync(conf, '-a')
        msgs = self.local_messages(inbox)
        self.assertNotIn(flag_subj, msgs)
        self.assertIn('R', self.maildir_flags(msgs[b'added locally']))
        self.assertEqual(
            no_tuid(lf(open(msgs[b'delivered later'], 'rb').read())), late)
        self.assertEqual(len(msgs), len(sent))

        # 4. a further sync changes nothing
        p = self.mbsync(conf, '-a', '-V')
        self.assertEqual(sorted(self.local_messages(inbox)), sorted(msgs))

    # ---- neomutt ----

    def test_neomutt_reads_message(self):
        for tool in ('neomutt', 'tmux'):
            if shutil.which(tool) is None:
                self.skipTest('%s not installed' % tool)
        subject = 'Posthorn neomutt check'
        body = 'The quick brown fox reads mail over IMAPS.'
        harness.deliver(self.server, 'carol', (
            'From: Dora <dora@example.org>\nTo: carol@example.org\n'
            'Date: Fri, 27 Nov 2026 10:00:00 +0000\n'
            'Subject: %s\nMessage-ID: <neomutt-1@example.org>\n\n%s\n' %
            (subject, body)).encode())
        home = tempfile.mkdtemp(prefix='neomutt-', dir=self.server.tmp)
        rc = os.path.join(home, 'muttrc')
        with open(rc, 'w') as f:
            f.write('''set folder = "imaps://carol@127.0.0.1:%d/"
set spoolfile = "+INBOX"
set imap_pass = "pw"
set certificate_file = "%s"
set ssl_force_tls = yes
set header_cache = ""
set message_cachedir = ""
set imap_check_subscribed = no
set mail_check_stats = no
set quit = yes
set confirmappend = no
set mark_old = no
set wait_key = no
set pager_stop = yes
''' % (self.server.port('imaps'), self.server.ca_file))
        sock = 'posthorn-%d' % os.getpid()
        tmux = ['tmux', '-L', sock]
        env = dict(os.environ, HOME=home, TERM='xterm', LANG='C.UTF-8')
        subprocess.run(tmux + ['-f', '/dev/null', 'new-session', '-d', '-x',
                               '120', '-y', '40', 'neomutt', '-n', '-F',
                               rc], check=True, env=env)
        self.addCleanup(subprocess.run, tmux + ['kill-server'],
                        capture_output=True)

        def screen():
            return subprocess.run(tmux + ['capture-pane', '-p'],
                                  capture_output=True, env=env,
                                  text=True).stdout

        def wait_for(text, timeout=30):
            end = time.time() + timeout
            while time.time() < end:
                s = screen()
                if text in s:
                    return s
                time.sleep(0.2)
            self.fail('%r never shown; screen:\n%s' % (text, screen()))

        wait_for(subject)  # the index lists the message
        subprocess.run(tmux + ['send-keys', 'Enter'], check=True, env=env)
        s = wait_for(body)  # the pager shows it
        self.assertIn(subject, s)
        self.assertIn('Dora', s)
        subprocess.run(tmux + ['send-keys', 'q'], check=True, env=env)
        time.sleep(0.3)
        subprocess.run(tmux + ['send-keys', 'q'], check=True, env=env)
        m = self.imap('carol', 'pw')
        end = time.time() + 20
        while True:
            m.select('INBOX', readonly=True)
            typ, data = m.fetch('1', '(FLAGS)')
            if b'\\Seen' in data[0] or time.time() > end:
                break
            time.sleep(0.2)
        self.assertIn(b'\\Seen', data[0])


if __name__ == '__main__':
    harness.main()
