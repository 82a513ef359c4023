/* maildir-private.h - shared declarations of the storage-maildir plugin.
 *
 * On disk (docs/maildir.md has the full picture):
 *   ROOT/{cur,new,tmp}            INBOX
 *   ROOT/.A.B/{cur,new,tmp}       mailbox "A<sep>B" (Maildir++), with an
 *                                 empty `maildirfolder` marker
 *   MBOXDIR/posthorn-index        binary index (maildir-index.c)
 *   MBOXDIR/posthorn-index.log    STORE changes since (maildir-index.c)
 *   MBOXDIR/posthorn-uidlist      text uid list (maildir-uidlist.c)
 *   MBOXDIR/posthorn-cache        cache_get/set values (maildir-cache.h)
 *   MBOXDIR/posthorn-cache-lock   OFD lock file for replacing the cache
 *   MBOXDIR/posthorn-lock         OFD lock file for index updates
 *   MBOXDIR/posthorn-pop3-lock    OFD lock file for the POP3 maildrop lock
 *   ROOT/subscriptions            one subscribed name per line
 *   ROOT/posthorn-special-use     "name<TAB>\Attr" lines
 *   ROOT/posthorn-uidvalidity     last UIDVALIDITY handed out
 */
#ifndef MAILDIR_PRIVATE_H
#define MAILDIR_PRIVATE_H

#include <posthorn/posthorn.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#define MAILDIR_NAME_MAX	255   /* bytes of an API mailbox name */
#define MAILDIR_KEYWORDS_MAX	64    /* keywords per mailbox */
#define MAILDIR_KEYWORD_LEN	128   /* bytes of one keyword */
#define MAILDIR_CACHE_FIELD_MAX 65536 /* bytes of one cache value */
#define MAILDIR_FILENAME_MAX	255

/* View-only flag bits kept beside the PH_FLAG_* bits. */
#define MAILDIR_VFLAG_EXPUNGED	  (1u << 30) /* gone; kept by NO_EXPUNGE */
#define MAILDIR_VFLAG_OWN_EXPUNGE (1u << 29) /* expunged by this view */

extern const struct ph_core_api *maildir_api;

struct maildir_settings {
	char *root;		  /* template, may be NULL */
	char separator;		  /* '/' or '.' */
	char *special_use;	  /* "Sent:\Sent Drafts:\Drafts ..." or NULL */
	uint32_t expunge_horizon; /* expunged uids remembered */
	bool fsync;
};

/* snprintf for paths and names: truncation is checked where it matters
 * (names are validated to fit long before), so no warning per call. */
int maildir_fmt(char *buf, size_t size, const char *fmt, ...) PH_PRINTF(3, 4);

/* ---- crc (maildir-crc.c) ---- */
uint32_t maildir_crc32c(uint32_t crc, const void *data, size_t len);
/* The index body checksum (CRC-32C based, see maildir-crc.c). */
uint32_t maildir_checksum(const void *data, size_t len);

/* ---- names (maildir-name.c) ---- */
/* Validates an API name and writes its directory (relative to the user
 * root: "" for INBOX, ".A.B" otherwise) into dir_r. Returns PH_OK or
 * PH_EINVAL with *error_r. *is_inbox_r set when it is INBOX. */
int maildir_name_to_dir(char sep, const char *name, char *dir_r,
			size_t dir_size, bool *is_inbox_r,
			const char **error_r);
/* The API name of directory entry `dirent` (".A.B"); PH_EINVAL when the
 * entry is not a mailbox directory name we could have made. */
int maildir_dir_to_name(char sep, const char *dirent, char *name_r,
			size_t name_size);
/* True when `name` is INBOX (case-insensitive). */
bool maildir_name_is_inbox(const char *name);
/* Validates a keyword (an IMAP atom, not starting with '\'). */
bool maildir_keyword_valid(const char *name);

