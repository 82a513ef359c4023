#!/usr/bin/env python3
"""IMAP4 settings ([imap4] and per listener): printed by posthornd -t with
their defaults, bad values reported with file:line, out-of-range values
clamped with a warning, and the behaviour they set: autologout before and
after login (also while idling, with keepalives), the parser limits
answered with the same BAD / NO [TOOBIG] as the default limits, bad
command count, per-listener overrides and SIGHUP reload."""
import os
import pwd
import re
import time
import unittest

import harness

BASE = ('[core]\nplugin_dir = %s\n[imap4]\n%s\n[listener.imap]\n'
        'protocol = imap4\nlisten = 127.0.0.1:11143\n%s\n')

DEFAULTS = [
    'autologout = 30m',
    'autologout_preauth = 30m',
    'idle_keepalive = 2m',
    'idle_poll_interval = 10s',
    'max_line_length = 64000',
    'max_literal_size = 64k',
    'max_command_size = 256k',
    'max_append_size = 1G',
    'max_nesting_depth = 32',
    'max_arguments = 10000',
    'max_bad_commands = 20',
    'max_response_size = 16M',
]

BYE_AUTOLOGOUT = '* BYE Autologout; idle for too long'


def check(plugin_line='', listener_line=''):
    return harness.check_config(BASE % (harness.PLUGIN_DIR, plugin_line,
                                        listener_line))


def section(text, name):
    """The key lines of [name] in posthornd -t output."""
    m = re.search(r'^\[%s\]\n(.*?)(?:\n\n|\Z)' % re.escape(name), text,
                  re.S | re.M)
    assert m, 'no [%s] in:\n%s' % (name, text)
    return m.group(1).splitlines()


def timed_lines(c, timeout):
    """(seconds since the call, line) until the server closes. Lower
    bounds on these allow for the client being scheduled late (ASan, a
    busy machine): they only need to tell the two autologout values
    apart."""
    start = time.time()
    out = []
    c.sock.settimeout(timeout)
    while True:
        line = c.line()
        if not line:
            return out
        out.append((time.time() - start, line))


class ImapConfigPrint(unittest.TestCase):
    def test_defaults_printed(self):
        rc, out, err, _ = check()
        self.assertEqual(rc, 0, err)
        self.assertEqual(section(out, 'imap4'), DEFAULTS)

    def test_values_printed(self):
        rc, out, err, _ = check('autologout = 45m\nmax_line_length = 8k')
        self.assertEqual(rc, 0, err)
        keys = section(out, 'imap4')
        self.assertIn('autologout = 45m', keys)
        self.assertIn('max_line_length = 8k', keys)
        self.assertIn('max_literal_size = 64k', keys)

    def test_listener_override_printed(self):
        rc, out, err, _ = check('', 'max_literal_size = 2M')
        self.assertEqual(rc, 0, err)
        self.assertIn('max_literal_size = 2M', section(out, 'listener.imap'))
        self.assertIn('max_literal_size = 64k', section(out, 'imap4'))

    def test_good_values(self):
        for line in ('autologout = 2h', 'autologout = 1d',
                     'autologout_preauth = 1m', 'idle_keepalive = 29m',
                     'idle_poll_interval = 2s', 'max_line_length = 8192',
                     'max_literal_size = 1M', 'max_command_size = 16M',
                     'max_append_size = 50M', 'max_nesting_depth = 8',
                     'max_arguments = 100000', 'max_bad_commands = 5',
                     'max_response_size = 64M'):
            rc, _, err, _ = check(line)
            self.assertEqual(rc, 0, '%s: %s' % (line, err))


