"""POP3 against a real posthornd with Python's poplib: a mailbox built from
tests/corpus, every message through STAT/LIST/UIDL/TOP/RETR byte for byte,
UPDATE semantics, the maildrop lock, \\Seen, pipelining."""

import os
import poplib
import re
import signal
import socket
import sys
import time
import unittest

import harness

# Corpus messages have long lines (base64, 200+ character headers).
poplib._MAXLINE = 1 << 20


def normalize(data):
    """A stored message as a POP3 client holds it after un-stuffing: every
    bare LF becomes CR LF."""
    return re.sub(rb'(?<!\r)\n', b'\r\n', data)


def joined(lines):
    """poplib's line list back to bytes (every line CR LF terminated)."""
    return b''.join(line + b'\r\n' for line in lines)


def expected_retr(data):
    """What RETR returns after un-stuffing: normalized, plus CR LF when the
    message does not end with a line end."""
    n = normalize(data)
    if n and not n.endswith(b'\n'):
        n += b'\r\n'
    return n


def expected_top(data, count):
    """TOP n count: the header up to its blank line, then `count` lines."""
    out, in_body, left = [], False, count
    for line in expected_retr(data).splitlines(keepends=True):
        if in_body:
            if left == 0:
                break
            left -= 1
        out.append(line)
        if not in_body and line.rstrip(b'\r\n').strip(b'\r') == b'':
            in_body = True
            if left == 0:
                break
    return b''.join(out)


def corpus_messages():
    """(name, bytes) of every message file of the corpus."""
    out = []
    for root, _, files in os.walk(harness.CORPUS_DIR):
        for f in sorted(files):
            if f.endswith('.md'):
                continue
            with open(os.path.join(root, f), 'rb') as fh:
                out.append((os.path.relpath(os.path.join(root, f),
                                            harness.CORPUS_DIR), fh.read()))
    return sorted(out)


def drop(p):
    """Drops a poplib connection without QUIT (its makefile keeps the fd
    open after sock.close(), so shut the socket down first)."""
    p.sock.shutdown(socket.SHUT_RDWR)
    p.sock.close()
    p.file.close()


def need_storage(server):
    if not server.use_storage:
        raise unittest.SkipTest('storage-maildir.so not built')


SIMPLE = [
    b'From: a@example.org\nSubject: one\n\nfirst\n.dot line\n',
    b'From: b@example.org\r\nSubject: two\r\n\r\nsecond\r\n',
    b'From: c@example.org\nSubject: three\n\nthird\n',
]