/* ---- file names (maildir-filename.c) ---- */
/* Makes a new unique base name "SEC.MUSECPPIDQN.HOST" (no sizes). */
void maildir_filename_new_base(char *buf, size_t size);
/* Length of the base part of `name` (up to ":2," or the end). */
size_t maildir_filename_base_len(const char *name);
/* PH_FLAG_* bits from the ":2,XYZ" info part. */
uint32_t maildir_filename_flags(const char *name);
/* Rebuilds `name` with `flags`, keeping unknown info letters. Returns the
 * length or PH_ETOOBIG. */
int maildir_filename_set_flags(const char *name, uint32_t flags, char *buf,
			       size_t size);
/* The ,S= and ,W= values of the base, 0 when missing. */
void maildir_filename_sizes(const char *name, uint64_t *psize_r,
			    uint64_t *vsize_r);

/* ---- locks (maildir-lock.c) ---- */
/* Takes an exclusive OFD lock on dir/file (created 0600), waiting up to a
 * few seconds. Returns the fd (>= 0) or PH_ETEMP / PH_EIO. */
int maildir_lock_take(const char *dir, const char *file);
/* Non-blocking variant: PH_EINUSE when another description holds it. */
int maildir_lock_try(const char *dir, const char *file);
void maildir_lock_release(int *fd);

/* ---- index (maildir-index.c) ---- */
struct maildir_rec {
	uint32_t uid;
	uint32_t flags; /* PH_FLAG_* storable bits */
	uint64_t keywords;
	uint64_t modseq;
	uint64_t vsize; /* RFC822.SIZE; 0 = unknown */
	uint64_t psize;
	int64_t date;	   /* mtime, seconds; MAILDIR_DATE_UNKNOWN */
	uint32_t name_off; /* into names (see maildir_index_name) */
	uint32_t name_len;
};

/* maildir_rec.date of a file indexed from its directory entry alone (no
 * stat at scan time): the view stats it on first use and the learned
 * date is written back to the index (maildir-view.c). */
#define MAILDIR_DATE_UNKNOWN INT64_MIN

/* Set in maildir_rec.flags of a record removed in memory; dropped when
 * the index is written. */
#define MAILDIR_REC_REMOVED (1u << 31)
extern uint32_t maildir_index_horizon; /* expunge_horizon setting */

struct maildir_expunged {
	uint32_t uid;
	uint32_t pad;
	uint64_t modseq;
};

struct maildir_index {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t first_recent_uid;
	uint64_t highestmodseq;
	uint64_t horizon_modseq; /* expunges at or below are forgotten */
	int64_t new_mtime_ns;	 /* new/ and cur/ as last scanned; 0 = dirty */
	int64_t cur_mtime_ns;
	uint64_t generation;
	uint64_t log_size; /* bytes of posthorn-index.log accounted for */
	/* SELECT counters of recs as written (index header): unseen
	 * messages, position+1 of the first (0: none), sum of sizes.
	 * Cleared by any change (maildir_index_make_mutable). */
	bool counters_valid;
	uint32_t unseen, first_unseen;
	uint64_t size_sum;

	struct maildir_rec *recs;
	uint32_t count, recs_alloc;
	bool recs_owned;

	struct maildir_expunged *expunged;
	uint32_t expunged_count, expunged_alloc;
	bool expunged_owned;

	char *kw[MAILDIR_KEYWORDS_MAX];
	unsigned kw_count;

	const char *names; /* mapped names blob */
	uint32_t names_len;
	char *extra; /* names added since loading; offsets past names */
	uint32_t extra_len, extra_alloc;

	void *map;
	size_t map_len;
	dev_t dev; /* identity of the file it was loaded from */
	ino_t ino;
};

struct maildir_index *maildir_index_new(uint32_t uidvalidity);
void maildir_index_free(struct maildir_index **idx);
/* Loads dir/posthorn-index. PH_ENOTFOUND when missing, PH_EIO (logged)
 * when corrupt. */
int maildir_index_load(const char *dir, struct maildir_index **idx_r);
/* Writes dir/posthorn-index atomically (tmp + rename). Caller holds the
 * lock. */
int maildir_index_write(const char *dir, struct maildir_index *idx,
			bool do_fsync);
/* Appends the flag/keyword/modseq changes of records `pos[0..n)` (and
 * the cur/ mtime and HIGHESTMODSEQ) to posthorn-index.log instead of
 * rewriting the index. PH_ETOOBIG when the log is due for compaction:
 * then write the index. Caller holds the lock. */
