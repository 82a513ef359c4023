"""The harness itself: port collisions are retried, deliver() writes like
an MTA, wait_idle() sees the readiness probes."""
import os
import socket

import harness

harness.TestCase.sanitizer_clean = True


class HarnessSelf(harness.unittest.TestCase):

    def test_port_taken_is_replaced(self):
        server = harness.Server({'e': dict(protocol='echo', tls='none')},
                                storage=False, auth=False)
        taken = server.port('e')
        blocker = socket.socket()
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind((harness.HOST, taken))
        blocker.listen(1)
        try:
            server.start()
            self.assertNotEqual(server.port('e'), taken)
            self.assertIn('Address already in use', server.log_text())
            c = server.connect('e')
            self.assertEqual(c.line(), '+ echo ready')
            c.close()
        finally:
            blocker.close()
            server.cleanup()

    def test_free_port_never_repeats(self):
        # The kernel offers the same free port to consecutive bind(0)
        # calls now and then; two listeners of one server got one port.
        ports = [harness.free_port() for _ in range(300)]
        self.assertEqual(len(set(ports)), len(ports))

    def test_free_port_reserved_across_processes(self):
        mine = harness.free_port()
        code = ('import sys; sys.path.insert(0, %r); import harness, fcntl\n'
                'print(harness._reserve_port(%d))' %
                (os.path.dirname(os.path.abspath(harness.__file__)), mine))
        out = harness.subprocess.run([harness.sys.executable, '-c', code],
                                     capture_output=True, text=True,
                                     check=True).stdout
        self.assertEqual(out.strip(), 'False')

    def test_deliver(self):
        d = harness.tempfile.mkdtemp()
        path = harness.deliver(os.path.join(d, 'Maildir'), 'x', b'Subject: a\n')
        self.assertTrue(path.startswith(os.path.join(d, 'Maildir', 'new')))
        with open(path, 'rb') as f:
            self.assertEqual(f.read(), b'Subject: a\n')
        self.assertEqual(os.listdir(os.path.join(d, 'Maildir', 'tmp')), [])
        sub = harness.deliver(os.path.join(d, 'Maildir'), 'x', b'b',
                              folder='a/b')
        self.assertIn(os.path.join('Maildir', '.a.b', 'new'), sub)
        harness.shutil.rmtree(d)


class Probes(harness.TestCase):
    listeners = {'e': dict(protocol='echo', tls='none'),
                 's': dict(protocol='echo', tls='implicit')}

    def test_wait_idle(self):
        self.server.wait_idle()
        self.assertGreaterEqual(self.server.probes, 2)
        self.assertGreaterEqual(
            self.server.log_text().count(': disconnect: '), 2)


if __name__ == '__main__':
    harness.main()
