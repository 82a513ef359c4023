#!/usr/bin/env python3
"""Generate a Maildir of N messages from the real messages in tests/corpus/.

Every message is a corpus message (well-formed folders only) under a fresh
set of trace headers like an MTA adds (Return-Path, Delivered-To, two
Received, a DKIM-Signature, a unique Message-ID and Date), so a message is
about 1.5 KB bigger than its corpus source, as on a real server.  A quarter of
them are wrapped in multipart/mixed with a base64 attachment whose size is
log-normal (median 40 KB, capped at 2 MB), which gives the heavy tail of
real mailboxes (median ~5 KB, mean ~25 KB).  Older messages sit in cur/ with
flags (80% seen, 5% flagged, 10% answered), the newest 2% in new/.

With --report-rate R, a fraction R of the messages (chosen by their own
random stream, so the rest of the Maildir is the same as without it) get
the subject "Quarterly report NNN" instead of their own: a known rate of
subjects containing "report" for SEARCH benchmarks (corpus subjects may
add a few more). The count is printed and written to OUT.json.

usage: mkmaildir.py --corpus DIR --out MAILDIR -n N [--seed S]
                    [--report-rate R]
"""
import argparse
import base64
import email.utils
import json
import math
import os
import random
import sys
import time

SKIP_DIRS = ('error_emails', 'low-quality')


def corpus_messages(root):
    msgs = []
    for dirpath, dirs, files in os.walk(root):
        if any(s in dirpath for s in SKIP_DIRS):
            continue
        for f in sorted(files):
            if f.endswith(('.md', '.mbox')):
                continue
            data = open(os.path.join(dirpath, f), 'rb').read()
            if len(data) < 64 or b'\n\n' not in data.replace(b'\r\n', b'\n'):
                continue
            msgs.append(data.replace(b'\r\n', b'\n'))
    return msgs


def trace_headers(rng, i, when):
    host = 'mx%d.example.net' % rng.randint(1, 9)
    date = email.utils.formatdate(when)
    sig = base64.b64encode(rng.randbytes(192)).decode()
    return ('Return-Path: <sender%d@example.org>\n'
            'Delivered-To: bench@example.com\n'
            'Received: from %s (%s [192.0.2.%d])\n'
            '\tby mail.example.com (Postfix) with ESMTPS id %08X\n'
            '\tfor <bench@example.com>; %s\n'
            'Received: from localhost (localhost [127.0.0.1])\n'
            '\tby %s (Postfix) with ESMTP id %08X; %s\n'
            'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; '
            'd=example.org; s=2026;\n\th=from:to:subject:date:message-id;\n'
            '\tb=%s\n'
            'X-Bench-Message-ID: <bench.%d.%d@example.com>\n'
            'X-Bench-Date: %s\n' % (
                rng.randint(1, 999), host, host, rng.randint(1, 254),
                rng.getrandbits(32), date, host, rng.getrandbits(32), date,
                '\n\t'.join(sig[k:k + 72] for k in range(0, len(sig), 72)),
                i, rng.getrandbits(32), date)).encode()


def with_subject(msg, subject):
    """`msg` with its Subject field(s) replaced by `subject`."""
    head, sep, body = msg.partition(b'\n\n')
    out, skip = [], False
    for line in head.split(b'\n'):
        if line[:1] in (b' ', b'\t') and skip:
            continue  # continuation of a dropped Subject
        skip = line.lower().startswith(b'subject:')
        if not skip:
            out.append(line)
    out.append(b'Subject: ' + subject)
    return b'\n'.join(out) + sep + body


def with_attachment(rng, msg, pool):
    size = min(int(math.exp(rng.gauss(math.log(40000), 1.0))), 2 << 20)
    start = rng.randrange(0, len(pool) - size)
    b64 = base64.encodebytes(pool[start:start + size])
    head, _, body = msg.partition(b'\n\n')
    # Keep the original headers except its MIME ones; the original message
    # becomes the first part.
    fields = []
    for line in head.split(b'\n'):
        if line[:1] in (b' ', b'\t') and fields:
            fields[-1] += b'\n' + line  # folded continuation
        else:
            fields.append(line)
    is_mime = [f.lower().startswith((b'content-', b'mime-version'))
               for f in fields]
    keep = [f for f, m in zip(fields, is_mime) if not m]
    mime = [f for f, m in zip(fields, is_mime) if m and
            not f.lower().startswith(b'mime-version')]
    boundary = b'=_bench_%08x' % rng.getrandbits(32)
    part_head = b'\n'.join(mime) if mime else b'Content-Type: text/plain'
    return (b'\n'.join(keep) + b'\nMIME-Version: 1.0\n'
            b'Content-Type: multipart/mixed; boundary="' + boundary +
            b'"\n\nThis is a multi-part message in MIME format.\n\n--' +
            boundary + b'\n' + part_head + b'\n\n' + body + b'\n--' +
            boundary + b'\nContent-Type: application/octet-stream; '
            b'name="report-%d.bin"\nContent-Disposition: attachment; '
            b'filename="report-%d.bin"\nContent-Transfer-Encoding: base64\n\n'
            % (size, size) + b64 + b'\n--' + boundary + b'--\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--corpus', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('-n', type=int, required=True)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--report-rate', type=float, default=0.0,
                    help='fraction of subjects set to "Quarterly report N"')
    a = ap.parse_args()
    if not 1 <= a.n <= 1000000:
        sys.exit('mkmaildir: -n must be 1..1000000')
    rng = random.Random(a.seed)
    report_rng = random.Random(a.seed * 7919 + 1)
    reports = 0
    corpus = corpus_messages(a.corpus)
    if not corpus:
        sys.exit('mkmaildir: no messages in ' + a.corpus)
    pool = rng.randbytes(4 << 20)
    for d in ('cur', 'new', 'tmp'):
        os.makedirs(os.path.join(a.out, d), exist_ok=True)
    now = int(time.time())
    total = 0
    for i in range(a.n):
        when = now - (a.n - i) * 600  # one message every 10 minutes
        msg = corpus[rng.randrange(len(corpus))]
        if a.report_rate > 0 and report_rng.random() < a.report_rate:
            msg = with_subject(msg, b'Quarterly report %d' % i)
            reports += 1
        if rng.random() < 0.25:
            msg = with_attachment(rng, msg, pool)
        data = trace_headers(rng, i, when) + msg
        if not data.endswith(b'\n'):
            data += b'\n'
        vsize = len(data) + data.count(b'\n')
        base = '%d.M%dP%d.bench,S=%d,W=%d' % (when, i, os.getpid(),
                                             len(data), vsize)
        if i >= a.n - max(1, a.n // 50):
            path = os.path.join(a.out, 'new', base)
        else:
            r = rng.random()
            flags = ('F' if r < 0.05 else '') + ('R' if r < 0.15 else '') + \
                    ('S' if r < 0.80 else '')
            path = os.path.join(a.out, 'cur', base + ':2,' + flags)
        with open(path, 'wb') as f:
            f.write(data)
        os.utime(path, (when, when))
        total += len(data)
    print('mkmaildir: %d messages, %.1f MB, in %s' % (a.n, total / 1e6, a.out))
    if a.report_rate > 0:
        print('mkmaildir: %d subjects set to "Quarterly report N"' % reports)
        with open(a.out.rstrip('/') + '.json', 'w') as f:
            json.dump({'messages': a.n, 'bytes': total,
                       'report_subjects': reports,
                       'report_rate': a.report_rate}, f)


if __name__ == '__main__':
    main()
