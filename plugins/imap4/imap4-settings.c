/* imap4-settings.c - the settings table, the ranges and the loader. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "imap4-settings.h"

const struct ph_setting_def imap_setting_defs[] = {
    {.key = "autologout",
     .type = PH_SETTING_TIME,
     .default_value = "30m",
     .listener = 1,
     .help = "input silence after login before '* BYE Autologout' "
	     "(RFC 3501: at least 30m; IDLE counts as silence)"},
    {.key = "autologout_preauth",
     .type = PH_SETTING_TIME,
     .default_value = "30m",
     .listener = 1,
     .help = "input silence before login before '* BYE Autologout'"},
    {.key = "idle_keepalive",
     .type = PH_SETTING_TIME,
     .default_value = "2m",
     .listener = 1,
     .help = "interval of '* OK Still here' to an idling client (NAT "
	     "entries, proxies)"},
    {.key = "idle_poll_interval",
     .type = PH_SETTING_TIME,
     .default_value = "10s",
     .listener = 1,
     .help = "IDLE checks the mailbox this often when the storage "
	     "cannot notify (e.g. past the inotify instance limit)"},
    {.key = "max_line_length",
     .type = PH_SETTING_SIZE,
     .default_value = "64000",
     .listener = 1,
     .help = "bytes of one command line outside literals (BAD [TOOBIG]; "
	     "at most 64k, the core's line cap)"},
    {.key = "max_literal_size",
     .type = PH_SETTING_SIZE,
     .default_value = "64k",
     .listener = 1,
     .help = "one literal held in memory as an argument (BAD [TOOBIG])"},
    {.key = "max_command_size",
     .type = PH_SETTING_SIZE,
     .default_value = "256k",
     .listener = 1,
     .help = "all bytes of one command held in memory, literals "
	     "included (BAD [TOOBIG])"},
    {.key = "max_append_size",
     .type = PH_SETTING_SIZE,
     .default_value = "1G",
     .listener = 1,
     .help = "one APPEND message, streamed to storage (NO [TOOBIG])"},
    {.key = "max_nesting_depth",
     .type = PH_SETTING_UINT,
     .default_value = "32",
     .listener = 1,
     .help = "parenthesised lists inside each other in one command"},
    {.key = "max_arguments",
     .type = PH_SETTING_UINT,
     .default_value = "10000",
     .listener = 1,
     .help = "arguments (lists included) in one command"},
    {.key = "max_bad_commands",
     .type = PH_SETTING_UINT,
     .default_value = "20",
     .listener = 1,
     .help = "invalid commands in a row before '* BYE Too many invalid "
	     "commands'"},
    {.key = "max_response_size",
     .type = PH_SETTING_SIZE,
     .default_value = "16M",
     .listener = 1,
     .help = "one response built in memory before it is queued; past it "
	     "the connection ends with '* BYE Internal error'"},
    {0},
};

enum field_kind { F_UNSIGNED, F_SIZE };

/* Where a key lands in struct imap_settings and what it may hold. */
struct range {
	const char *key;
	uint64_t min, max;
	const char *min_text, *max_text;
	size_t offset;
	enum field_kind kind;
};

#define SET_FIELD(f) offsetof(struct imap_settings, f)
#define KIB	     UINT64_C(1024)
#define MIB	     (KIB * 1024)
#define GIB	     (MIB * 1024)

