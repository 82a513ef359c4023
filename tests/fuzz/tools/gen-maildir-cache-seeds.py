#!/usr/bin/env python3
"""Writes the seed corpus of fuzz.maildir-cache (format:
plugins/storage-maildir/maildir-cache.h): an empty cache, a log-only
cache, a compacted cache with a log over it, and damaged variants.
Byte 0 of each seed is the fuzzer's fix-up flags."""
import os
import struct
import sys

UIDVALIDITY = 42


def crc32c(data, crc=0):
    crc ^= 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82f63b78 if crc & 1 else crc >> 1
    return crc ^ 0xffffffff


def record(uid, field, value):
    body = struct.pack('<IHHI', uid, len(field), 0, len(value)) + field + value
    return struct.pack('<I', crc32c(body)) + body


def cache(sections, log):
    """sections: [(field, [(uid, value)...])] (sorted by uid)."""
    toc_len = 76 * len(sections)
    off = 24 + toc_len
    toc, blob = b'', b''
    for field, recs in sections:
        index, data = b'', b''
        rec_off = off + 8 * len(recs)
        for uid, value in recs:
            r = record(uid, field, value)
            index += struct.pack('<II', uid, rec_off + len(data))
            data += r
        toc += struct.pack('<64sHHII', field, len(field), 0, len(recs), off)
        blob += index + data
        off += len(index) + len(data)
    head = struct.pack('<4sIIIII', b'PHC2', UIDVALIDITY, off, len(sections),
                       0, 0)
    head = head[:16] + struct.pack('<I', crc32c(toc, crc32c(head))) + head[20:]
    return head + toc + blob + b''.join(record(*r) for r in log)


def main(out):
    os.makedirs(out, exist_ok=True)
    sections = [(b'a', [(1, b'A1'), (3, b'A3'), (7, b'A7')]),
                (b'imap4.bs', [(2, b'("text" "plain" NIL NIL NIL "7bit" 3 1)'),
                               (5, b'BS5')])]
    log = [(3, b'a', b'A3-new'), (4, b'b', b'B4'), (11, b'envelope', b'E11')]
    seeds = {
        'empty': cache([], []),
        'log-only': cache([], log),
        'compacted': cache(sections, []),
        'compacted-log': cache(sections, log),
        'torn-log': cache(sections, log)[:-3],
    }
    bad_crc = bytearray(cache(sections, log))
    bad_crc[-1] ^= 0xff  # last log record damaged
    seeds['bad-log-crc'] = bytes(bad_crc)
    bad_toc = bytearray(cache(sections, []))
    bad_toc[30] ^= 0xff  # a TOC name byte: the TOC's CRC fails
    seeds['bad-toc'] = bytes(bad_toc)
    for name, data in seeds.items():
        for flags in (0, 3):
            with open(os.path.join(out, '%s-%d' % (name, flags)), 'wb') as f:
                f.write(bytes([flags]) + data)


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', 'corpus',
        'maildir-cache'))