class ImapConfigBad(unittest.TestCase):
    """Each value the core's type check refuses: exit 1, file:line."""

    def bad(self, line, key, where='plugin'):
        if where == 'plugin':
            rc, _, err, path = check(line)
            lineno = 4
        else:
            rc, _, err, path = check('', line)
            lineno = 8
        self.assertEqual(rc, 1, err)
        self.assertIn('%s:%d:' % (path, lineno), err)
        self.assertIn(key, err)
        return err

    def test_garbage_time(self):
        err = self.bad('autologout = soon', 'autologout')
        self.assertIn("bad value 'soon'", err)

    def test_garbage_size(self):
        self.bad('max_line_length = lots', 'max_line_length')

    def test_garbage_uint(self):
        self.bad('max_bad_commands = many', 'max_bad_commands')

    def test_bad_time_unit(self):
        self.bad('idle_keepalive = 5x', 'idle_keepalive')

    def test_fractional_time(self):
        self.bad('idle_poll_interval = 0.5s', 'idle_poll_interval')

    def test_size_unknown_suffix(self):
        self.bad('max_append_size = 1T', 'max_append_size')

    def test_negative_time(self):
        self.bad('autologout = -5m', 'autologout')

    def test_negative_size(self):
        self.bad('max_append_size = -1', 'max_append_size')

    def test_negative_uint(self):
        self.bad('max_nesting_depth = -1', 'max_nesting_depth')

    def test_empty_value(self):
        self.bad('autologout_preauth =', 'autologout_preauth')

    def test_uint_overflow(self):
        self.bad('max_arguments = 99999999999999999999999', 'max_arguments')

    def test_size_overflow(self):
        self.bad('max_command_size = 99999999999G', 'max_command_size')

    def test_unknown_key(self):
        err = self.bad('autologut = 30m', 'autologut')
        self.assertIn("unknown key 'autologut'", err)

    def test_bad_value_in_listener(self):
        self.bad('max_line_length = big', 'max_line_length',
                 where='listener')

    def test_unknown_key_in_listener(self):
        err = self.bad('idle_keepalives = 1m', 'idle_keepalives',
                       where='listener')
        self.assertIn('unknown key', err)


class ImapRangeClamped(harness.TestCase):
    """Values of the right type but out of range: the settings ABI gives
    the plugin no say at posthornd -t, so each is clamped to its nearest
    bound when the plugin loads it and the log says so."""
    listeners = {
        'imap': dict(protocol='imap4', tls='none', allow_plaintext='yes'),
        'fast': dict(protocol='imap4', tls='none', allow_plaintext='yes',
                     autologout_preauth='0'),
        'strict': dict(protocol='imap4', tls='none', allow_plaintext='yes',
                       max_bad_commands='0'),
    }
    extra = {'imap4': {'max_line_length': '0',
                       'max_nesting_depth': '100000',
                       'max_append_size': '100G', 'idle_keepalive': '2d',
                       'max_response_size': '0'}}

    def warned(self, text):
        self.server.wait_log(re.escape(text))

    def greet(self, name='imap'):
        c = self.server.connect(name)
        self.assertTrue(c.line().startswith('* OK'))
        return c

    def test_zero_line_length(self):
        self.warned('warning: imap4: [imap4] max_line_length = 0 is out of '
                    'range (1k .. 64k); using 1k')
        c = self.greet()
        # 1k is what applies: a 1500-byte line is too long, 1000 is not
        self.assertEqual(c.cmd('a NOOP ' + 'x' * 1500),
                         'a BAD [TOOBIG] Command line too long')
        self.assertEqual(c.cmd('b NOOP ' + 'x' * 1000),
                         'b BAD NOOP takes no arguments')
        c.close()

    def test_zero_bad_commands(self):
        self.warned('[listener.strict] max_bad_commands = 0 is out of range '
                    '(1 .. 1000); using 1')
        c = self.greet('strict')
        self.assertEqual(c.cmd('a BOGUS'), 'a BAD Unknown command')
        self.assertEqual(c.line(), '* BYE Too many invalid commands')
        self.assertTrue(c.is_closed())

    def test_zero_response_size(self):
        self.warned('[imap4] max_response_size = 0 is out of range '
                    '(1M .. 1G); using 1M')
        c = self.greet()
        self.assertEqual(c.cmd('a NOOP'), 'a OK NOOP completed.')
        c.close()

    def test_nesting_depth_too_large(self):
        self.warned('[imap4] max_nesting_depth = 100000 is out of range '
                    '(1 .. 256); using 256')
        c = self.greet()
        self.assertEqual(c.cmd('a NOOP ' + '(' * 257 + ')' * 257),
                         'a BAD [TOOBIG] Too deep nesting')
        self.assertEqual(c.cmd('b NOOP ' + '(' * 256 + ')' * 256),
                         'b BAD NOOP takes no arguments')
        c.close()

    def test_append_size_too_large(self):
        self.warned('[imap4] max_append_size = 100G is out of range '
                    '(1k .. 16G); using 16G')
        c = self.greet()
        self.assertTrue(c.cmd('a LOGIN alice secret').startswith('a OK'))
        self.assertEqual(c.cmd('b APPEND INBOX {%d}' % (17 << 30)),
                         'b NO [TOOBIG] Message too large')
        self.assertEqual(c.cmd('c NOOP'), 'c OK NOOP completed.')
        c.close()

    def test_keepalive_too_long(self):
        self.warned('[imap4] idle_keepalive = 2d is out of range '
                    '(1s .. 1d); using 1d')

    def test_zero_autologout_in_listener(self):
        c = self.greet('fast')
        start = time.time()
        self.assertEqual(c.line(), BYE_AUTOLOGOUT)
        self.assertTrue(c.is_closed())
        self.assertLess(time.time() - start, 10)
        # said once, naming the listener; inherited values not again
        self.warned('[listener.fast] autologout_preauth = 0 is out of '
                    'range (1s .. 1d); using 1s')
        log = self.server.log_text()
        self.assertNotIn('[listener.fast] max_line_length', log)
        self.assertEqual(log.count('[imap4] max_line_length = 0'), 1)


