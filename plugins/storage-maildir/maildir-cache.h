/* maildir-cache.h - the posthorn-cache file format, shared by the view
 * side (maildir-cache.c), the file reader (maildir-cache-file.c) and the
 * compaction (maildir-cache-compact.c).
 *
 *   header   "PHC2" uidvalidity base_len nfields toc_crc reserved (u32s)
 *   TOC      nfields entries: name[64] name_len(u16) pad(u16) count(u32)
 *            index_off(u32)                 (toc_crc: header + TOC)
 *   sections per field: count {uid, off} pairs sorted by uid, then the
 *            records they point to, in uid order
 *   log      from base_len on: records appended since the last
 *            compaction, later ones winning
 *   record   crc(u32) uid(u32) field_len(u16) pad(u16) value_len(u32)
 *            field bytes, value bytes       (crc over all after it)
 *
 * The compacted part (header to base_len) is written whole by one
 * rename() and never changes; appends only add to the log. So a view maps
 * the file once and needs no table for the compacted part: a lookup is a
 * binary search in the field's section. Only the log is walked, one walk
 * per field asked for. */
#ifndef MAILDIR_CACHE_H
#define MAILDIR_CACHE_H

#include "maildir-private.h"

#include <stdint.h>

#define CACHE_FILE  "posthorn-cache"
#define CACHE_TMP   "posthorn-cache.tmp"
#define CACHE_LOCK  "posthorn-cache-lock" /* replacing the file */
#define CACHE_MAGIC "PHC2"
/* Mapped, not copied: the bound is on disk and page cache, and on the
 * compaction's index (24 bytes a record). 256 MiB holds every cached value
 * of a 100,000-message mailbox. */
#ifndef CACHE_MAX_FILE /* tests build with a small one */
#define CACHE_MAX_FILE (256LL * 1024 * 1024)
#endif
#define CACHE_FIELD_LEN	 64
#define CACHE_FIELDS_MAX 32 /* per file and per view; more are not cached */

struct cache_header {
	char magic[4];
	uint32_t uidvalidity;
	uint32_t base_len; /* header, TOC and sections: where the log starts */
	uint32_t nfields;
	uint32_t toc_crc; /* over the header (this field 0) and the TOC */
	uint32_t reserved;
};

struct cache_toc_entry {
	char name[CACHE_FIELD_LEN];
	uint16_t name_len;
	uint16_t pad;
	uint32_t count;
	uint32_t index_off;
};

struct cache_index_entry {
	uint32_t uid;
	uint32_t off;
};

struct cache_rec_hdr {
	uint32_t crc;
	uint32_t uid;
	uint16_t field_len;
	uint16_t pad;
	uint32_t value_len;
};

/* A mapped cache file: empty (data NULL) when missing or unusable. */
struct cache_map {
	const unsigned char *data;
	size_t len;
	uint32_t base_len, nfields;
	const unsigned char *toc;
};

/* One field's section in a map: count index entries. */
struct cache_section {
	const unsigned char *index;
	uint32_t count;
};

/* Maps dir/posthorn-cache when it is a cache of `uidvalidity` with an
 * intact header and TOC; otherwise leaves `m` empty. PH_OK either way,
 * PH_EIO when the file exists but cannot be read. */
int maildir_cache_map_open(const char *dir, uint32_t uidvalidity,
			   struct cache_map *m);
void maildir_cache_map_close(struct cache_map *m);
/* The section of `field` (flen bytes); count 0 when none. */
struct cache_section maildir_cache_map_section(const struct cache_map *m,
					       const char *field, size_t flen);
/* Record of `uid` in section `s`, its CRC, uid and field checked; NULL
 * when absent or damaged. */
const unsigned char *maildir_cache_section_get(const struct cache_map *m,
					       struct cache_section s,
					       const char *field, size_t flen,
					       uint32_t uid);
/* Length of the record at data[off] if its header fits before `end`
 * (the CRC is not checked); 0 when torn or damaged. */
size_t maildir_cache_rec_len(const unsigned char *data, size_t off, size_t end);
bool maildir_cache_rec_crc_ok(const unsigned char *rec);
/* Builds a record (header, field, value, CRC) in malloc()ed memory. */
unsigned char *maildir_cache_rec_make(uint32_t uid, const char *field,
				      size_t flen, struct ph_str value,
				      size_t *len_r);
/* Writes a cache holding only `m`'s live records to CACHE_TMP and
 * renames it over CACHE_FILE (maildir-cache-compact.c). */
int maildir_cache_write_compacted(const char *dir, uint32_t uidvalidity,
				  const struct cache_map *m,
				  const struct maildir_cache_live *live);

#endif
