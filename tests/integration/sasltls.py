"""Client side of the TLS-bound SASL tests: a SCRAM-SHA-256(-PLUS) client
(RFC 5802/7677) over IMAP AUTHENTICATE or POP3 AUTH, the RFC 5929
tls-server-end-point data of a Python TLS socket, and `openssl s_client`
driven line by line for tls-exporter (RFC 9266), whose keying material
Python's ssl module cannot export."""

import base64
import hashlib
import hmac
import os
import re
import select
import subprocess
import time


def end_point_data(sslsock):
    """RFC 5929 4.1 for the harness's RSA/SHA-256 certificate."""
    return hashlib.sha256(sslsock.getpeercert(binary_form=True)).digest()


class Scram:
    """One SCRAM-SHA-256 client exchange; feed it the server's decoded
    challenges."""

    def __init__(self, user, password, gs2, cb_data=b''):
        self.user, self.password = user, password
        self.gs2 = gs2.encode()
        self.cb_data = cb_data
        self.cnonce = base64.b64encode(os.urandom(18)).decode()
        self.bare = 'n=%s,r=%s' % (user, self.cnonce)
        self.server_sig = None

    def first(self):
        return self.gs2 + self.bare.encode()

    def final(self, server_first):
        server_first = server_first.decode()
        attrs = dict(a.split('=', 1) for a in server_first.split(','))
        assert attrs['r'].startswith(self.cnonce)
        salted = hashlib.pbkdf2_hmac('sha256', self.password.encode(),
                                     base64.b64decode(attrs['s']),
                                     int(attrs['i']))
        ckey = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
        stored = hashlib.sha256(ckey).digest()
        c = base64.b64encode(self.gs2 + self.cb_data).decode()
        without_proof = 'c=%s,r=%s' % (c, attrs['r'])
        auth = ','.join((self.bare, server_first, without_proof)).encode()
        sig = hmac.new(stored, auth, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(ckey, sig))
        skey = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
        self.server_sig = hmac.new(skey, auth, hashlib.sha256).digest()
        return ('%s,p=%s' % (without_proof,
                             base64.b64encode(proof).decode())).encode()

    def check_server_final(self, data):
        return data.decode() == 'v=' + base64.b64encode(
            self.server_sig).decode()


def pop3_sasl_mechs(c):
    """The mechanisms of the SASL line of a POP3 CAPA answer."""
    c.send('CAPA\r\n')
    lines = []
    while True:
        ln = c.line()
        if ln in ('.', ''):
            break
        lines.append(ln)
    sasl = [ln for ln in lines if ln.startswith('SASL')]
    return sasl[0].split()[1:] if sasl else []


def b64(data):
    return base64.b64encode(data).decode()


def run_scram(send, line, proto, mech, scram):
    """Drives the exchange through `send(text)` and `line()` (next
    protocol line). Returns (ok, final line, server signature verified)."""
    if proto == 'imap':
        send('a1 AUTHENTICATE %s\r\n' % mech)
    else:
        send('AUTH %s\r\n' % mech)
    verified = False
    step = 0
    while True:
        ln = line()
        if not ln.startswith('+'):
            ok = ln.startswith('a1 OK') if proto == 'imap' else \
                ln.startswith('+OK')
            return ok, ln, verified
        if proto == 'pop3' and ln.startswith('+OK'):
            return True, ln, verified
        challenge = base64.b64decode(ln[2:].strip())
        if step == 0:
            send(b64(scram.first()) + '\r\n')
        elif step == 1:
            send(b64(scram.final(challenge)) + '\r\n')
        else:
            verified = scram.check_server_final(challenge)
            send('\r\n')
        step += 1


class SClient:
    """openssl s_client as a line client; `keying` is the tls-exporter
    material it printed (bytes) or None."""

    def __init__(self, host, port, ca_file, starttls=None, extra=()):
        args = ['openssl', 's_client', '-connect', '%s:%d' % (host, port),
                '-servername', 'localhost', '-CAfile', ca_file,
                '-verify_return_error', '-nocommands',
                '-keymatexport', 'EXPORTER-Channel-Binding',
                '-keymatexportlen', '32'] + list(extra)
        if starttls:
            args += ['-starttls', starttls]
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        self.buf = b''
        self.keying = None
        # the session summary ends with the keying material
        while self.keying is None:
            ln = self.raw_line()
            m = re.match(r'\s*Keying material: ([0-9A-Fa-f]+)', ln)
            if m:
                self.keying = bytes.fromhex(m.group(1))

    def raw_line(self, timeout=10):
        deadline = time.time() + timeout
        while b'\n' not in self.buf:
            left = deadline - time.time()
            r, _, _ = select.select([self.p.stdout], [], [], max(left, 0))
            if not r:
                raise AssertionError('s_client: no line; got %r' % self.buf)
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError('s_client ended; got %r' % self.buf)
            self.buf += chunk
        ln, self.buf = self.buf.split(b'\n', 1)
        return ln.rstrip(b'\r').decode('utf-8', 'replace')

    def line(self):
        """Next protocol line, skipping s_client's own session output."""
        while True:
            ln = self.raw_line()
            if re.match(r'(\* |\+|a\d |-ERR)', ln):
                return ln

    def send(self, text):
        self.p.stdin.write(text.encode() if isinstance(text, str) else text)
        self.p.stdin.flush()

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        self.p.kill()
        self.p.wait()
