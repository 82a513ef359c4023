"""The auth service's wire format (core/auth-proto.h) for integration
tests: requests, replies (with the session ticket) and the hello, plus a
client for the daemon's <state_dir>/auth.sock; and the session handoff
message a worker sends the master (core/handoff.h), to forge one."""

import os
import socket
import struct
import time

MSG_PLAIN, MSG_LOOKUP, MSG_CREDENTIALS = 1, 2, 3
MSG_SCRAM_FIRST, MSG_SCRAM_FINAL = 5, 6
MSG_REDEEM, MSG_ATTACH = 7, 8
MSG_EXTERNAL_VERIFY = 9
TICKET_LEN = 32
HANDOFF_MSG_SESSION, HANDOFF_TLS = 2, 0x1
MSG_REPLY, MSG_HELLO = 128, 129
PH_OK, PH_EAUTH, PH_EUNKNOWN, PH_ENOTSUP = 0, -14, -15, -12


def encode_request(rtype, rid, user, password=b'', rip='', service='test',
                   scheme='', lip='127.0.0.1', secured=0, cbind=b''):
    def s(v):
        v = v.encode() if isinstance(v, str) else v
        return struct.pack('=I', len(v)) + v + b'\0'
    payload = struct.pack('=I', secured) + s(service) + s(user) + \
        s(password) + s(scheme) + s(rip) + s(lip) + (s(cbind) if cbind
                                                      else b'')
    return struct.pack('=III', rtype, len(payload), rid) + payload


def encode_external(rid, listener, chain, authzid='', rip='',
                    service='imap4', lip='127.0.0.1', secured=1,
                    count=None):
    """An EXTERNAL_VERIFY datagram: the listener and the client's DER
    chain (leaf first); `count` overrides the certificate count (to
    forge malformed ones)."""
    payload = struct.pack('=I', secured) + _s(service) + _s(authzid) + \
        _s(b'') + _s(b'') + _s(rip) + _s(lip) + _s(listener) + \
        struct.pack('=I', len(chain) if count is None else count) + \
        b''.join(_s(c) for c in chain)
    return struct.pack('=III', MSG_EXTERNAL_VERIFY, len(payload), rid) + \
        payload


def decode_hello(data):
    rtype, plen, rid = struct.unpack_from('=III', data, 0)
    assert rtype == MSG_HELLO and plen == len(data) - 12 and rid == 0, data
    (n,) = struct.unpack_from('=I', data, 12)
    assert len(data) == 12 + 4 + n + 1 and data[-1] == 0, data
    return data[16:16 + n].decode()


def _s(v):
    v = v.encode() if isinstance(v, str) else v
    return struct.pack('=I', len(v)) + v + b'\0'


def encode_reply(rid, result, message='', record='', ticket=b'',
                 delay=0):
    """A REPLY datagram (for fuzz seeds and malformed-input tests)."""
    payload = struct.pack('=iI', result, delay) + _s(message) + \
        _s(record) + (_s(ticket) if ticket else b'')
    return struct.pack('=III', MSG_REPLY, len(payload), rid) + payload


def decode_reply(data):
    """The reply as a dict; 'ticket' is the session ticket (bytes) or
    None."""
    rtype, plen, rid = struct.unpack_from('=III', data, 0)
    assert rtype == MSG_REPLY and plen == len(data) - 12, data
    result, delay = struct.unpack_from('=iI', data, 12)
    pos = 20
    out = []
    for _ in range(2):
        (n,) = struct.unpack_from('=I', data, pos)
        out.append(data[pos + 4:pos + 4 + n].decode())
        assert data[pos + 4 + n] == 0
        pos += 5 + n
    ticket = None
    if pos < len(data):
        (n,) = struct.unpack_from('=I', data, pos)
        assert n == TICKET_LEN and result == PH_OK, data
        ticket = data[pos + 4:pos + 4 + n]
        assert data[pos + 4 + n] == 0
        pos += 5 + n
    assert pos == len(data)
    return dict(id=rid, result=result, delay_ms=delay, message=out[0],
                record=dict(kv.split('=', 1) for kv in out[1].split('\t')
                            if kv), ticket=ticket)


def encode_handoff(user_record, ticket=b'', listener='imap',
                   protocol='imap4', session_id='F0rg3d01',
                   peer_ip='127.0.0.1', local_ip='127.0.0.1', peer_port=40000,
                   local_port=143, flags=0, tls_version='', tls_cipher='',
                   state=b'imap4/1\na1', data=b''):
    """The session handoff datagram (core/handoff.h, type 2)."""
    payload = struct.pack('=III', flags, peer_port, local_port) + \
        b''.join(_s(v) for v in (listener, protocol, session_id, peer_ip,
                                 local_ip, tls_version, tls_cipher,
                                 user_record, ticket, state, data))
    return struct.pack('=III', HANDOFF_MSG_SESSION, len(payload), 0) + \
        payload


def connect(state_dir, timeout=10):
    """Connects to the service and returns (socket, hello schemes)."""
    path = os.path.join(state_dir, 'auth.sock')
    deadline = time.time() + timeout
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.05)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(timeout)
    s.connect(path)
    return s, decode_hello(s.recv(65536))


def ask(state_dir, rtype, user, password=b'', rip='', scheme='', rid=1):
    """One request on a fresh connection; returns the decoded reply."""
    s, _ = connect(state_dir)
    try:
        s.send(encode_request(rtype, rid, user, password, rip=rip,
                              scheme=scheme))
        return decode_reply(s.recv(65536))
    finally:
        s.close()


def scram(state_dir, user, password, rip='', mech='SCRAM-SHA-256',
          gs2='n,,', cb_data=b'', cbind=b''):
    """A SCRAM exchange run by the service (SCRAM_FIRST, SCRAM_FINAL), as
    a worker relays it. Returns (first reply, final reply or None, server
    signature verified)."""
    from sasltls import Scram
    client = Scram(user, password, gs2, cb_data)
    s, _ = connect(state_dir)
    try:
        s.send(encode_request(MSG_SCRAM_FIRST, 1, '', client.first(),
                              rip=rip, scheme=mech, cbind=cbind))
        first = decode_reply(s.recv(65536))
        if first['result'] != PH_OK:
            return first, None, False
        rec = first['record']
        s.send(encode_request(MSG_SCRAM_FINAL, 2, rec['scram_session'],
                              client.final(rec['scram_challenge'].encode()),
                              rip=rip, scheme=mech))
        final = decode_reply(s.recv(65536))
        ok = final['result'] == PH_OK and client.check_server_final(
            final['record']['scram_final'].encode())
        return first, final, ok
    finally:
        s.close()
