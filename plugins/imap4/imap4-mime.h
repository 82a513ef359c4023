/*
 * imap4-mime.h - the MIME engine: a streaming structure parser that turns
 * a message, fed in chunks of any size, into a tree of parts with byte
 * offsets (as stored) and sizes (as sent, CRLF), plus the header values
 * ENVELOPE and BODYSTRUCTURE need. The message is never held in memory:
 * only the current line (capped) and the header values (capped) are.
 *
 * Limits: nesting depth, number of parts, length of one header field.
 * Past a limit the parser degrades like Dovecot: a too-deep multipart or
 * message/rfc822 becomes a leaf, extra parts are not split off, a long
 * header value is truncated. Input is never an error.
 */
#ifndef IMAP4_MIME_H
#define IMAP4_MIME_H

#include <stddef.h>
#include <stdint.h>
#include "imap4-str.h"

/* Header fields kept per part: MIME fields on every part, envelope
 * fields on messages (the root and what message/rfc822 encapsulates). */
enum mime_hdr {
	MH_CONTENT_TYPE = 0,
	MH_CONTENT_TRANSFER_ENCODING,
	MH_CONTENT_ID,
	MH_CONTENT_DESCRIPTION,
	MH_CONTENT_DISPOSITION,
	MH_CONTENT_LANGUAGE,
	MH_CONTENT_LOCATION,
	MH_CONTENT_MD5,
	MH_FIRST_ENVELOPE,
	MH_DATE = MH_FIRST_ENVELOPE,
	MH_SUBJECT,
	MH_FROM,
	MH_SENDER,
	MH_REPLY_TO,
	MH_TO,
	MH_CC,
	MH_BCC,
	MH_IN_REPLY_TO,
	MH_MESSAGE_ID,
	MH_COUNT,
};

#define MIME_PART_MULTIPART 0x1u /* has a boundary; children are parts */
#define MIME_PART_RFC822    0x2u /* message/rfc822: one child message */
#define MIME_PART_MESSAGE   0x4u /* root or encapsulated message */

struct mime_part {
	struct mime_part *parent, *children, *next;
	unsigned nchildren;
	unsigned flags;
	/* physical offsets as stored, from the start of the message */
	uint64_t hdr_off, body_off, body_end;
	/* sizes on the wire (bare LF counted as CRLF) */
	uint64_t hdr_wire, body_wire;
	uint64_t body_lines;
	/* raw unfolded header values, NUL-terminated; NULL when absent.
	 * Only filled while parsing (not restored from the cache). */
	char *hdr[MH_COUNT];
};

struct mime_limits {
	unsigned max_depth; /* nesting of multipart / message parts */
	unsigned max_parts; /* parts in one message */
	size_t max_header;  /* bytes kept of one header field */
};
extern const struct mime_limits mime_default_limits; /* 32, 10000, 64 KiB */

struct mime_parser;

struct mime_parser *mime_parser_create(const struct mime_limits *lim);
/* Feeds the next bytes of the message. Returns 0, or PH_ENOMEM. */
int mime_parser_feed(struct mime_parser *mp, const void *data, size_t len);
/* Ends the input; returns the tree (owned by the caller: free with
 * mime_part_free()) and destroys the parser. NULL on ENOMEM. */
struct mime_part *mime_parser_finish(struct mime_parser **mp);
/* Drops a parser without a result. */
void mime_parser_destroy(struct mime_parser **mp);
void mime_part_free(struct mime_part **root);

/* Parses `fd` from `offset` for `length` bytes in 64 KiB chunks (pread).
 * PH_EIO on read errors. */
int mime_parse_fd(int fd, uint64_t offset, uint64_t length,
		  const struct mime_limits *lim, struct mime_part **root_r);

/* ---- Output (imap4-mime-write.c) ---- */

/* ENVELOPE of a message part (MIME_PART_MESSAGE). */
void mime_write_envelope(struct imap_str *out, const struct mime_part *msg);
/* BODYSTRUCTURE (extended != 0) or BODY of a message part. */
void mime_write_bodystructure(struct imap_str *out, const struct mime_part *msg,
			      int extended);

/* Serialises the offsets of the tree (for the storage cache) and reads
 * them back (header values are not kept). Returns PH_OK or PH_EINVAL for
 * damaged data / PH_ENOMEM. */
int mime_parts_serialize(const struct mime_part *root, struct imap_str *out);
int mime_parts_deserialize(const void *data, size_t len,
			   struct mime_part **root_r);

/* ---- Sections (RFC 3501 BODY[section]) ---- */

enum mime_section_kind {
	MIME_SEC_ALL = 0, /* BODY[] or BODY[1.2]: whole / part body */
	MIME_SEC_HEADER,  /* HEADER, HEADER.FIELDS(.NOT) */
	MIME_SEC_TEXT,	  /* TEXT */
	MIME_SEC_MIME,	  /* MIME: the part's own header */
};

/* A byte range of the stored message: [off, off+len) as stored, `wire`
 * bytes as sent. */
struct mime_range {
	uint64_t off, len, wire;
};

/* Finds section `path` (`count` part numbers, may be 0) with `kind` in
 * the tree. PH_ENOTFOUND when the part does not exist, PH_EINVAL when
 * the kind is not allowed there (MIME without a part number). */
int mime_section_find(const struct mime_part *root, const uint32_t *path,
		      unsigned count, enum mime_section_kind kind,
		      struct mime_range *range_r);

/* ---- Header field helpers (imap4-mime-rfc822.c) ---- */

struct mime_param {
	char *name;
	char *value;
};

struct mime_content_type {
	char *type, *subtype; /* NULL when absent or invalid */
	struct mime_param *params;
	unsigned nparams;
	int trailing_junk; /* bytes after the value that are no parameter */
};

/* Parses a Content-Type / Content-Disposition value ("type/subtype" or
 * "value", then parameters). RFC 2231 continuations are merged into one
 * parameter ("name*" with the charset'lang' prefix kept when any piece
 * was extended). `want_subtype` selects the Content-Type form. Always
 * succeeds except ENOMEM; malformed pieces are skipped. */
int mime_content_type_parse(const char *value, int want_subtype,
			    struct mime_content_type *ct_r);
void mime_content_type_free(struct mime_content_type *ct);
/* The value of parameter `name` (case-insensitive) or NULL. */
const char *mime_param_get(const struct mime_content_type *ct,
			   const char *name);

/* Like mime_param_get() but also finds an RFC 2231 extended "name*"
 * and decodes its %XX (the charset is not converted). malloc()ed, or
 * NULL. */
char *mime_param_get_decoded(const struct mime_content_type *ct,
			     const char *name);

struct mime_address {
	char *name, *route, *mailbox, *domain; /* NULL = NIL */
};

/* Parses an address list (RFC 5322, lenient like Dovecot): groups give a
 * start entry (mailbox = group name, domain NULL) and an end entry (all
 * NULL); a missing mailbox or domain is "MISSING_MAILBOX" /
 * "MISSING_DOMAIN"; a comment names an address without a display name.
 * At most `max` addresses. Returns the count, or PH_ENOMEM. */
int mime_address_parse(const char *value, unsigned max,
		       struct mime_address **addrs_r);
void mime_address_free(struct mime_address *addrs, unsigned count);

#endif /* IMAP4_MIME_H */
