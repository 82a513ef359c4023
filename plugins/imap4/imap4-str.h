/*
 * imap4-str.h - a growable byte string for building responses and cached
 * values, and the writers that choose the right IMAP form for a value.
 */
#ifndef IMAP4_STR_H
#define IMAP4_STR_H

#include <stddef.h>
#include <stdint.h>
#include <posthorn/abi.h>

struct imap_str {
	char *data; /* NUL-terminated when non-NULL */
	size_t len, cap;
	size_t max; /* 0: unlimited; else appends past it set `failed` */
	int failed; /* an append failed (ENOMEM or past max) */
};

void imap_str_init(struct imap_str *s, size_t max);
void imap_str_free(struct imap_str *s);
void imap_str_truncate(struct imap_str *s, size_t len);
void imap_str_append(struct imap_str *s, const void *data, size_t len);
void imap_str_appends(struct imap_str *s, const char *cstr);
void imap_str_appendc(struct imap_str *s, char c);
void imap_str_printf(struct imap_str *s, const char *fmt, ...) PH_PRINTF(2, 3);

/* True when `data` may be sent as a quoted string: no NUL, CR, LF or
 * 8-bit bytes and not longer than 4096 bytes. */
int imap_str_quotable(const char *data, size_t len);
/* A string as quoted ("a \"b\"") or, when it cannot be, as a literal
 * ({n}CRLF followed by the bytes). */
void imap_str_append_string(struct imap_str *s, const char *data, size_t len);
/* NIL for NULL, else as imap_str_append_string(). */
void imap_str_append_nstring(struct imap_str *s, const char *data, size_t len);
/* An astring: the atom itself when it is a non-empty atom other than
 * NIL, else a string. */
void imap_str_append_astring(struct imap_str *s, const char *data, size_t len);

#endif
