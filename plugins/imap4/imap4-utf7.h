/* imap4-utf7.h - modified UTF-7 mailbox names (RFC 3501 5.1.3). */
#ifndef IMAP4_UTF7_H
#define IMAP4_UTF7_H

#include "imap4-str.h"

/* Wire name -> UTF-8. PH_EINVAL for anything not strictly valid: 8-bit or
 * control bytes, bad base64, odd bits, broken surrogates, characters that
 * must have been sent directly, empty or adjacent "&...-" runs. */
int imap_utf7_decode(const char *in, struct imap_str *out);
/* UTF-8 -> wire name. PH_EINVAL for invalid UTF-8. */
int imap_utf7_encode(const char *in, struct imap_str *out);

#endif
