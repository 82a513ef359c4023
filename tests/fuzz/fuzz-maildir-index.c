/* Fuzz target: the storage-maildir files read back from disk. Byte 0
 * picks the file the rest becomes: 0 posthorn-index as is, 1 the index
 * with its two checksums fixed up (so the record checks behind them are
 * reached), 2 posthorn-uidlist, 3 and 4 posthorn-index.log beside a valid
 * index (posthorn-cache has fuzz-maildir-cache.c). Invariants: loading never
 * crashes; an index that loads can be written and loads again with the same
 * records. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "plugins/storage-maildir/maildir-private.h"
#include "tests/support/mock-core.h"

const struct ph_core_api *maildir_api;
static char dir[64];

static void put(const char *file, const uint8_t *data, size_t size)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
}

static void clear(void)
{
	static const char *const files[] = {
	    "posthorn-index", "posthorn-index.log", "posthorn-uidlist"};
	char path[128];

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
}

static void roundtrip(struct maildir_index *idx)
{
	struct maildir_index *again = NULL;
	uint32_t count = idx->count;

	/* Names are used as paths under cur/: never empty, never a dot
	 * file, never with a '/'. */
	for (uint32_t i = 0; i < idx->count; i++) {
		const char *name = maildir_index_name(idx, &idx->recs[i]);

		if (maildir_index_find(idx, idx->recs[i].uid) != i ||
		    strlen(name) > idx->recs[i].name_len || name[0] == '\0' ||
		    name[0] == '.' || strchr(name, '/') != NULL)
			abort();
	}
	if (maildir_index_write(dir, idx, false) != PH_OK)
		return;
	if (maildir_index_load(dir, &again) != PH_OK || again->count != count)
		abort();
	maildir_index_free(&again);
}

/* A small valid index to put a fuzzed log beside. */
static struct maildir_index *valid_index(void)
{
	struct maildir_index *idx = maildir_index_new(42);
	struct maildir_rec r = {.psize = 3, .vsize = 4, .modseq = 1};

	for (uint32_t uid = 1; uid <= 3; uid++) {
		r.uid = uid;
		if (maildir_index_append(idx, &r, "1.M1P1Q1.h,S=3:2,S") < 0)
			abort();
	}
	return idx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maildir_index *idx = NULL;

	if (size < 1 || size > 1 << 20)
		return 0;
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/fuzz-maildir-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		maildir_api = ph_mock_core_api();
		ph_mock_log_quiet(1);
	}
	clear();
	switch (data[0] % 5) {
	case 0:
	case 1: {
		uint8_t *copy = malloc(size);

		if (copy == NULL)
			return 0;
		memcpy(copy, data + 1, size - 1);
		/* Fix up body then header CRC (offsets 96 and 100) so the
		 * parser gets past them; the header is 104 bytes in
		 * version 1, 120 from version 2 on. */
		if (data[0] % 5 == 1 && size - 1 >= 104) {
			uint32_t version, crc;
			size_t hlen;

			memcpy(&version, copy + 4, 4);
			hlen = version == 1 ? 104 : 120;
			if (size - 1 >= hlen) {
				crc = maildir_checksum(copy + hlen,
						       size - 1 - hlen);
				memcpy(copy + 96, &crc, 4);
				memset(copy + 100, 0, 4);
				crc = maildir_crc32c(0, copy, hlen);
				memcpy(copy + 100, &crc, 4);
			}
		}
		put("posthorn-index", copy, size - 1);
		free(copy);
		if (maildir_index_load(dir, &idx) == PH_OK) {
			roundtrip(idx);
			maildir_index_free(&idx);
		}
		break;
	}
	case 2: {
		struct maildir_uidlist ul;

		put("posthorn-uidlist", data + 1, size - 1);
		if (maildir_uidlist_read(dir, &ul) == PH_OK)
			maildir_uidlist_clear(&ul);
		break;
	}
	default:
		idx = valid_index();
		if (maildir_index_write(dir, idx, false) != PH_OK)
			abort();
		maildir_index_free(&idx);
		put("posthorn-index.log", data + 1, size - 1);
		if (maildir_index_load(dir, &idx) == PH_OK) {
			roundtrip(idx);
			maildir_index_free(&idx);
		}
		break;
	}
	return 0;
}
