/*
 * imap4-args.h - typed values inside IMAP arguments: sequence sets,
 * dates, date-times. Pure functions over NUL-terminated atoms.
 */
#ifndef IMAP4_ARGS_H
#define IMAP4_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <posthorn/abi.h>

/* "*" before resolution (0 is no valid number). */
#define IMAP_SEQ_STAR 0

struct imap_seq_range {
	uint32_t lo, hi;
};

struct imap_seqset {
	struct imap_seq_range *ranges;
	size_t count;
};

/* Parses sequence-set (RFC 3501 / 9051): nz-number, "*", ranges "a:b",
 * comma separated. "$" (SEARCHRES) is PH_ENOTSUP; 0, numbers above
 * 2^32-1, empty items and other bytes are PH_EINVAL; more than
 * `max_ranges` items is PH_ETOOBIG. On success the set owns a malloc()ed
 * array; free with imap_seqset_free(). */
int imap_seqset_parse(const char *s, size_t max_ranges,
		      struct imap_seqset *set_r, const char **error_r);
void imap_seqset_free(struct imap_seqset *set);
/* Replaces "*" by `star` (the largest sequence number or UID; 0 for an
 * empty mailbox, in which case "*" matches nothing), orders every range
 * lo <= hi, sorts and merges overlapping or adjacent ranges. For UID sets
 * pass star = UIDNEXT-1 (or the largest UID). */
void imap_seqset_resolve(struct imap_seqset *set, uint32_t star);
/* Number of values in a resolved set (64-bit: it may exceed 2^32). */
uint64_t imap_seqset_count(const struct imap_seqset *set);
/* Whether a resolved set contains `n`. */
int imap_seqset_contains(const struct imap_seqset *set, uint32_t n);

/* date: "d-Mon-yyyy" (day 1 or 2 digits), quotes already removed. Gives
 * midnight UTC of that day. PH_EINVAL on anything else. */
int imap_parse_date(const char *s, int64_t *time_r);
/* date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d"). Gives the
 * UTC time and the zone in minutes east. */
int imap_parse_datetime(const char *s, int64_t *time_r, int32_t *tz_r);
/* Formats a date-time (26 chars + NUL) for INTERNALDATE. */
void imap_format_datetime(int64_t t, int32_t tz_minutes, char out[32]);

#endif