int maildir_index_log_changes(const char *dir, struct maildir_index *idx,
			      const uint32_t *pos, size_t n, bool do_fsync);
/* True when dir/posthorn-index (or its log) is no longer what idx
 * reflects. */
bool maildir_index_changed(const char *dir, const struct maildir_index *idx);
const char *maildir_index_name(const struct maildir_index *idx,
			       const struct maildir_rec *rec);
/* Position of uid (binary search) or -1. */
int64_t maildir_index_find(const struct maildir_index *idx, uint32_t uid);
int maildir_index_set_name(struct maildir_index *idx, struct maildir_rec *rec,
			   const char *name, size_t len);
int maildir_index_make_mutable(struct maildir_index *idx);
/* Appends a record (uid must be > every uid). */
int maildir_index_append(struct maildir_index *idx,
			 const struct maildir_rec *rec, const char *name);
/* Marks the record at pos removed and remembers (uid, modseq); the
 * expunge horizon applies when the index is written. */
int maildir_index_remove(struct maildir_index *idx, uint32_t pos,
			 uint64_t modseq);
int maildir_index_keyword(struct maildir_index *idx, const char *name,
			  bool create, unsigned *index_r);

/* ---- uid list (maildir-uidlist.c) ---- */
struct maildir_uidlist_entry {
	uint32_t uid;
	char *base;
};
struct maildir_uidlist {
	uint32_t uidvalidity, uidnext;
	struct maildir_uidlist_entry *e;
	size_t count;
};
/* PH_ENOTFOUND when missing or unreadable. */
int maildir_uidlist_read(const char *dir, struct maildir_uidlist *ul);
void maildir_uidlist_clear(struct maildir_uidlist *ul);
/* Writes the uid list of `idx` from scratch (tmp + rename). */
int maildir_uidlist_rewrite(const char *dir, const struct maildir_index *idx,
			    bool do_fsync);
/* Appends "uid base" lines for records [from, idx->count). */
int maildir_uidlist_append(const char *dir, const struct maildir_index *idx,
			   uint32_t from, bool do_fsync);

/* ---- user (maildir-user.c) ---- */
struct maildir_storage {
	struct maildir_settings set;
};

struct ph_mail_user {
	struct maildir_storage *storage;
	const ph_user *user;
	char *root;
	char sep;
	struct ph_mailbox *views; /* open views, linked */
};

/* Full path of the mailbox directory for `name`: root + "/" + dir. */
int maildir_user_mailbox_path(ph_mail_user *mu, const char *name, char *path_r,
			      size_t size, bool *is_inbox_r,
			      const char **error_r);
uint32_t maildir_user_new_uidvalidity(ph_mail_user *mu);
int maildir_user_special_use_get(ph_mail_user *mu, const char *name,
				 uint32_t *attrs_r);
int maildir_user_special_use_set(ph_mail_user *mu, const char *name,
				 uint32_t attrs);
/* Renames (to != NULL) or drops entries of `from` and its children. */
int maildir_user_special_use_rename(ph_mail_user *mu, const char *from,
				    const char *to);
int maildir_user_subscriptions(ph_mail_user *mu, char ***names_r,
			       size_t *count_r);
void maildir_strv_free(char **v, size_t n);

/* ---- mailbox directories (maildir-sync.c) ---- */
/* Makes cur/ new/ tmp/ under path (0700). */
int maildir_dir_create(const char *path);
/* Returns an up-to-date index for the mailbox: reloads, rescans the
 * directories when they changed (under the lock), writes it back. With
 * `locked` the caller already holds the lock. */
int maildir_sync_index(ph_mail_user *mu, const char *path, bool locked,
		       struct maildir_index **idx_r, const char **error_r);
/* True when the directories still match what idx recorded. */
bool maildir_sync_is_fresh(const char *path, const struct maildir_index *idx);
/* Stores the current mtime of cur/ (after own changes under the lock). */
void maildir_sync_note_cur(const char *path, struct maildir_index *idx);
/* Virtual size (CRLF) of an open file. */
int maildir_file_vsize(int fd, uint64_t *vsize_r);
int maildir_fsync_dir(const char *path);

