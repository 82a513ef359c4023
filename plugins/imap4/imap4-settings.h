/* imap4-settings.h - the plugin's INI keys ([imap4] and listener
 * sections): the table the core checks the types of, the ranges the
 * plugin applies itself, and the loaded values.
 *
 * The settings ABI (posthorn/plugin.h) has types but no ranges and no
 * hook through which a plugin could reject a value at `posthornd -t`, so
 * a value of the right type but out of range (0, or a line limit above
 * the core's 64 KiB cap) is clamped to the nearest bound here and
 * reported as a warning in the log when the plugin loads it. */
#ifndef IMAP4_SETTINGS_H
#define IMAP4_SETTINGS_H

#include <posthorn/posthorn.h>
#include "imap4-parser.h"

/* RFC 3501 5.4: an autologout timer after authentication must be at
 * least 30 minutes. Shorter values work, with a warning. */
#define IMAP_RFC_AUTOLOGOUT_MIN (30 * 60)

extern const struct ph_setting_def imap_setting_defs[];

struct imap_settings {
	unsigned autologout;	     /* seconds of input silence, logged in */
	unsigned autologout_preauth; /* the same before login */
	unsigned idle_keepalive;     /* seconds between "* OK Still here" */
	unsigned idle_poll_interval; /* IDLE without change notification */
	unsigned max_bad_commands;   /* invalid commands in a row, then BYE */
	size_t max_response_size;    /* one response built in memory */
	/* max_line_length, max_literal_size, max_command_size,
	 * max_append_size, max_nesting_depth, max_arguments */
	struct imap_parser_limits limits;
};

/* A key's raw value (NUL-terminated, borrowed for the call) with its
 * number in *value_r (seconds, bytes), or NULL when it is unset. */
typedef const char *imap_settings_get_fn(void *ctx, const char *key,
					 uint64_t *value_r);
/* A value the loader did not take as written, or took with a caveat:
 * `text` ("max_line_length = 0 is out of range ...") is borrowed for
 * the call. */
typedef void imap_settings_warn_fn(void *ctx, const char *key,
				   const char *text);

/* Fills `set` with the defaults, then with every key `get` knows, each
 * kept within its range (out of range: the nearest bound, and a
 * warning). Also warns, keeping the value, about an autologout below
 * RFC 3501's 30 minutes and a literal limit above the command limit.
 * `warn` may be NULL. Pure: no I/O. Returns the number of warnings. */
int imap_settings_load(struct imap_settings *set, imap_settings_get_fn *get,
		       void *get_ctx, imap_settings_warn_fn *warn,
		       void *warn_ctx);

/* The range of a numeric key as the loader applies it (for tests and
 * docs): PH_OK, or PH_ENOTFOUND for a key without one. `min_text` and
 * `max_text` are the bounds in the config syntax ("1k", "1d"). */
int imap_settings_range(const char *key, uint64_t *min_r, uint64_t *max_r,
			const char **min_text_r, const char **max_text_r);

#endif /* IMAP4_SETTINGS_H */
