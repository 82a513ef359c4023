/* Unit tests of the imap4 settings: the table and the ranges agree, the
 * defaults are the former compile-time constants, values out of range
 * are clamped with one warning each, and a parser built from loaded
 * limits enforces them. Values are parsed with the core's own parser, as
 * the daemon does. */
#include <stdio.h>
#include <string.h>
#include "core/config.h"
#include "cunit-main.h"
#include "imap4-settings.h"

/* A fake section: key = value lines; unset keys fall back to the
 * table's defaults, like the core's lookups. */
struct fake {
	const char *const *kv; /* key, value, key, value, ..., NULL */
	int use_defaults;
	unsigned warnings;
	char last_key[64];
	char last_text[256];
};

static const struct ph_setting_def *def_find(const char *key)
{
	for (const struct ph_setting_def *d = imap_setting_defs; d->key; d++) {
		if (strcmp(d->key, key) == 0)
			return d;
	}
	return NULL;
}

static const char *fake_get(void *ctx, const char *key, uint64_t *value_r)
{
	struct fake *f = ctx;
	const struct ph_setting_def *d = def_find(key);
	const char *raw = NULL;

	for (size_t i = 0; f->kv != NULL && f->kv[i] != NULL; i += 2) {
		if (strcmp(f->kv[i], key) == 0)
			raw = f->kv[i + 1];
	}
	if (raw == NULL && f->use_defaults && d != NULL)
		raw = d->default_value;
	if (raw == NULL || d == NULL)
		return NULL;
	CU_ASSERT_EQUAL_FATAL(
	    ph__config_parse_value(d->type, raw, d->enum_values, value_r),
	    PH_OK);
	return raw;
}

static void fake_warn(void *ctx, const char *key, const char *text)
{
	struct fake *f = ctx;

	f->warnings++;
	snprintf(f->last_key, sizeof(f->last_key), "%s", key);
	snprintf(f->last_text, sizeof(f->last_text), "%s", text);
}

static int load(struct fake *f, struct imap_settings *set)
{
	f->warnings = 0;
	f->last_key[0] = f->last_text[0] = '\0';
	return imap_settings_load(set, fake_get, f, fake_warn, f);
}

static void test_table_and_ranges_agree(void)
{
	size_t n = 0;

	for (const struct ph_setting_def *d = imap_setting_defs; d->key; d++) {
		uint64_t min, max, lo, hi, def;
		const char *min_text, *max_text;

		n++;
		CU_ASSERT_TRUE(d->listener);
		CU_ASSERT_PTR_NOT_NULL(d->help);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d->default_value);
		CU_ASSERT_EQUAL_FATAL(imap_settings_range(d->key, &min, &max,
							  &min_text, &max_text),
				      PH_OK);
		/* the bounds as written in messages are the bounds applied */
		CU_ASSERT_EQUAL(
		    ph__config_parse_value(d->type, min_text, NULL, &lo),
		    PH_OK);
		CU_ASSERT_EQUAL(
		    ph__config_parse_value(d->type, max_text, NULL, &hi),
		    PH_OK);
		CU_ASSERT_EQUAL(lo, min);
		CU_ASSERT_EQUAL(hi, max);
		CU_ASSERT_TRUE(min >= 1 && min <= max);
		CU_ASSERT_EQUAL(ph__config_parse_value(
				    d->type, d->default_value, NULL, &def),
				PH_OK);
		CU_ASSERT_TRUE(def >= min && def <= max);
	}
	CU_ASSERT_EQUAL(n, 12);
	CU_ASSERT_EQUAL(
	    imap_settings_range("nope", &(uint64_t){0}, &(uint64_t){0},
				&(const char *){NULL}, &(const char *){NULL}),
	    PH_ENOTFOUND);
}

/* The table's defaults, the loader's own and the constants the plugin
 * used before it had settings are one and the same. */
static void test_defaults(void)
{
	struct fake none = {0}, table = {.use_defaults = 1};
	struct imap_settings a, b;
	const struct imap_parser_limits *d = &imap_parser_default_limits;

	CU_ASSERT_EQUAL(load(&none, &a), 0);
	CU_ASSERT_EQUAL(load(&table, &b), 0);
	CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);
	CU_ASSERT_EQUAL(a.autologout, 30 * 60);
	CU_ASSERT_EQUAL(a.autologout_preauth, 30 * 60);
	CU_ASSERT_EQUAL(a.idle_keepalive, 120);
	CU_ASSERT_EQUAL(a.idle_poll_interval, 10);
	CU_ASSERT_EQUAL(a.max_bad_commands, 20);
	CU_ASSERT_EQUAL(a.max_response_size, 16 * 1024 * 1024);
	CU_ASSERT_EQUAL(a.limits.max_line, 64000);
	CU_ASSERT_EQUAL(a.limits.max_literal, 65536);
	CU_ASSERT_EQUAL(a.limits.max_command, 256 * 1024);
	CU_ASSERT_EQUAL(a.limits.max_stream, 1024u * 1024 * 1024);
	CU_ASSERT_EQUAL(a.limits.max_depth, 32);
	CU_ASSERT_EQUAL(a.limits.max_args, 10000);
	CU_ASSERT_EQUAL(memcmp(&a.limits, d, sizeof(*d)), 0);
}

