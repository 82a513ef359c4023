"""Process model: graceful SIGTERM, worker restart after kill -9, SIGHUP
reload keeping established connections, failed reload keeping the old
configuration."""
import os
import re
import signal
import time

import harness

harness.TestCase.sanitizer_clean = True


def worker_pids(server):
    """Live worker pids from the log ("posthornd[PID] worker N:")."""
    pids = []
    for pid in set(re.findall(r'posthornd\[(\d+)\] worker \d+: info: '
                              r'serving', server.log_text())):
        try:
            os.kill(int(pid), 0)
            pids.append(int(pid))
        except ProcessLookupError:
            pass
    return pids


class GracefulStop(harness.TestCase):
    listeners = {'tp': dict(protocol='testproto', tls='none')}

    def test_sigterm_goodbye_and_exit_0(self):
        c = self.server.connect('tp')
        self.assertEqual(c.line(), '+OK testproto ready')
        self.assertEqual(c.cmd('hello'), 'echo: hello')
        self.server.signal(signal.SIGTERM)
        self.assertEqual(c.line(), '-ERR shutting down')
        self.assertTrue(c.is_closed())
        self.assertEqual(self.server.proc.wait(15), 0)
        log = self.server.log_text()
        self.assertIn('SIGTERM: stopping', log)
        self.assertIn('disconnect: reason=shutdown', log)
        self.assertIn('master: info: stopped', log)


class Restart(harness.TestCase):
    listeners = {'tp': dict(protocol='testproto', tls='none',
                            allow_plaintext='yes')}
    workers = 2

    def test_kill_9_worker_is_restarted(self):
        self.server.wait_log(r'(worker \d: info: serving[\s\S]*){2}')
        pids = worker_pids(self.server)
        self.assertEqual(len(pids), 2)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
            self.server.wait_log(r'worker \d \(pid %d\) killed by signal 9'
                                 % pid)
        self.server.wait_log(r'(worker \d restarted \(pid \d+\)[\s\S]*){2}')
        deadline = time.time() + 10
        while len(worker_pids(self.server)) < 2 and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual(len(worker_pids(self.server)), 2)
        self.assertFalse(set(pids) & set(worker_pids(self.server)))
        # The daemon keeps serving.
        for _ in range(4):
            c = self.server.connect('tp')
            self.assertEqual(c.line(), '+OK testproto ready')
            self.assertEqual(c.cmd('still here'), 'echo: still here')
            if harness.plugin_exists('auth-passwdfile'):
                # Both workers reach the auth service, the re-spawned one
                # through <state_dir>/auth.sock.
                self.assertEqual(c.cmd('LOGIN alice secret'),
                                 '+OK user=alice')
            c.close()


class Reload(harness.TestCase):
    listeners = {'e': dict(protocol='echo', tls='none')}
    extra = {'echo': {'greeting': 'generation one'}}

    def test_reload_keeps_connections(self):
        old = self.server.connect('e')
        self.assertEqual(old.line(), '+ generation one')
        self.server.extra['echo']['greeting'] = 'generation two'
        # A new listener appears with the reload.
        self.server.listeners['tp'] = dict(protocol='testproto', tls='none')
        self.server.reload()
        self.server.wait_log('configuration generation 2 running')
        # Until the old worker handles its signal it may still accept:
        # wait for its own word that it stopped.
        self.server.wait_log('reload: no longer accepting')
        self.server.wait_ports()
        new = self.server.connect('e')
        self.assertEqual(new.line(), '+ generation two')
        tp = self.server.connect('tp')
        self.assertEqual(tp.line(), '+OK testproto ready')
        # The old connection still works, served by the old worker.
        self.assertEqual(old.cmd('old one'), 'echo: old one')
        self.assertEqual(new.cmd('new one'), 'echo: new one')
        self.assertEqual(old.cmd('QUIT'), '+ bye')
        self.assertTrue(old.is_closed())
        # With its last connection gone the old generation retires.
        self.server.wait_log('configuration generation 1 retired')
        self.assertEqual(new.cmd('after retire'), 'echo: after retire')
        new.close()
        tp.close()

    def test_reload_with_broken_config_keeps_running(self):
        c = self.server.connect('e')
        greeting = c.line()
        with open(self.server.config_path, 'a') as f:
            f.write('\n[core]\nbogus = 1\n')
        lines = open(self.server.config_path).read().count('\n')
        self.server.signal(signal.SIGHUP)
        m = self.server.wait_log(r'reload failed, keeping the running '
                                 r'configuration: (\S+):(\d+): (.*)')
        self.assertEqual(m.group(1), self.server.config_path)
        self.assertIn('duplicate section [core]', m.group(3))
        self.assertEqual(int(m.group(2)), lines - 1)
        self.assertEqual(c.cmd('alive'), 'echo: alive')
        d = self.server.connect('e')
        self.assertEqual(d.line(), greeting)
        c.close()
        d.close()
        self.server.write_config()



def _nobody():
    try:
        import pwd
        return pwd.getpwnam('nobody')
    except KeyError:
        return None


@harness.unittest.skipUnless(os.getuid() == 0 and _nobody() is not None,
                             'needs root and a "nobody" user')