class ImapAutologout(harness.TestCase):
    """Short autologout values end to end."""
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    extra = {'imap4': {'autologout': '6s', 'autologout_preauth': '2s',
                       'idle_keepalive': '1s'}}

    def login(self):
        c = self.server.connect('imap', timeout=30)
        self.assertTrue(c.line().startswith('* OK'))
        self.assertTrue(c.cmd('a LOGIN alice secret').startswith('a OK'))
        return c

    def test_below_rfc_minimum_warned(self):
        self.server.wait_log(re.escape(
            '[imap4] autologout = 6s is below the 30 minutes RFC 3501 '
            '(5.4) requires'))

    def test_preauth(self):
        c = self.server.connect('imap', timeout=30)
        self.assertTrue(c.line().startswith('* OK'))
        lines = timed_lines(c, 30)
        self.assertEqual([l for _, l in lines], [BYE_AUTOLOGOUT])
        # autologout_preauth (2s), not autologout (6s)
        self.assertGreaterEqual(lines[0][0], 1)
        self.assertLess(lines[0][0], 5.5)

    def test_authenticated(self):
        c = self.login()
        lines = timed_lines(c, 30)
        self.assertEqual([l for _, l in lines], [BYE_AUTOLOGOUT])
        # the login re-armed the timer with autologout (6s), not 2s
        self.assertGreaterEqual(lines[0][0], 4)
        self.assertLess(lines[0][0], 12)
        self.server.wait_log('idle timeout after 6 s')

    def test_activity_postpones(self):
        c = self.login()
        for i in range(5):  # 7.5 s in all, more than autologout
            time.sleep(1.5)
            self.assertEqual(c.cmd('n%d NOOP' % i),
                             'n%d OK NOOP completed.' % i)
        self.assertEqual(c.cmd('z LOGOUT'), '* BYE Logging out')
        c.close()

    def test_idle(self):
        c = self.login()
        c.send('s SELECT INBOX\r\n')
        while not c.line().startswith('s '):
            pass
        c.send('i IDLE\r\n')
        self.assertEqual(c.line(), '+ idling')
        lines = timed_lines(c, 30)
        texts = [l for _, l in lines]
        # keepalives every idle_keepalive, then the autologout all the same
        self.assertEqual(texts[-1], BYE_AUTOLOGOUT)
        keepalives = [t for t, l in lines if l == '* OK Still here']
        self.assertEqual(len(keepalives), len(texts) - 1, texts)
        # one a second: 5 or 6 before the BYE at 6 s (arrival times
        # jitter on a busy machine; the count does not)
        self.assertGreaterEqual(len(keepalives), 4, texts)
        self.assertLessEqual(len(keepalives), 7, texts)
        self.assertGreaterEqual(keepalives[0], 0.5)
        self.assertGreaterEqual(lines[-1][0], 4)
        self.assertLess(lines[-1][0], 12)