/* ---- cache (maildir-cache.c) ---- */
struct maildir_cache;
/* Which uids a compaction keeps: those of the closing view, and any above
 * max_uid (they may have arrived after the view was made). */
struct maildir_cache_live {
	bool (*has_uid)(void *ctx, uint32_t uid);
	void *ctx;
	uint32_t max_uid;
};
void maildir_cache_free(struct maildir_cache **c);
/* Frees the view's cache, first compacting the file when its log has
 * grown big enough (maildir-cache.c). */
void maildir_cache_close(struct maildir_cache **c, const char *dir,
			 const struct maildir_cache_live *live);
int maildir_cache_get(struct maildir_cache **c, const char *dir,
		      uint32_t uidvalidity, uint32_t uid, const char *field,
		      struct ph_str *value_r);
int maildir_cache_set(struct maildir_cache **c, const char *dir,
		      uint32_t uidvalidity, uint32_t uid, const char *field,
		      struct ph_str value);

/* ---- views (maildir-view.c) ---- */
/* A message as the view shows it: its own copy of what may change (so
 * other sessions' changes appear only at sync) and of what a FETCH needs
 * after another session expunged it. */
struct maildir_vmsg {
	uint32_t uid;
	uint32_t flags; /* PH_FLAG_* | MAILDIR_VFLAG_* */
	uint32_t rec;	/* position in box->idx->recs, UINT32_MAX when gone */
	uint32_t pad;
	uint64_t keywords;
	uint64_t modseq;
	uint64_t vsize, psize;
	int64_t date;
};
#define MAILDIR_NO_REC UINT32_MAX

struct ph_mailbox {
	ph_mail_user *mu;
	struct ph_mailbox *next;
	char name[MAILDIR_NAME_MAX + 1];
	char path[PATH_MAX];
	bool readonly;
	/* The view adopted an index it has not been merged with yet (own
	 * changes; the index may also carry other sessions' changes). */
	bool diff_pending;
	struct maildir_index *idx;
	/* Built on first use (maildir_view_msgs): until then the view is
	 * idx->recs as they are (count == idx->count, idx untouched), with
	 * messages from deferred_recent on (0: none) \Recent. SELECT then
	 * copies nothing. */
	struct maildir_vmsg *msgs;
	uint32_t count, alloc;
	bool msgs_deferred;
	uint32_t deferred_recent;
	int pop3_lock_fd;
	int watch_fd;	   /* mailbox_watch_fd(): eventfd or inotify; -1 */
	bool watch_shared; /* an eventfd of the shared instance */
	struct maildir_cache *cache;
	/* Counters of msgs (get_status), computed while the view is built
	 * at open and again after any change to msgs marks them stale. */
	bool status_valid;
	uint32_t st_recent, st_unseen, st_first_unseen;
	uint64_t st_size;
	/* Internal dates stat()ed since the index last had them: written
	 * back at the next sync or at close (maildir_view_persist_dates). */
	uint32_t dates_learned;
	/* Keyword names as this view knows them: they only grow, so the
	 * pointers keyword_name() lends stay valid for the view's life. */
	char *kw[MAILDIR_KEYWORDS_MAX];
	unsigned kw_count;
};

/* Builds box->msgs if they are still deferred. PH_ENOMEM. */
int maildir_view_msgs(struct ph_mailbox *box);
/* Adopts `idx` (taken) as the view's index, remapping rec positions,
 * without changing what the view shows. */
void maildir_view_adopt(struct ph_mailbox *box, struct maildir_index *idx);
/* The internal date of m, stat()ing its file when the index does not
 * know it yet. A file that vanished gives the date of its base name (the
 * delivery second) or 0, and is not remembered. */
int64_t maildir_view_date(struct ph_mailbox *box, struct maildir_vmsg *m);
/* Syncs the mailbox and the view (the op). */
int maildir_view_sync(ph_mailbox *box, unsigned flags,
		      const struct ph_sync_callbacks *cb, void *ctx,
		      const char **error_r);