static const struct range ranges[] = {
    {"autologout", 1, 86400, "1s", "1d", SET_FIELD(autologout), F_UNSIGNED},
    {"autologout_preauth", 1, 86400, "1s", "1d", SET_FIELD(autologout_preauth),
     F_UNSIGNED},
    {"idle_keepalive", 1, 86400, "1s", "1d", SET_FIELD(idle_keepalive),
     F_UNSIGNED},
    {"idle_poll_interval", 1, 3600, "1s", "1h", SET_FIELD(idle_poll_interval),
     F_UNSIGNED},
    /* the core never hands out a longer line (conn_read_line) */
    {"max_line_length", KIB, 64 * KIB, "1k", "64k", SET_FIELD(limits.max_line),
     F_SIZE},
    {"max_literal_size", KIB, 64 * MIB, "1k", "64M",
     SET_FIELD(limits.max_literal), F_SIZE},
    /* argument offsets in the parser are 32-bit */
    {"max_command_size", 4 * KIB, 64 * MIB, "4k", "64M",
     SET_FIELD(limits.max_command), F_SIZE},
    {"max_append_size", KIB, 16 * GIB, "1k", "16G",
     SET_FIELD(limits.max_stream), F_SIZE},
    {"max_nesting_depth", 1, 256, "1", "256", SET_FIELD(limits.max_depth),
     F_UNSIGNED},
    {"max_arguments", 16, 1000000, "16", "1000000", SET_FIELD(limits.max_args),
     F_UNSIGNED},
    {"max_bad_commands", 1, 1000, "1", "1000", SET_FIELD(max_bad_commands),
     F_UNSIGNED},
    {"max_response_size", MIB, GIB, "1M", "1G", SET_FIELD(max_response_size),
     F_SIZE},
};

static void store(struct imap_settings *set, const struct range *r,
		  uint64_t value)
{
	char *field = (char *)set + r->offset;

	if (r->kind == F_SIZE) {
		size_t v = value > SIZE_MAX ? SIZE_MAX : (size_t)value;

		memcpy(field, &v, sizeof(v));
	} else {
		unsigned v = value > UINT32_MAX ? UINT32_MAX : (unsigned)value;

		memcpy(field, &v, sizeof(v));
	}
}

int imap_settings_range(const char *key, uint64_t *min_r, uint64_t *max_r,
			const char **min_text_r, const char **max_text_r)
{
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		if (strcmp(ranges[i].key, key) != 0)
			continue;
		*min_r = ranges[i].min;
		*max_r = ranges[i].max;
		*min_text_r = ranges[i].min_text;
		*max_text_r = ranges[i].max_text;
		return PH_OK;
	}
	return PH_ENOTFOUND;
}

static void defaults(struct imap_settings *set)
{
	memset(set, 0, sizeof(*set));
	set->autologout = 30 * 60;
	set->autologout_preauth = 30 * 60;
	set->idle_keepalive = 120;
	set->idle_poll_interval = 10;
	set->max_bad_commands = 20;
	set->max_response_size = 16 * 1024 * 1024;
	set->limits = imap_parser_default_limits;
}

int imap_settings_load(struct imap_settings *set, imap_settings_get_fn *get,
		       void *get_ctx, imap_settings_warn_fn *warn,
		       void *warn_ctx)
{
	char text[256];
	int warnings = 0;

	defaults(set);
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		const struct range *r = &ranges[i];
		uint64_t v = 0;
		const char *raw = get(get_ctx, r->key, &v);

		if (raw == NULL)
			continue;
		if (v >= r->min && v <= r->max) {
			store(set, r, v);
			continue;
		}
		snprintf(text, sizeof(text),
			 "%s = %s is out of range (%s .. %s); using %s", r->key,
			 raw, r->min_text, r->max_text,
			 v < r->min ? r->min_text : r->max_text);
		store(set, r, v < r->min ? r->min : r->max);
		if (warn != NULL)
			warn(warn_ctx, r->key, text);
		warnings++;
	}
	if (set->autologout < IMAP_RFC_AUTOLOGOUT_MIN) {
		const char *raw = get(get_ctx, "autologout", &(uint64_t){0});

		snprintf(text, sizeof(text),
			 "autologout = %s is below the 30 minutes RFC 3501 "
			 "(5.4) requires after login; clients may be logged "
			 "out while they expect to stay",
			 raw != NULL ? raw : "?");
		if (warn != NULL)
			warn(warn_ctx, "autologout", text);
		warnings++;
	}
	if (set->limits.max_literal > set->limits.max_command) {
		snprintf(text, sizeof(text),
			 "max_literal_size is above max_command_size; literals "
			 "are held to max_command_size");
		if (warn != NULL)
			warn(warn_ctx, "max_literal_size", text);
		warnings++;
	}
	return warnings;
}
