/* Fuzz target: whole POP3 sessions. The input is client bytes, fed to the
 * plugin's real code over the fake core and fake storage of the unit tests
 * (tests/unit/pop3/pop3-fake.c) in pieces split at 0xff bytes; after each
 * piece pending auth completes and half of the time the output drains.
 * The session starts in TRANSACTION when the first byte is odd. */
#include <stdint.h>
#include <string.h>
#include "tests/unit/pop3/pop3-fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct ph_plugin posthorn_plugin;

static void *pstate;

static void fill(void)
{
	static const char m1[] = "From: a\nSubject: one\n\nbody\n.dot\n";
	static const char m2[] = "Subject: two\r\n\r\nwire\r\n";
	static const char m3[] = "no header, no newline";

	fake_storage_reset();
	fake_storage_add(m1, sizeof(m1) - 1, 0);
	fake_storage_add(m2, sizeof(m2) - 1, 1);
	fake_storage_add(m3, sizeof(m3) - 1, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *kv[] = {NULL};
	struct fake_conn_opts opts = FAKE_CONN_OPTS_DEFAULT;
	const char *p = (const char *)data, *end = p + size;
	struct ph_conn *c;
	const char *error;

	if (pstate == NULL) {
		fake_config_set(kv);
		if (posthorn_plugin.init(fake_core_api(), fake_config(),
					 &pstate, &error) < 0)
			__builtin_trap();
	}
	fill();
	opts.slow_reader = 1;
	opts.tls_mode =
	    size > 1 && (data[1] & 1) ? PH_TLS_STARTTLS : PH_TLS_NONE;
	c = fake_conn_open(&posthorn_plugin, pstate, &opts);
	if (c == NULL)
		__builtin_trap();
	if (size > 0 && (data[0] & 1))
		fake_conn_sendz(c, "USER alice\r\nPASS secret\r\n");
	fake_run(c);
	while (p < end && !c->close_requested) {
		const char *sep = memchr(p, 0xff, (size_t)(end - p));
		size_t len = (size_t)((sep ? sep : end) - p);

		fake_conn_send(c, p, len);
		fake_run(c);
		fake_run(c);
		if (len & 1)
			fake_conn_drain(c, SIZE_MAX);
		(void)fake_conn_take(c);
		p = sep ? sep + 1 : end;
	}
	fake_conn_drain(c, SIZE_MAX);
	fake_conn_free(c);
	return 0;
}