class DropPrivileges(harness.TestCase):
    listeners = {'tp': dict(protocol='testproto', tls='implicit',
                            allow_plaintext='yes')}
    core = {'user': 'nobody'}

    def test_workers_run_as_user(self):
        nobody = _nobody()
        self.server.wait_log(r'worker 1: info: serving')
        pids = worker_pids(self.server)
        self.assertEqual(len(pids), 1)
        with open('/proc/%d/status' % pids[0]) as f:
            status = f.read()
        uids = re.search(r'^Uid:\s+(.*)$', status, re.M).group(1).split()
        gids = re.search(r'^Gid:\s+(.*)$', status, re.M).group(1).split()
        self.assertEqual(set(uids), {str(nobody.pw_uid)})
        self.assertEqual(set(gids), {str(nobody.pw_gid)})
        self.assertRegex(status, r'NoNewPrivs:\s+1')
        # TLS keys were loaded before the drop; serving works.
        c = self.server.connect_tls('tp')
        self.assertEqual(c.line(), '+OK testproto ready')
        if harness.plugin_exists('auth-passwdfile'):
            self.assertEqual(c.cmd('LOGIN alice secret'), '+OK user=alice')
        c.close()
        # A re-spawned unprivileged worker still reaches the auth socket.
        os.kill(pids[0], signal.SIGKILL)
        self.server.wait_log(r'worker 1 restarted')
        self.server.wait_log(r'(worker 1: info: serving[\s\S]*){2}')
        c = self.server.connect_tls('tp')
        self.assertEqual(c.line(), '+OK testproto ready')
        if harness.plugin_exists('auth-passwdfile'):
            self.assertEqual(c.cmd('LOGIN alice secret'), '+OK user=alice')
        c.close()



@harness.unittest.skipUnless(harness.plugin_exists('auth-passwdfile'),
                             'auth-passwdfile plugin not built')
class AuthRestart(harness.TestCase):
    listeners = {'tp': dict(protocol='testproto', tls='none',
                            allow_plaintext='yes')}

    def test_auth_service_restarted(self):
        c = self.server.connect('tp')
        c.line()
        self.assertEqual(c.cmd('LOGIN alice secret'), '+OK user=alice')
        pid = int(self.server.wait_log(r'posthornd\[(\d+)\] auth: ').group(1))
        os.kill(pid, signal.SIGKILL)
        self.server.wait_log(r'auth service \(pid %d\) killed by signal 9'
                             % pid)
        self.server.wait_log(r'auth service restarted \(pid \d+\)')
        # The worker reconnects through <state_dir>/auth.sock; the first
        # request may still meet the dead socket.
        deadline = time.time() + 10
        answer = None
        c.close()
        while time.time() < deadline:
            c = self.server.connect('tp')
            c.line()
            answer = c.cmd('LOGIN alice secret')
            c.close()
            if answer == '+OK user=alice':
                break
            time.sleep(0.5)
        self.assertEqual(answer, '+OK user=alice')


class ReloadRemovesListener(harness.TestCase):
    listeners = {'a': dict(protocol='echo', tls='none'),
                 'b': dict(protocol='echo', tls='none')}

    def test_removed_listener_stops_listening(self):
        port_b = self.server.port('b')
        # Held open so the old generation stays alive meanwhile.
        held = self.server.connect('a')
        self.assertEqual(held.line(), '+ echo ready')
        del self.server.listeners['b']
        self.server.reload()
        self.server.wait_log('configuration generation 2 running')
        deadline = time.time() + 5
        refused = False
        while time.time() < deadline and not refused:
            try:
                s = harness.socket.create_connection(
                    (self.server.host, port_b), 1)
                s.close()
                time.sleep(0.1)
            except ConnectionRefusedError:
                refused = True
        self.assertTrue(refused)
        self.assertEqual(held.cmd('old'), 'echo: old')
        held.close()
        c = self.server.connect('a')
        self.assertEqual(c.line(), '+ echo ready')
        c.close()
        self.server.ports.pop('b', None)


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


class DescriptorExhaustion(harness.TestCase):
    listeners = {'tp': dict(protocol='testproto', tls='none')}

    def test_emfile_pauses_accept_then_recovers(self):
        import resource
        import socket
        pid = worker_pids(self.server)[0]
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (64, 64))
        socks = []
        try:
            for _ in range(100):
                socks.append(socket.create_connection(
                    (self.server.host, self.server.port('tp')), timeout=10))
            time.sleep(0.5)
            # The backlog stays readable: a loop that retries at once
            # would burn a whole CPU here.
            before = cpu_seconds(pid)
            time.sleep(1.5)
            self.assertLess(cpu_seconds(pid) - before, 0.5)
            self.server.wait_log(r'pausing accept')
            # Logged per episode, not per retry.
            self.assertLessEqual(
                len(re.findall('pausing accept', self.server.log_text())), 3)
            for s in socks[:50]:
                s.close()
            c = harness.LineClient(socks[-1])
            self.assertEqual(c.line(), '+OK testproto ready')
            self.assertEqual(c.cmd('ping'), 'echo: ping')
            self.server.wait_log(r'accept: resumed')
        finally:
            for s in socks:
                s.close()


if __name__ == '__main__':
    harness.main()