static void test_values(void)
{
	static const char *const kv[] = {"autologout",
					 "2h",
					 "autologout_preauth",
					 "1m",
					 "idle_keepalive",
					 "29m",
					 "idle_poll_interval",
					 "3s",
					 "max_line_length",
					 "8k",
					 "max_literal_size",
					 "1M",
					 "max_command_size",
					 "2M",
					 "max_append_size",
					 "50M",
					 "max_nesting_depth",
					 "8",
					 "max_arguments",
					 "500",
					 "max_bad_commands",
					 "5",
					 "max_response_size",
					 "64M",
					 NULL};
	struct fake f = {.kv = kv, .use_defaults = 1};
	struct imap_settings s;

	CU_ASSERT_EQUAL(load(&f, &s), 0);
	CU_ASSERT_EQUAL(s.autologout, 7200);
	CU_ASSERT_EQUAL(s.autologout_preauth, 60);
	CU_ASSERT_EQUAL(s.idle_keepalive, 29 * 60);
	CU_ASSERT_EQUAL(s.idle_poll_interval, 3);
	CU_ASSERT_EQUAL(s.limits.max_line, 8192);
	CU_ASSERT_EQUAL(s.limits.max_literal, 1 << 20);
	CU_ASSERT_EQUAL(s.limits.max_command, 2 << 20);
	CU_ASSERT_EQUAL(s.limits.max_stream, 50 << 20);
	CU_ASSERT_EQUAL(s.limits.max_depth, 8);
	CU_ASSERT_EQUAL(s.limits.max_args, 500);
	CU_ASSERT_EQUAL(s.max_bad_commands, 5);
	CU_ASSERT_EQUAL(s.max_response_size, 64 << 20);
	/* untouched by the keys */
	CU_ASSERT_EQUAL(s.limits.max_nonsync, (size_t)-1);
}

/* Each bound: accepted as is; one step beyond: clamped, one warning.
 * The literal and command limits are tested with the other one out of
 * the way (a literal limit above the command limit is a warning too). */
static void test_bounds(void)
{
	for (const struct ph_setting_def *d = imap_setting_defs; d->key; d++) {
		uint64_t min, max;
		const char *min_text, *max_text;
		char below[32], above[32];
		const char *kv[] = {d->key, NULL, "max_command_size", "64M",
				    NULL};
		struct fake f = {.kv = kv};
		struct imap_settings at_min, at_max, s;
		int rfc = strcmp(d->key, "autologout") == 0;

		if (strcmp(d->key, "max_command_size") == 0) {
			kv[2] = "max_literal_size";
			kv[3] = "1k";
		}

		imap_settings_range(d->key, &min, &max, &min_text, &max_text);
		snprintf(below, sizeof(below), "%llu",
			 (unsigned long long)(min - 1));
		snprintf(above, sizeof(above), "%llu",
			 (unsigned long long)(max + 1));
		kv[1] = min_text;
		/* an autologout of 1s is legal but below RFC 3501's 30m */
		CU_ASSERT_EQUAL(load(&f, &at_min), rfc);
		kv[1] = max_text;
		CU_ASSERT_EQUAL(load(&f, &at_max), 0);
		kv[1] = below;
		CU_ASSERT_EQUAL(load(&f, &s), 1 + rfc);
		CU_ASSERT_EQUAL(memcmp(&s, &at_min, sizeof(s)), 0);
		if (!rfc) {
			CU_ASSERT_STRING_EQUAL(f.last_key, d->key);
			CU_ASSERT_PTR_NOT_NULL(
			    strstr(f.last_text, "out of range"));
			CU_ASSERT_PTR_NOT_NULL(strstr(f.last_text, min_text));
		}
		kv[1] = above;
		CU_ASSERT_EQUAL(load(&f, &s), 1);
		CU_ASSERT_STRING_EQUAL(f.last_key, d->key);
		CU_ASSERT_EQUAL(memcmp(&s, &at_max, sizeof(s)), 0);
	}
}