class Pop3Test(harness.TestCase):
    listeners = {'pop3': dict(protocol='pop3', tls='none',
                              allow_plaintext='yes')}
    users = [('alice', 'secret'), ('bob', 'hunter2'), ('carol', 'pw3'),
             ('dave', 'pw4'), ('erin', 'pw5'), ('frank', 'pw6'),
             ('gina', 'pw7'), ('hank', 'pw8'),
             ('ivan', 'pw9'), ('judy', 'pw10'),
             ('leo', 'pw11')]

    def pop(self, user, password):
        p = poplib.POP3(self.server.host, self.server.port('pop3'),
                        timeout=30)
        p.user(user)
        p.pass_(password)
        return p

    def fill(self, user, messages=SIMPLE):
        need_storage(self.server)
        for m in messages:
            harness.deliver(self.server, user, m)

    def test_capa(self):
        p = poplib.POP3(self.server.host, self.server.port('pop3'))
        capa = p.capa()
        for c in ('TOP', 'USER', 'UIDL', 'PIPELINING', 'RESP-CODES',
                  'AUTH-RESP-CODE', 'SASL'):
            self.assertIn(c, capa)
        self.assertNotIn('STLS', capa)
        self.assertNotIn('IMPLEMENTATION', capa)
        self.assertTrue(p.getwelcome().startswith(b'+OK'))
        self.assertNotIn(b'<', p.getwelcome())  # no APOP timestamp
        p.quit()

    def test_wrong_password(self):
        p = poplib.POP3(self.server.host, self.server.port('pop3'))
        p.user('alice')
        with self.assertRaises(poplib.error_proto) as cm:
            p.pass_('wrong')
        self.assertIn(b'[AUTH]', cm.exception.args[0])
        p.quit()

    def test_corpus_every_message(self):
        msgs = corpus_messages()
        self.assertGreater(len(msgs), 250)
        self.fill('alice', [m for _, m in msgs])
        wanted = {}
        for name, m in msgs:
            wanted.setdefault(expected_retr(m), []).append((name, m))
        p = self.pop('alice', 'secret')
        count, total = p.stat()
        self.assertEqual(count, len(msgs))
        self.assertEqual(total, sum(len(normalize(m)) for _, m in msgs))
        _, listing, _ = p.list()
        sizes = {int(a): int(b) for a, b in (x.split() for x in listing)}
        self.assertEqual(sorted(sizes), list(range(1, count + 1)))
        _, uidls, _ = p.uidl()
        uids = [x.split()[1] for x in uidls]
        self.assertEqual(len(set(uids)), count)
        for u in uids:
            self.assertRegex(u, rb'^\d+\.\d+$')
        for n in range(1, count + 1):
            _, lines, _ = p.retr(n)
            got = joined(lines)
            self.assertIn(got, wanted, 'message %d not in the corpus' % n)
            name, m = wanted[got].pop()
            if not wanted[got]:
                del wanted[got]
            self.assertEqual(sizes[n], len(normalize(m)), name)
            self.assertEqual(p.list(n).split()[2], b'%d' % sizes[n])
            for k in (0, 3):
                _, lines, _ = p.top(n, k)
                self.assertEqual(joined(lines), expected_top(m, k),
                                 '%s TOP %d' % (name, k))
        self.assertEqual(wanted, {})
        p.quit()

    def test_dele_quit_removes(self):
        self.fill('bob')
        p = self.pop('bob', 'hunter2')
        self.assertEqual(p.stat()[0], 3)
        gone = joined(p.top(2, 0)[1])
        p.dele(2)
        self.assertEqual(p.stat()[0], 2)
        with self.assertRaises(poplib.error_proto):
            p.retr(2)
        self.assertTrue(p.quit().startswith(b'+OK'))
        p = self.pop('bob', 'hunter2')
        self.assertEqual(p.stat()[0], 2)
        headers = [joined(p.top(i, 0)[1]) for i in (1, 2)]
        self.assertNotIn(gone, headers)
        p.quit()

    def test_dele_rset_keeps(self):
        self.fill('gina')
        p = self.pop('gina', 'pw7')
        p.dele(1)
        p.rset()
        p.quit()
        p = self.pop('gina', 'pw7')
        self.assertEqual(p.stat()[0], 3)
        p.quit()

    def test_dele_drop_keeps(self):
        self.fill('carol')
        p = self.pop('carol', 'pw3')
        p.dele(1)
        p.dele(2)
        drop(p)  # no QUIT: no UPDATE
        time.sleep(0.3)
        p = self.pop('carol', 'pw3')
        self.assertEqual(p.stat()[0], 3)
        p.quit()

    def test_in_use(self):
        self.fill('dave')
        p1 = self.pop('dave', 'pw4')
        p2 = poplib.POP3(self.server.host, self.server.port('pop3'))
        p2.user('dave')
        with self.assertRaises(poplib.error_proto) as cm:
            p2.pass_('pw4')
        self.assertIn(b'[IN-USE]', cm.exception.args[0])
        # the login is spent: the server hangs up
        self.assertEqual(p2.file.readline(), b'')
        # delivery is not locked out
        harness.deliver(self.server, 'dave', SIMPLE[0])
        self.assertEqual(p1.stat()[0], 3)  # the snapshot does not change
        p1.quit()
        p2 = self.pop('dave', 'pw4')
        self.assertEqual(p2.stat()[0], 4)
        p2.quit()

    def test_lock_released_on_drop(self):
        self.fill('frank')
        p1 = self.pop('frank', 'pw6')
        drop(p1)
        deadline = time.time() + 5
        while True:
            try:
                p2 = self.pop('frank', 'pw6')
                break
            except poplib.error_proto:
                self.assertLess(time.time(), deadline)
                time.sleep(0.1)
        p2.quit()

    def test_retr_marks_seen_and_uidl_stable(self):
        self.fill('erin')
        p = self.pop('erin', 'pw5')
        _, first, _ = p.uidl()
        p.retr(1)
        p.top(2, 0)
        p.quit()
        cur = os.path.join(self.server.maildir('erin'), 'cur')
        seen = [f for f in os.listdir(cur) if re.search(r':2,[A-Z]*S', f)]
        self.assertEqual(len(seen), 1)
        p = self.pop('erin', 'pw5')
        _, second, _ = p.uidl()
        self.assertEqual(first, second)
        p.quit()

    def test_uidl_survives_index_rebuild(self):
        """UIDVALIDITY.UID comes from the storage's uid list, which a
        lost or corrupt binary index does not touch."""
        self.fill('judy')
        p = self.pop('judy', 'pw10')
        _, before, _ = p.uidl()
        p.quit()
        index = os.path.join(self.server.maildir('judy'), 'posthorn-index')
        self.assertTrue(os.path.exists(index))
        with open(index, 'r+b') as f:  # corrupt it: it must be rebuilt
            f.seek(0)
            f.write(b'garbage!' * 8)
        p = self.pop('judy', 'pw10')
        _, after, _ = p.uidl()
        p.quit()
        self.assertEqual(after, before)
        os.unlink(index)
        p = self.pop('judy', 'pw10')
        _, again, _ = p.uidl()
        p.quit()
        self.assertEqual(again, before)

    def test_message_removed_by_another_session(self):
        """The snapshot keeps numbering a message another agent removed;
        RETR of it says so and the rest works."""
        self.fill('leo', SIMPLE[:2])
        p = self.pop('leo', 'pw11')
        md = self.server.maildir('leo')
        files = [os.path.join(md, d, f) for d in ('cur', 'new')
                 for f in os.listdir(os.path.join(md, d))]
        self.assertEqual(len(files), 2)
        os.unlink(files[0])
        answers = []
        for n in (1, 2):
            try:
                answers.append(p.retr(n)[0])
            except poplib.error_proto as e:
                answers.append(e.args[0])
                gone = n
        self.assertEqual(sorted(a[:3] for a in answers), [b'+OK', b'-ER'])
        self.assertIn(b'-ERR Message %d was removed by another session' %
                      gone, answers)
        p.dele(gone)
        self.assertTrue(p.quit().startswith(b'+OK'))
        p = self.pop('leo', 'pw11')
        self.assertEqual(p.stat()[0], 1)
        p.quit()

    def test_wire_form_retr_twice(self):
        """CR LF messages: the first RETR streams and learns the message
        needs no stuffing, later ones go out as a file range (sendfile);
        both must be the same bytes, and a dot line is still stuffed."""
        wire = b'From: w@example.org\r\nSubject: wire\r\n\r\n' + \
            b''.join(b'line %d of a wire-form message\r\n' % i
                     for i in range(5000))
        dotted = b'Subject: dots\r\n\r\n.leading dot\r\n..two\r\n'
        self.fill('ivan', [wire, dotted])
        for _ in range(2):
            p = self.pop('ivan', 'pw9')
            got = sorted(joined(p.retr(n)[1]) for n in (1, 2))
            again = sorted(joined(p.retr(n)[1]) for n in (1, 2))
            p.quit()
            self.assertEqual(got, sorted([wire, dotted]))
            self.assertEqual(again, got)
        # only the wire-form message took the file-range path
        self.server.wait_log(r'RETR \d+: %d octets queued as a file range'
                             % len(wire))
        self.assertNotIn('%d octets queued' % len(dotted),
                         self.server.log_text())

    def test_pipelining_1000(self):
        c = self.server.connect('pop3')
        self.assertTrue(c.line().startswith('+OK'))
        cmds = ['USER dave', 'PASS wrong']
        cmds += ['NOOP' if i % 2 else 'CAPA' for i in range(998)]
        c.send(''.join(x + '\r\n' for x in cmds))
        self.assertTrue(c.line().startswith('+OK'))
        self.assertTrue(c.line().startswith('-ERR [AUTH]'))
        for i in range(998):
            if i % 2:
                self.assertEqual(c.line(),
                                 '-ERR NOOP not valid in AUTHORIZATION state')
            else:
                self.assertEqual(c.line(), '+OK Capability list follows')
                while c.line() != '.':
                    pass
        self.assertEqual(c.cmd('QUIT'), '+OK Logging out')
        c.close()

    def test_pipelining_transaction(self):
        self.fill('hank')
        c = self.server.connect('pop3')
        c.line()
        lines = ['USER hank', 'PASS pw8'] + \
            ['LIST 1' if i % 2 else 'STAT' for i in range(998)] + ['QUIT']
        c.send(''.join(x + '\r\n' for x in lines))
        self.assertTrue(c.line().startswith('+OK'))
        self.assertTrue(c.line().startswith('+OK Logged in'))
        for i in range(998):
            line = c.line()
            if i % 2:
                self.assertRegex(line, r'^\+OK 1 \d+$')
            else:
                self.assertRegex(line, r'^\+OK \d+ \d+$')
        self.assertTrue(c.line().startswith('+OK Logging out'))
        self.assertTrue(c.is_closed())


