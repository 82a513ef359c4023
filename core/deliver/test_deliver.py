"""posthorn-deliver: exit codes (sysexits), folders, user lookup through
the auth chain, concurrency. Runs build/bin/posthorn-deliver for real
against a temporary config with storage-maildir and auth-passwdfile."""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
from concurrent.futures import ThreadPoolExecutor

import harness

DELIVER = os.path.join(harness.BUILD_DIR, 'bin', 'posthorn-deliver')
MSG = b'From: a@example.org\nSubject: hello\n\nbody\n'


class Deliver(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='ph-deliver-')
        self.mail = os.path.join(self.dir, 'mail')
        self.users = os.path.join(self.dir, 'users')
        with open(self.users, 'w') as f:
            f.write('alice:{PLAIN}secret::::::\n')
            f.write('bob:{PLAIN}x:::::: mail=%s/bobmail\n' % self.dir)
        self.config = os.path.join(self.dir, 'posthorn.ini')
        self.write_config()

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_config(self, root=None, auth=True):
        sections = {
            'core': {'plugin_dir': harness.PLUGIN_DIR,
                     'state_dir': self.dir, 'log_level': 'info'},
            'storage': {'plugin': 'storage-maildir'},
            'storage-maildir': {
                'root': root or self.mail + '/%u/Maildir',
                'special_use_folders': 'Sent:\\Sent', 'fsync': 'yes'},
        }
        if auth:
            sections['auth'] = {'plugins': 'auth-passwdfile'}
            sections['auth-passwdfile'] = {'path': self.users}
        with open(self.config, 'w') as f:
            f.write(harness.render_ini(sections))

    def run_deliver(self, *args, data=MSG):
        return subprocess.run([DELIVER, '-c', self.config] + list(args),
                              input=data, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)

    def cur(self, user='alice', folder=None):
        path = os.path.join(self.mail, user, 'Maildir')
        if folder:
            path = os.path.join(path, '.' + folder)
        path = os.path.join(path, 'cur')
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    def read(self, name, user='alice', folder=None):
        path = os.path.join(self.mail, user, 'Maildir')
        if folder:
            path = os.path.join(path, '.' + folder)
        with open(os.path.join(path, 'cur', name), 'rb') as f:
            return f.read()

    def test_delivers_to_inbox(self):
        r = self.run_deliver('alice')
        self.assertEqual(r.returncode, 0, r.stderr)
        files = self.cur()
        self.assertEqual(len(files), 1)
        self.assertEqual(self.read(files[0]), MSG)
        # RFC822.SIZE (CRLF) and the physical size in the name.
        self.assertIn(',S=%d,W=%d:2,' % (len(MSG), len(MSG) + 4), files[0])
        self.assertIn(b'uid 1', r.stderr)
        st = os.stat(os.path.join(self.mail, 'alice', 'Maildir'))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)

    def test_uids_ascend(self):
        for i in range(3):
            r = self.run_deliver('alice')
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b'uid %d' % (i + 1), r.stderr)

    def test_mbox_from_line_dropped(self):
        r = self.run_deliver('alice', data=b'From a@b Mon Jan 1 00:00:00 2024\n'
                             + MSG)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.read(self.cur()[0]), MSG)

    def test_folder(self):
        r = self.run_deliver('-m', 'Sent', 'alice')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.cur(folder='Sent')), 1)
        self.assertEqual(self.cur(), [])

    def test_missing_folder_falls_back_to_inbox(self):
        r = self.run_deliver('-m', 'Nope', 'alice')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.cur()), 1)

    def test_bad_folder_name_falls_back_to_inbox(self):
        r = self.run_deliver('-m', '../../etc', 'alice')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.cur()), 1)

    def test_unknown_user(self):
        r = self.run_deliver('mallory')
        self.assertEqual(r.returncode, 67, r.stderr)  # EX_NOUSER
        self.assertFalse(os.path.exists(os.path.join(self.mail, 'mallory')))

    def test_mail_field_from_record(self):
        r = self.run_deliver('bob')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(os.listdir(os.path.join(self.dir, 'bobmail',
                                                     'cur'))), 1)

    def test_maildir_option(self):
        target = os.path.join(self.dir, 'direct')
        r = self.run_deliver('-d', target, 'whoever')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(os.listdir(os.path.join(target, 'cur'))), 1)

    def test_usage(self):
        r = self.run_deliver()
        self.assertEqual(r.returncode, 64)  # EX_USAGE
        r = self.run_deliver('-x', 'alice')
        self.assertEqual(r.returncode, 64)

    def test_bad_config(self):
        with open(self.config, 'a') as f:
            f.write('[core]\nbogus_key = 1\n')
        r = self.run_deliver('alice')
        self.assertEqual(r.returncode, 78, r.stderr)  # EX_CONFIG
        r = subprocess.run([DELIVER, '-c', self.dir + '/missing.ini',
                            'alice'], input=MSG, capture_output=True)
        self.assertEqual(r.returncode, 78)

    @unittest.skipIf(os.geteuid() == 0, 'root ignores permissions')
    def test_unwritable_root_is_tempfail(self):
        os.makedirs(self.mail, mode=0o500)
        r = self.run_deliver('alice')
        self.assertEqual(r.returncode, 75, r.stderr)  # EX_TEMPFAIL

    def test_uncreatable_root_is_tempfail(self):
        # A root under a regular file cannot be created: temporary.
        blocker = os.path.join(self.dir, 'file')
        open(blocker, 'w').close()
        self.write_config(root=blocker + '/%u')
        r = self.run_deliver('alice')
        self.assertEqual(r.returncode, 75, r.stderr)

    def test_half_created_maildir(self):
        # another delivery is creating the Maildir: cur/ exists, tmp/ not
        # yet; this one completes it instead of failing with a tempfail
        os.makedirs(os.path.join(self.mail, 'alice', 'Maildir', 'cur'))
        r = self.run_deliver('alice')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.cur()), 1)

    def test_concurrent(self):
        with ThreadPoolExecutor(8) as ex:
            runs = list(ex.map(lambda _: self.run_deliver('alice'),
                               range(16)))
        self.assertEqual([r.returncode for r in runs], [0] * 16,
                         b''.join(r.stderr for r in runs).decode())
        self.assertEqual(len(self.cur()), 16)
        with open(os.path.join(self.mail, 'alice', 'Maildir',
                               'posthorn-uidlist')) as f:
            uids = [int(line.split()[0]) for line in f.readlines()[1:]]
        self.assertEqual(sorted(uids), list(range(1, 17)))


if __name__ == '__main__':
    harness.main()
