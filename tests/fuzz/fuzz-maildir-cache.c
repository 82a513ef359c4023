/* Fuzz target: posthorn-cache read back from disk, and its compaction.
 * Byte 0: bit 0 fixes up the header's TOC CRC, bit 1 the CRC of every
 * log record whose length fits (so the checks behind them are reached);
 * the rest is the file. Invariants: reading never crashes; every value a
 * view finds is found, with the same bytes, after compaction (unless the
 * file holds more fields than a compacted file keeps). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "plugins/storage-maildir/maildir-cache.h"
#include "tests/support/mock-core.h"

#define UIDVALIDITY 42
#define UIDS	    12

const struct ph_core_api *maildir_api;
static char dir[64];
static const char *const fields[] = {"a", "b", "imap4.bs", "envelope"};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static void put(const uint8_t *data, size_t size)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/" CACHE_FILE, dir);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
}

/* Header fields as the file has them, if it is long enough. */
static bool header(const uint8_t *data, size_t size, struct cache_header *h)
{
	if (size < sizeof(*h))
		return false;
	memcpy(h, data, sizeof(*h));
	return true;
}

static void fix_toc_crc(uint8_t *data, size_t size)
{
	struct cache_header h;
	size_t toc;

	if (!header(data, size, &h) || h.nfields > CACHE_FIELDS_MAX)
		return;
	toc = h.nfields * sizeof(struct cache_toc_entry);
	if (sizeof(h) + toc > size)
		return;
	h.toc_crc = 0;
	memcpy(data, &h, sizeof(h));
	h.toc_crc = maildir_crc32c(maildir_crc32c(0, &h, sizeof(h)),
				   data + sizeof(h), toc);
	memcpy(data, &h, sizeof(h));
}

static void fix_log_crcs(uint8_t *data, size_t size)
{
	struct cache_header h;
	size_t off, n;

	if (!header(data, size, &h))
		return;
	for (off = h.base_len; (n = maildir_cache_rec_len(data, off, size)) > 0;
	     off += n) {
		uint32_t crc = maildir_crc32c(0, data + off + 4, n - 4);

		memcpy(data + off, &crc, 4);
	}
}

/* Distinct field names seen so far. */
struct names {
	char name[CACHE_FIELDS_MAX + 1][CACHE_FIELD_LEN];
	uint16_t len[CACHE_FIELDS_MAX + 1];
	unsigned n;
};

static void names_add(struct names *ns, const void *name, uint16_t len)
{
	for (unsigned k = 0; k < ns->n; k++) {
		if (ns->len[k] == len && memcmp(ns->name[k], name, len) == 0)
			return;
	}
	if (ns->n <= CACHE_FIELDS_MAX && len > 0 && len <= CACHE_FIELD_LEN) {
		memcpy(ns->name[ns->n], name, len);
		ns->len[ns->n++] = len;
	}
}

/* More distinct field names than compaction keeps: values may vanish.
 * Over-counts names that only appear in damaged places, which only
 * skips a check. */
static bool too_many_fields(const uint8_t *data, size_t size)
{
	struct names ns = {.n = 0};
	struct cache_header h;
	size_t off, n;

	if (!header(data, size, &h))
		return false;
	for (uint32_t k = 0; k < h.nfields && k <= CACHE_FIELDS_MAX; k++) {
		struct cache_toc_entry e;

		if (sizeof(h) + (k + 1) * sizeof(e) > size)
			break;
		memcpy(&e, data + sizeof(h) + k * sizeof(e), sizeof(e));
		names_add(&ns, e.name, e.name_len);
	}
	for (off = h.base_len; (n = maildir_cache_rec_len(data, off, size)) > 0;
	     off += n) {
		struct cache_rec_hdr r;

		memcpy(&r, data + off, sizeof(r));
		names_add(&ns, data + off + sizeof(r), r.field_len);
	}
	return ns.n > CACHE_FIELDS_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ph_str before[NFIELDS][UIDS];
	struct maildir_cache *c = NULL, *again = NULL;
	struct cache_map m;
	uint8_t *copy;
	bool check;

	if (size < 1 || size > 1 << 20)
		return 0;
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/fuzz-maildir-cache-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		maildir_api = ph_mock_core_api();
		ph_mock_log_quiet(1);
	}
	if ((copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		fix_toc_crc(copy, size - 1);
	if (data[0] & 2)
		fix_log_crcs(copy, size - 1);
	put(copy, size - 1);
	check = !too_many_fields(copy, size - 1);
	free(copy);

	for (size_t f = 0; f < NFIELDS; f++) {
		for (uint32_t uid = 0; uid < UIDS; uid++) {
			struct ph_str *v = &before[f][uid];

			if (maildir_cache_get(&c, dir, UIDVALIDITY, uid,
					      fields[f], v) != PH_OK)
				v->data = NULL;
		}
	}
	if (maildir_cache_map_open(dir, UIDVALIDITY, &m) == PH_OK) {
		(void)maildir_cache_write_compacted(dir, UIDVALIDITY, &m, NULL);
		maildir_cache_map_close(&m);
	}
	for (size_t f = 0; check && f < NFIELDS; f++) {
		for (uint32_t uid = 0; uid < UIDS; uid++) {
			struct ph_str *v = &before[f][uid], now;

			if (v->data == NULL)
				continue;
			if (maildir_cache_get(&again, dir, UIDVALIDITY, uid,
					      fields[f], &now) != PH_OK ||
			    now.len != v->len ||
			    memcmp(now.data, v->data, v->len) != 0)
				abort();
		}
	}
	maildir_cache_free(&again);
	maildir_cache_free(&c); /* `before` points into its mapping */
	return 0;
}