class ImapAutologoutSession(harness.TestCase):
    """A system user's login moves to a per-user session process, which
    resumes the connection: there too the autologout after login is
    `autologout`, not `autologout_preauth`. Needs root (the master forks
    the session as the user) and a 'nobody' user."""
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    users = []
    extra = {'imap4': {'autologout': '5s', 'autologout_preauth': '2s'}}

    @classmethod
    def setUpClass(cls):
        if os.getuid() != 0:
            raise unittest.SkipTest('needs root (per-user sessions)')
        try:
            nobody = pwd.getpwnam('nobody')
        except KeyError:
            raise unittest.SkipTest('no "nobody" user')
        cls.server = harness.Server(cls.listeners, (), cls.extra, workers=1)
        try:
            home = os.path.join(cls.server.tmp, 'home', 'sysu')
            os.makedirs(home)
            for d in (home, cls.server.mail_root):
                os.chown(d, nobody.pw_uid, nobody.pw_gid)
            # a uid other than the workers' (root): a session process
            with open(cls.server.users_file, 'w') as f:
                f.write('sysu:{PLAIN}spw:%d:%d::%s::\n' %
                        (nobody.pw_uid, nobody.pw_gid, home))
            cls.server.start()
        except Exception:
            cls.server.cleanup()
            raise

    def test_session_autologout(self):
        c = self.server.connect('imap', timeout=30)
        self.assertTrue(c.line().startswith('* OK'))
        self.assertTrue(c.cmd('a LOGIN sysu spw').startswith('a OK'))
        lines = timed_lines(c, 30)
        self.assertEqual([l for _, l in lines], [BYE_AUTOLOGOUT])
        # autologout (5s), not autologout_preauth (2s)
        self.assertGreaterEqual(lines[0][0], 3.5)
        self.assertLess(lines[0][0], 12)
        self.server.wait_log(r'session: info: \S+ \S+: imap4: login: '
                             r'user=sysu')


class ImapLimits(harness.TestCase):
    """Lowered limits answered like the default ones."""
    listeners = {
        'imap': dict(protocol='imap4', tls='none', allow_plaintext='yes'),
        # the defaults again, per listener
        'wide': dict(protocol='imap4', tls='none', allow_plaintext='yes',
                     max_line_length='64000', max_literal_size='64k',
                     max_command_size='256k', max_bad_commands='20'),
    }
    extra = {'imap4': {'max_line_length': '2k', 'max_literal_size': '1k',
                       'max_command_size': '8k', 'max_append_size': '4k',
                       'max_bad_commands': '3', 'max_nesting_depth': '3',
                       'max_arguments': '20'}}

    def greet(self, name='imap'):
        c = self.server.connect(name, timeout=30)
        self.assertTrue(c.line().startswith('* OK'))
        return c

    def test_line_length(self):
        c = self.greet()
        self.assertEqual(c.cmd('a NOOP ' + 'x' * 2100),
                         'a BAD [TOOBIG] Command line too long')
        self.assertEqual(c.cmd('b NOOP'), 'b OK NOOP completed.')
        c.close()

    def test_line_length_default_same_reply(self):
        c = self.greet('wide')
        self.assertEqual(c.cmd('a NOOP ' + 'x' * 2100),
                         'a BAD NOOP takes no arguments')
        self.assertEqual(c.cmd('b NOOP ' + 'x' * 64100),
                         'b BAD [TOOBIG] Command line too long')
        c.close()

    def test_literal(self):
        c = self.greet()
        self.assertEqual(c.cmd('a LOGIN {1100}'),
                         'a BAD [TOOBIG] Literal too large')
        self.assertEqual(c.cmd('b LOGIN alice {1000}'), '+ OK')
        c.send('p' * 1000 + '\r\n')
        self.assertTrue(c.line().startswith('b NO '))
        c.close()

    def test_literal_default_same_reply(self):
        c = self.greet('wide')
        self.assertEqual(c.cmd('a LOGIN alice {1100}'), '+ OK')
        c.send('p' * 1100 + '\r\n')
        self.assertTrue(c.line().startswith('a NO '))
        self.assertEqual(c.cmd('b LOGIN {70000}'),
                         'b BAD [TOOBIG] Literal too large')
        c.close()

    def test_literal_nonsync(self):
        c = self.greet()
        c.send('a LOGIN {1100+}\r\n' + 'a' * 1100 + ' secret\r\n')
        self.assertEqual(c.line(), '* BYE [TOOBIG] Literal too large')
        self.assertTrue(c.is_closed())

    def test_command_size(self):
        c = self.greet()
        # ID's list of literals, 1000 bytes each: the ninth passes 8k
        c.send('a ID (')
        for i in range(9):
            reply = c.cmd('"k%d" {1000}' % i)
            if reply != '+ OK':
                break
            c.send('v' * 1000 + ' ')
        self.assertEqual(i, 8)
        self.assertEqual(reply, 'a BAD [TOOBIG] Literal too large')
        self.assertEqual(c.cmd('b NOOP'), 'b OK NOOP completed.')
        c.close()

    def test_append_size(self):
        c = self.greet()
        self.assertTrue(c.cmd('a LOGIN alice secret').startswith('a OK'))
        self.assertEqual(c.cmd('b APPEND INBOX {5000}'),
                         'b NO [TOOBIG] Message too large')
        msg = b'Subject: small\r\n\r\n' + b'x' * 3000 + b'\r\n'
        self.assertEqual(c.cmd('c APPEND INBOX {%d}' % len(msg)), '+ OK')
        c.send(msg + b'\r\n')
        self.assertTrue(c.line().startswith('c OK [APPENDUID '))
        c.close()

    def test_bad_commands(self):
        c = self.greet()
        self.assertEqual(c.cmd('a BOGUS'), 'a BAD Unknown command')
        self.assertEqual(c.cmd('b BOGUS'), 'b BAD Unknown command')
        self.assertEqual(c.cmd('c NOOP'), 'c OK NOOP completed.')
        self.assertEqual(c.cmd('d BOGUS'), 'd BAD Unknown command')
        self.assertEqual(c.cmd('e BOGUS'), 'e BAD Unknown command')
        self.assertEqual(c.cmd('f BOGUS'), 'f BAD Unknown command')
        self.assertEqual(c.line(), '* BYE Too many invalid commands')
        self.assertTrue(c.is_closed())

    def test_bad_commands_default(self):
        c = self.greet('wide')
        for i in range(19):
            self.assertEqual(c.cmd('a%d BOGUS' % i), 'a%d BAD Unknown command'
                             % i)
        self.assertEqual(c.cmd('z NOOP'), 'z OK NOOP completed.')
        c.close()

    def test_nesting_depth(self):
        c = self.greet()
        self.assertEqual(c.cmd('a NOOP ((((x))))'),
                         'a BAD [TOOBIG] Too deep nesting')
        self.assertEqual(c.cmd('b NOOP (((x)))'),
                         'b BAD NOOP takes no arguments')
        c.close()

    def test_arguments(self):
        c = self.greet()
        self.assertEqual(c.cmd('a NOOP' + ' x' * 25),
                         'a BAD [TOOBIG] Too many arguments')
        self.assertEqual(c.cmd('b NOOP' + ' x' * 10),
                         'b BAD NOOP takes no arguments')
        c.close()