static void test_out_of_range_message(void)
{
	static const char *const kv[] = {"max_line_length", "0", NULL};
	struct fake f = {.kv = kv};
	struct imap_settings s;

	CU_ASSERT_EQUAL(load(&f, &s), 1);
	CU_ASSERT_STRING_EQUAL(f.last_key, "max_line_length");
	CU_ASSERT_STRING_EQUAL(f.last_text,
			       "max_line_length = 0 is out of range (1k .. "
			       "64k); using 1k");
	CU_ASSERT_EQUAL(s.limits.max_line, 1024);
}

static void test_rfc_autologout(void)
{
	static const char *const short_kv[] = {"autologout", "29m", NULL};
	static const char *const rfc_kv[] = {"autologout", "30m", NULL};
	struct fake f = {.kv = short_kv};
	struct imap_settings s;

	/* kept, but said */
	CU_ASSERT_EQUAL(load(&f, &s), 1);
	CU_ASSERT_EQUAL(s.autologout, 29 * 60);
	CU_ASSERT_STRING_EQUAL(f.last_key, "autologout");
	CU_ASSERT_PTR_NOT_NULL(strstr(f.last_text, "autologout = 29m"));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.last_text, "RFC 3501"));
	f.kv = rfc_kv;
	CU_ASSERT_EQUAL(load(&f, &s), 0);
	CU_ASSERT_EQUAL(s.autologout, 30 * 60);
}

static void test_literal_above_command(void)
{
	static const char *const kv[] = {"max_literal_size", "1M",
					 "max_command_size", "64k", NULL};
	struct fake f = {.kv = kv};
	struct imap_settings s;

	CU_ASSERT_EQUAL(load(&f, &s), 1);
	CU_ASSERT_STRING_EQUAL(f.last_key, "max_literal_size");
	CU_ASSERT_EQUAL(s.limits.max_literal, 1 << 20);
	CU_ASSERT_EQUAL(s.limits.max_command, 64 << 10);
}

/* A parser made from loaded limits enforces them: fed one byte at a
 * time, a line at max_line_length is a command, one byte more is
 * BAD [TOOBIG] reported at the line end. */
static void test_parser_uses_loaded_limits(void)
{
	static const char *const kv[] = {"max_line_length",
					 "1k",
					 "max_literal_size",
					 "1k",
					 "max_nesting_depth",
					 "2",
					 NULL};
	struct fake f = {.kv = kv};
	struct imap_settings s;
	struct imap_parser *p;
	struct imap_event ev;
	char line[1100];
	size_t used;

	CU_ASSERT_EQUAL(load(&f, &s), 0);
	p = imap_parser_create(&s.limits);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t n = (size_t)snprintf(line, sizeof(line), "a X ");

		memset(line + n, 'x', 1024 + extra - n);
		memcpy(line + 1024 + extra, "\r\n", 2);
		for (size_t i = 0; i < 1024 + extra + 1; i++) {
			CU_ASSERT_EQUAL(
			    imap_parser_feed(p, line + i, 1, &used, &ev),
			    IMAP_EV_NONE);
		}
		imap_parser_feed(p, line + 1024 + extra + 1, 1, &used, &ev);
		if (extra == 0) {
			CU_ASSERT_EQUAL(ev.type, IMAP_EV_COMMAND);
		} else {
			CU_ASSERT_EQUAL(ev.type, IMAP_EV_ERROR);
			CU_ASSERT_TRUE(ev.toobig);
			CU_ASSERT_FALSE(ev.close);
		}
	}
	CU_ASSERT_EQUAL(imap_parser_feed(p, "a X {1025}\r\n", 12, &used, &ev),
			IMAP_EV_LITERAL);
	CU_ASSERT_EQUAL(imap_parser_literal_begin(p, IMAP_LITERAL_BUFFER),
			PH_ETOOBIG);
	CU_ASSERT_EQUAL(imap_parser_feed(p, "a X ((x))\r\n", 11, &used, &ev),
			IMAP_EV_COMMAND);
	CU_ASSERT_EQUAL(imap_parser_feed(p, "a X (((x)))\r\n", 13, &used, &ev),
			IMAP_EV_ERROR);
	CU_ASSERT_TRUE(ev.toobig);
	imap_parser_destroy(&p);
}

static CU_TestInfo settings_tests[] = {
    {"table and ranges agree", test_table_and_ranges_agree},
    {"defaults are the former constants", test_defaults},
    {"values", test_values},
    {"bounds", test_bounds},
    {"out of range message", test_out_of_range_message},
    {"autologout below RFC 3501", test_rfc_autologout},
    {"literal above command", test_literal_above_command},
    {"parser uses loaded limits", test_parser_uses_loaded_limits},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"imap4-settings", NULL, NULL, NULL, NULL, settings_tests},
    CU_SUITE_INFO_NULL,
};

PH_CUNIT_MAIN(suites)