/* ---- ops implemented across files ---- */
int maildir_user_open(void *state, const ph_user *user, ph_mail_user **mu_r,
		      const char **error_r);
void maildir_user_close(ph_mail_user **mu);
char maildir_mailbox_separator(ph_mail_user *mu);
int maildir_mailbox_list(ph_mail_user *mu, ph_mailbox_list_fn *cb, void *ctx,
			 const char **error_r);
int maildir_mailbox_create(ph_mail_user *mu, const char *name,
			   uint32_t special_use, const char **error_r);
int maildir_mailbox_delete(ph_mail_user *mu, const char *name,
			   const char **error_r);
int maildir_mailbox_rename(ph_mail_user *mu, const char *from, const char *to,
			   const char **error_r);
int maildir_mailbox_subscribe(ph_mail_user *mu, const char *name, int subscribe,
			      const char **error_r);
int maildir_mailbox_status(ph_mail_user *mu, const char *name,
			   struct ph_mailbox_status *status_r,
			   const char **error_r);
int maildir_mailbox_open(ph_mail_user *mu, const char *name, unsigned flags,
			 ph_mailbox **box_r, const char **error_r);
void maildir_mailbox_close(ph_mailbox **box);
int maildir_mailbox_get_status(ph_mailbox *box,
			       struct ph_mailbox_status *status_r);
int maildir_mailbox_watch_fd(ph_mailbox *box);
/* ---- change notification (maildir-watch.c) ---- */
/* Empties the view's watch fd (a sync is about to see the changes). */
void maildir_watch_drain(ph_mailbox *box);
/* Stops notifying the view and closes its watch fd. */
void maildir_watch_close(ph_mailbox *box);
int maildir_mailbox_lock(ph_mailbox *box, const char **error_r);
uint32_t maildir_message_count(ph_mailbox *box);
int maildir_message_info(ph_mailbox *box, uint32_t seq,
			 struct ph_message_info *info);
int maildir_message_uid_range(ph_mailbox *box, uint32_t uid_lo, uint32_t uid_hi,
			      uint32_t *seq_lo_r, uint32_t *seq_hi_r);
int maildir_message_open(ph_mailbox *box, uint32_t seq,
			 struct ph_message_body *body_r, const char **error_r);
void maildir_message_close(ph_mailbox *box, struct ph_message_body *body);
int maildir_cache_get_op(ph_mailbox *box, uint32_t seq, const char *field,
			 struct ph_str *value_r);
int maildir_cache_set_op(ph_mailbox *box, uint32_t seq, const char *field,
			 struct ph_str value);
int maildir_keyword_index(ph_mailbox *box, const char *name, int create,
			  unsigned *index_r);
const char *maildir_keyword_name(ph_mailbox *box, unsigned index);
int maildir_messages_store(ph_mailbox *box, const uint32_t *seqs, size_t count,
			   const struct ph_store_request *req,
			   uint32_t *conflicts_r, size_t *conflict_count_r,
			   const char **error_r);
int maildir_messages_expunge(ph_mailbox *box, const uint32_t *seqs,
			     size_t count, const char **error_r);
int maildir_messages_copy(ph_mailbox *box, const uint32_t *seqs, size_t count,
			  const char *dest, int move,
			  uint32_t *dest_uidvalidity_r, uint32_t *dest_uids_r,
			  const char **error_r);
int maildir_mailbox_expunged_since(ph_mailbox *box, uint64_t modseq,
				   ph_uid_fn *cb, void *ctx);
int maildir_append_begin(ph_mail_user *mu, const char *name,
			 const struct ph_append_request *req, ph_append **ap_r,
			 const char **error_r);
int maildir_append_write(ph_append *ap, const void *data, size_t len,
			 const char **error_r);
int maildir_append_commit(ph_append **ap, uint32_t *uidvalidity_r,
			  uint32_t *uid_r, const char **error_r);
void maildir_append_abort(ph_append **ap);
int maildir_append_commit_all(ph_append **aps, size_t count,
			      uint32_t *uidvalidity_r, uint32_t *uids_r,
			      const char **error_r);

#endif