class ImapReload(harness.TestCase):
    """SIGHUP: new connections get the new values; connections already
    open keep theirs (their worker runs the old configuration until they
    close), as with pop3."""
    listeners = {'imap': dict(protocol='imap4', tls='none',
                              allow_plaintext='yes')}
    extra = {'imap4': {}}

    def test_reload(self):
        old = self.server.connect('imap', timeout=30)
        self.assertTrue(old.line().startswith('* OK'))
        self.server.extra['imap4']['autologout_preauth'] = '2s'
        self.server.reload()
        self.server.wait_log('configuration generation 2 running')
        self.server.wait_log('reload: no longer accepting')
        new = self.server.connect('imap', timeout=30)
        self.assertTrue(new.line().startswith('* OK'))
        self.assertEqual([l for _, l in timed_lines(new, 30)],
                         [BYE_AUTOLOGOUT])
        # the old connection was silent just as long and is still there
        self.assertEqual(old.cmd('a NOOP'), 'a OK NOOP completed.')
        self.assertEqual(old.cmd('b LOGOUT'), '* BYE Logging out')
        old.close()

    def test_reload_with_bad_value_keeps_running(self):
        c = self.server.connect('imap', timeout=30)
        self.assertTrue(c.line().startswith('* OK'))
        # logged in: a shorter autologout_preauth left by test_reload
        # does not apply
        self.assertTrue(c.cmd('a LOGIN alice secret').startswith('a OK'))
        self.server.extra['imap4']['max_line_length'] = 'huge'
        try:
            self.server.reload()
            m = self.server.wait_log(
                r'reload failed, keeping the running configuration: '
                r'(\S+):(\d+): \[imap4\] max_line_length')
        finally:
            del self.server.extra['imap4']['max_line_length']
            self.server.write_config()
        self.assertEqual(m.group(1), self.server.config_path)
        self.assertEqual(c.cmd('b NOOP'), 'b OK NOOP completed.')
        c.close()


if __name__ == '__main__':
    harness.main()
