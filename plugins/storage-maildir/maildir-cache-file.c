/* maildir-cache-file.c - reading posthorn-cache (format in
 * maildir-cache.h): the mapping, its header and TOC, records and sections.
 *
 * The file is mapped read-only: views share the page cache instead of
 * each copying up to 256 MiB to the heap. It is never truncated or written
 * in place below its current end (it is replaced by rename()), so a
 * mapping stays valid for as long as a view holds it. Every offset read
 * from the file is checked against the mapping before use. */
#include "maildir-cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The header and TOC of data[0..len) are whole and of `uidvalidity`. */
static bool map_parse(struct cache_map *m, const unsigned char *data,
		      size_t len, uint32_t uidvalidity)
{
	struct cache_header h;
	size_t toc_len;
	uint32_t crc;

	if (len < sizeof(h))
		return false;
	memcpy(&h, data, sizeof(h));
	if (memcmp(h.magic, CACHE_MAGIC, 4) != 0 ||
	    h.uidvalidity != uidvalidity || h.nfields > CACHE_FIELDS_MAX)
		return false;
	toc_len = (size_t)h.nfields * sizeof(struct cache_toc_entry);
	if (h.base_len < sizeof(h) + toc_len || h.base_len > len)
		return false;
	crc = h.toc_crc;
	h.toc_crc = 0;
	if (maildir_crc32c(maildir_crc32c(0, &h, sizeof(h)), data + sizeof(h),
			   toc_len) != crc)
		return false;
	m->base_len = h.base_len;
	m->nfields = h.nfields;
	m->toc = data + sizeof(h);
	return true;
}

int maildir_cache_map_open(const char *dir, uint32_t uidvalidity,
			   struct cache_map *m)
{
	char path[PATH_MAX];
	struct stat st;
	void *map;
	int fd;

	memset(m, 0, sizeof(*m));
	maildir_fmt(path, sizeof(path), "%s/" CACHE_FILE, dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? PH_OK : PH_EIO;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < (off_t)sizeof(struct cache_header) ||
	    st.st_size > CACHE_MAX_FILE) {
		close(fd);
		return PH_OK; /* unusable: treated as empty, replaced later */
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return PH_EIO;
	if (!map_parse(m, map, (size_t)st.st_size, uidvalidity)) {
		munmap(map, (size_t)st.st_size);
		memset(m, 0, sizeof(*m));
		return PH_OK;
	}
	m->data = map;
	m->len = (size_t)st.st_size;
	return PH_OK;
}

void maildir_cache_map_close(struct cache_map *m)
{
	if (m->data != NULL)
		munmap((void *)m->data, m->len);
	memset(m, 0, sizeof(*m));
}

struct cache_section maildir_cache_map_section(const struct cache_map *m,
					       const char *field, size_t flen)
{
	struct cache_section s = {NULL, 0};

	for (uint32_t k = 0; k < m->nfields; k++) {
		struct cache_toc_entry e;

		memcpy(&e, m->toc + k * sizeof(e), sizeof(e));
		if (e.name_len != flen || flen > CACHE_FIELD_LEN ||
		    memcmp(e.name, field, flen) != 0)
			continue;
		if (e.index_off > m->base_len ||
		    e.count > (m->base_len - e.index_off) /
				  sizeof(struct cache_index_entry))
			return s; /* the TOC's CRC held, the writer lied */
		s.index = m->data + e.index_off;
		s.count = e.count;
		return s;
	}
	return s;
}

size_t maildir_cache_rec_len(const unsigned char *data, size_t off, size_t end)
{
	struct cache_rec_hdr h;
	size_t n;

	if (off > end || end - off < sizeof(h))
		return 0;
	memcpy(&h, data + off, sizeof(h));
	if (h.field_len == 0 || h.field_len > CACHE_FIELD_LEN ||
	    h.value_len > MAILDIR_CACHE_FIELD_MAX)
		return 0;
	n = sizeof(h) + h.field_len + (size_t)h.value_len;
	return n <= end - off ? n : 0;
}

bool maildir_cache_rec_crc_ok(const unsigned char *rec)
{
	struct cache_rec_hdr h;

	memcpy(&h, rec, sizeof(h));
	return maildir_crc32c(0, rec + 4,
			      sizeof(h) - 4 + h.field_len +
				  (size_t)h.value_len) == h.crc;
}

const unsigned char *maildir_cache_section_get(const struct cache_map *m,
					       struct cache_section s,
					       const char *field, size_t flen,
					       uint32_t uid)
{
	uint32_t lo = 0, hi = s.count;
	const unsigned char *rec;
	struct cache_rec_hdr h;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (get_u32(s.index + (size_t)mid * 8) < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s.count || get_u32(s.index + (size_t)lo * 8) != uid)
		return NULL;
	lo = get_u32(s.index + (size_t)lo * 8 + 4); /* the record's offset */
	if (maildir_cache_rec_len(m->data, lo, m->base_len) == 0)
		return NULL;
	rec = m->data + lo;
	memcpy(&h, rec, sizeof(h));
	if (h.uid != uid || h.field_len != flen ||
	    memcmp(rec + sizeof(h), field, flen) != 0 ||
	    !maildir_cache_rec_crc_ok(rec))
		return NULL;
	return rec;
}

unsigned char *maildir_cache_rec_make(uint32_t uid, const char *field,
				      size_t flen, struct ph_str value,
				      size_t *len_r)
{
	struct cache_rec_hdr h = {.uid = uid,
				  .field_len = (uint16_t)flen,
				  .value_len = (uint32_t)value.len};
	size_t n = sizeof(h) + flen + value.len;
	unsigned char *rec = malloc(n);

	if (rec == NULL)
		return NULL;
	memcpy(rec, &h, sizeof(h));
	memcpy(rec + sizeof(h), field, flen);
	if (value.len > 0)
		memcpy(rec + sizeof(h) + flen, value.data, value.len);
	h.crc = maildir_crc32c(0, rec + 4, n - 4);
	memcpy(rec, &h.crc, sizeof(h.crc));
	*len_r = n;
	return rec;
}