class Pop3TwoWorkers(harness.TestCase):
    """The maildrop lock holds across worker processes."""
    listeners = {'pop3': dict(protocol='pop3', tls='none',
                              allow_plaintext='yes')}
    users = [('max', 'pw')]
    workers = 2

    def test_in_use_across_workers(self):
        need_storage(self.server)
        harness.deliver(self.server, 'max', SIMPLE[0])
        holder = poplib.POP3(self.server.host, self.server.port('pop3'))
        holder.user('max')
        holder.pass_('pw')
        for _ in range(8):  # connections spread over both workers
            p = poplib.POP3(self.server.host, self.server.port('pop3'))
            p.user('max')
            with self.assertRaises(poplib.error_proto) as cm:
                p.pass_('pw')
            self.assertIn(b'[IN-USE]', cm.exception.args[0])
            p.close()
        holder.quit()
        p = poplib.POP3(self.server.host, self.server.port('pop3'))
        p.user('max')
        p.pass_('pw')
        self.assertEqual(p.stat()[0], 1)
        p.quit()
        pids = set(re.findall(r'posthornd\[(\d+)\] worker \d+: .*login: '
                              r'user=max', self.server.log_text()))
        sys.stderr.write("workers used: %d\n" % len(pids))


class Pop3WorkerCrash(harness.TestCase):
    listeners = {'pop3': dict(protocol='pop3', tls='none',
                              allow_plaintext='yes')}
    users = [('kim', 'pw')]

    def test_lock_released_when_worker_dies(self):
        need_storage(self.server)
        harness.deliver(self.server, 'kim', SIMPLE[0])
        p = poplib.POP3(self.server.host, self.server.port('pop3'))
        p.user('kim')
        p.pass_('pw')
        p.dele(1)
        pid = int(re.findall(r'posthornd\[(\d+)\] worker 1:',
                             self.server.log_text())[-1])
        os.kill(pid, signal.SIGKILL)
        self.server.wait_log(r'worker 1 restarted')
        deadline = time.time() + 10
        while True:
            try:
                p2 = poplib.POP3(self.server.host, self.server.port('pop3'))
                break
            except OSError:
                self.assertLess(time.time(), deadline)
                time.sleep(0.1)
        p2.user('kim')
        p2.pass_('pw')
        self.assertEqual(p2.stat()[0], 1)  # the DELE died with the worker
        p2.quit()


if __name__ == '__main__':
    harness.main()
