/*
 * posthorn/storage.h - what a storage plugin implements.
 *
 * Protocol plugins reach the configured storage with api->storage_get()
 * and call these ops directly, in the worker, on the loop thread. Calls
 * touch local disk only and are short; message bodies are never returned
 * whole, only as (fd, offset, length) so the core can stream or sendfile
 * them.
 *
 * Names: mailbox names cross this ABI as NUL-terminated UTF-8 with the
 * storage's hierarchy separator (mailbox_separator()); "INBOX" is the
 * inbox, matched case-insensitively by the storage. Protocol plugins do
 * wire encodings (modified UTF-7) themselves.
 *
 * Views: mailbox_open() returns a view, a snapshot numbered 1..count
 * (sequence numbers, ascending UIDs). A view changes only inside
 * mailbox_sync() and inside this session's own store/expunge calls, so
 * sequence numbers stay valid between syncs even when another session
 * expunges: its bodies then fail with PH_ENOTFOUND.
 */
#ifndef POSTHORN_STORAGE_H
#define POSTHORN_STORAGE_H

#include "core.h"

/* A user's mail store, opened after login (defined by the plugin). */
typedef struct ph_mail_user ph_mail_user;
/* An open mailbox view (defined by the plugin). */
typedef struct ph_mailbox ph_mailbox;
/* An append in progress (defined by the plugin). */
typedef struct ph_append ph_append;

/* System flags, as in RFC 3501. */
enum ph_mail_flag {
	PH_FLAG_SEEN = 1u << 0,
	PH_FLAG_ANSWERED = 1u << 1,
	PH_FLAG_FLAGGED = 1u << 2,
	PH_FLAG_DELETED = 1u << 3,
	PH_FLAG_DRAFT = 1u << 4,
	PH_FLAG_RECENT = 1u << 5, /* read-only: this view saw it first */
};
#define PH_FLAGS_STORABLE 0x1fu

/* Mailbox attributes (LIST, RFC 3501 / 5258 / 6154). */
enum ph_mailbox_attr {
	PH_MBOX_NOSELECT = 1u << 0,
	PH_MBOX_NOINFERIORS = 1u << 1,
	PH_MBOX_HASCHILDREN = 1u << 2,
	PH_MBOX_HASNOCHILDREN = 1u << 3,
	PH_MBOX_MARKED = 1u << 4,
	PH_MBOX_UNMARKED = 1u << 5,
	PH_MBOX_SUBSCRIBED = 1u << 6,
	PH_MBOX_NONEXISTENT = 1u << 7, /* subscribed but does not exist */
	PH_MBOX_ALL = 1u << 8,	/* special-use, RFC 6154 */
	PH_MBOX_ARCHIVE = 1u << 9,
	PH_MBOX_DRAFTS = 1u << 10,
	PH_MBOX_FLAGGED = 1u << 11,
	PH_MBOX_JUNK = 1u << 12,
	PH_MBOX_SENT = 1u << 13,
	PH_MBOX_TRASH = 1u << 14,
};
#define PH_MBOX_SPECIAL_USE_MASK 0x7f00u

/* One entry of mailbox_list(); borrowed for the callback only. */
struct ph_mailbox_info {
	uint32_t struct_size;
	const char *name; /* UTF-8, NUL-terminated */
	uint32_t attrs;	  /* enum ph_mailbox_attr */
	/* ABI 1.0 ends here. */
};
/* Return < 0 to stop the listing (that value is returned by
 * mailbox_list). */
typedef int ph_mailbox_list_fn(void *ctx, const struct ph_mailbox_info *info);

/* Counters of a mailbox (STATUS, SELECT). Caller sets struct_size. */
struct ph_mailbox_status {
	uint32_t struct_size;
	uint32_t messages;
	uint32_t recent;
	uint32_t unseen;
	uint32_t first_unseen_seq; /* 0 when none; views only */
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint64_t size; /* sum of RFC822.SIZE */
	int readonly;  /* views only */
	int keywords_creatable; /* "\*" in PERMANENTFLAGS */
	/* ABI 1.0 ends here. */
};
#define PH_MAILBOX_STATUS_INIT {.struct_size = sizeof(struct ph_mailbox_status)}

/* Per-message facts. Caller sets struct_size. */
struct ph_message_info {
	uint32_t struct_size;
	uint32_t uid;
	uint32_t flags;	   /* enum ph_mail_flag */
	uint64_t keywords; /* bit i = keyword i of this mailbox */
	uint64_t modseq;
	int64_t internal_date;	/* seconds since the epoch, UTC */
	int32_t internal_tz;	/* minutes east of UTC for display */
	uint64_t size;		/* RFC822.SIZE: the size with CRLF ends */
	uint64_t physical_size; /* bytes as stored */
	int expunged;		/* removed by another session since the
				   last sync; the body is gone */
	/* ABI 1.0 ends here. */
	/* What the caller will not read (enum ph_message_info_omit), set
	 * before the call; 0 asks for everything. 64 bits so that it starts
	 * past the 1.0 struct's tail padding, which old callers may leave
	 * uninitialised. Storages of ABI 1.1 and older fill everything. */
	uint64_t omit;
	/* ABI 1.2 ends here. */
};

/* Parts of ph_message_info a caller can do without (ABI 1.2): a storage
 * may then skip what they cost, e.g. a stat() per message for the date
 * of a message it has not indexed yet, or a read of the whole file for
 * the size with CRLF line ends. Omitted fields are unspecified. */
enum ph_message_info_omit {
	PH_MESSAGE_INFO_OMIT_DATE = 1u << 0, /* internal_date, internal_tz */
	PH_MESSAGE_INFO_OMIT_SIZE = 1u << 1, /* size */
};
/* For callers that read only uid, flags, keywords, modseq and expunged. */
#define PH_MESSAGE_INFO_LIGHT_INIT                                             \
	{.struct_size = sizeof(struct ph_message_info),                        \
	 .omit = PH_MESSAGE_INFO_OMIT_DATE | PH_MESSAGE_INFO_OMIT_SIZE}
#define PH_MESSAGE_INFO_INIT {.struct_size = sizeof(struct ph_message_info)}

/* A message body to stream. `fd` is owned by the storage until
 * message_close(); read it with pread() at [offset, offset+length). */
struct ph_message_body {
	uint32_t struct_size;
	int fd;
	uint64_t offset;
	uint64_t length;
	int crlf; /* 1: stored with CR LF ends (wire form); 0: bare LF */
	/* ABI 1.0 ends here. */
};
#define PH_MESSAGE_BODY_INIT {.struct_size = sizeof(struct ph_message_body), .fd = -1}

/* What mailbox_sync() reports, in this order: expunges (descending
 * sequence numbers, so each number is valid when reported and can be sent
 * as "* n EXPUNGE" at once), then flag changes (by new sequence number),
 * then the new message count if it grew. Any callback may be NULL. */
struct ph_sync_callbacks {
	uint32_t struct_size;
	void (*expunged)(void *ctx, uint32_t seq, uint32_t uid);
	void (*changed)(void *ctx, uint32_t seq,
			const struct ph_message_info *info);
	void (*exists)(void *ctx, uint32_t count);
	/* ABI 1.0 ends here. */
};

enum ph_sync_flags {
	/* Keep expunged messages in the view (marked `expunged`) and do not
	 * report them: for commands during which EXPUNGE may not be sent. */
	PH_SYNC_NO_EXPUNGE = 1u << 0,
};

enum ph_open_flags {
	PH_OPEN_READONLY = 1u << 0, /* EXAMINE: no flag changes, no \Recent
				       claimed */
};

enum ph_store_mode {
	PH_STORE_REPLACE = 0,
	PH_STORE_ADD = 1,
	PH_STORE_REMOVE = 2,
};

struct ph_store_request {
	uint32_t struct_size;
	enum ph_store_mode mode;
	uint32_t flags;	       /* PH_FLAGS_STORABLE bits */
	uint64_t keywords;     /* keyword bits */
	uint64_t unchangedsince; /* 0: unconditional (RFC 7162) */
	/* ABI 1.0 ends here. */
};
#define PH_STORE_REQUEST_INIT {.struct_size = sizeof(struct ph_store_request)}

struct ph_append_request {
	uint32_t struct_size;
	uint32_t flags;		      /* PH_FLAGS_STORABLE bits */
	const char *const *keywords;  /* names; borrowed for the call */
	size_t keyword_count;
	int64_t internal_date;	      /* 0: now */
	int32_t internal_tz;
	uint64_t size_hint;	      /* expected bytes, 0 if unknown */
	/* ABI 1.0 ends here. */
};
#define PH_APPEND_REQUEST_INIT {.struct_size = sizeof(struct ph_append_request)}

/* Receives one UID (mailbox_expunged_since). */
typedef void ph_uid_fn(void *ctx, uint32_t uid);

struct ph_storage_ops {
	uint32_t struct_size;

	/* ---- Users ---- */

	/* Opens `user`'s mail store (creating it on first login with modes
	 * 0700/0600). `user` is borrowed and outlives the handle. */
	int (*user_open)(void *storage_state, const ph_user *user,
			 ph_mail_user **mu_r, const char **error_r);
	/* Closes a store and every view still open on it; *mu = NULL. */
	void (*user_close)(ph_mail_user **mu);
	/* The hierarchy separator mailbox names use ('/' or '.'). */
	char (*mailbox_separator)(ph_mail_user *mu);

	/* ---- Mailboxes ---- *
	 * Errors: PH_EINVAL (bad name: "..", NUL, control characters, a
	 * leading separator, > 255 bytes, bad UTF-8), PH_ENOTFOUND,
	 * PH_EEXISTS, PH_EPERM (e.g. delete INBOX), PH_EIO. */

	/* Every mailbox, plus subscribed names that no longer exist. */
	int (*mailbox_list)(ph_mail_user *mu, ph_mailbox_list_fn *cb,
			    void *ctx, const char **error_r);
	/* `special_use`: PH_MBOX_* special-use bits to record, or 0. */
	int (*mailbox_create)(ph_mail_user *mu, const char *name,
			      uint32_t special_use, const char **error_r);
	int (*mailbox_delete)(ph_mail_user *mu, const char *name,
			      const char **error_r);
	/* Renaming INBOX moves its messages into `to` and leaves INBOX
	 * empty (RFC 3501). Children move with their parent. */
	int (*mailbox_rename)(ph_mail_user *mu, const char *from,
			      const char *to, const char **error_r);
	int (*mailbox_subscribe)(ph_mail_user *mu, const char *name,
				 int subscribe, const char **error_r);
	/* Counters without opening a view; first_unseen_seq is 0. */
	int (*mailbox_status)(ph_mail_user *mu, const char *name,
			      struct ph_mailbox_status *status_r,
			      const char **error_r);

	/* ---- Views ---- */

	/* Opens a view; flags: enum ph_open_flags. */
	int (*mailbox_open)(ph_mail_user *mu, const char *name,
			    unsigned flags, ph_mailbox **box_r,
			    const char **error_r);
	/* Closes a view; *box = NULL. Releases mailbox_lock(). */
	void (*mailbox_close)(ph_mailbox **box);
	/* Counters of the view as it is now. */
	int (*mailbox_get_status)(ph_mailbox *box,
				  struct ph_mailbox_status *status_r);
	/* Brings the view up to date, reporting changes through `cb`.
	 * flags: enum ph_sync_flags. */
	int (*mailbox_sync)(ph_mailbox *box, unsigned flags,
			    const struct ph_sync_callbacks *cb, void *ctx,
			    const char **error_r);
	/* A file descriptor that becomes readable when the mailbox may have
	 * changed (inotify); owned by the view. Watch it with api->io_add()
	 * and call mailbox_sync() when it fires (sync drains it).
	 * PH_ENOTSUP when the storage cannot notify. */
	int (*mailbox_watch_fd)(ph_mailbox *box);
	/* Exclusive maildrop lock for POP3 (RFC 1939): PH_EINUSE when
	 * another session holds it. Released by mailbox_close() and when the
	 * holder dies. Does not block IMAP sessions or delivery. */
	int (*mailbox_lock)(ph_mailbox *box, const char **error_r);

	/* ---- Messages of a view (seq is 1-based) ---- */

	/* Messages in the view. */
	uint32_t (*message_count)(ph_mailbox *box);
	/* Fills `info`. PH_EINVAL for seq out of range. */
	int (*message_info)(ph_mailbox *box, uint32_t seq,
			    struct ph_message_info *info);
	/* Sequence range of the UIDs in [uid_lo, uid_hi]: *seq_lo_r ..
	 * *seq_hi_r; returns the number of messages in it (0 when none). */
	int (*message_uid_range)(ph_mailbox *box, uint32_t uid_lo,
				 uint32_t uid_hi, uint32_t *seq_lo_r,
				 uint32_t *seq_hi_r);
	/* Opens the body. PH_ENOTFOUND when it was expunged. */
	int (*message_open)(ph_mailbox *box, uint32_t seq,
			    struct ph_message_body *body_r,
			    const char **error_r);
	/* Releases what message_open() returned; body->fd becomes -1. */
	void (*message_close)(ph_mailbox *box, struct ph_message_body *body);

	/* Cached parsed data (ENVELOPE, BODYSTRUCTURE, header size...),
	 * kept with the index. `field` is a short ASCII name chosen by the
	 * caller. get: PH_OK with `value_r` borrowed until the next call on
	 * `box`, or PH_ENOTFOUND. set: `value` copied; PH_ETOOBIG if over the
	 * storage's per-field limit. */
	int (*cache_get)(ph_mailbox *box, uint32_t seq, const char *field,
			 struct ph_str *value_r);
	int (*cache_set)(ph_mailbox *box, uint32_t seq, const char *field,
			 struct ph_str value);

	/* ---- Keywords of a view ---- */

	/* Index of keyword `name` (case-insensitive); with `create`, adds it
	 * when missing. PH_ENOTFOUND, PH_ETOOBIG (no room: 64 per mailbox),
	 * PH_EINVAL (not an atom). */
	int (*keyword_index)(ph_mailbox *box, const char *name, int create,
			     unsigned *index_r);
	/* Name of keyword `index`, or NULL. Borrowed for the view's life. */
	const char *(*keyword_name)(ph_mailbox *box, unsigned index);

	/* ---- Changes from this session ---- */

	/* Changes flags of `count` messages (sequence numbers). With
	 * unchangedsince, messages whose modseq is greater are left alone
	 * and their sequence numbers are written to `conflicts_r` (room for
	 * `count`; may be NULL) with their number in *conflict_count_r.
	 * PH_EPERM on a read-only view. */
	int (*messages_store)(ph_mailbox *box, const uint32_t *seqs,
			      size_t count, const struct ph_store_request *req,
			      uint32_t *conflicts_r, size_t *conflict_count_r,
			      const char **error_r);
	/* Removes exactly these messages. They leave the view at the next
	 * mailbox_sync(), which reports them. */
	int (*messages_expunge)(ph_mailbox *box, const uint32_t *seqs,
				size_t count, const char **error_r);
	/* Copies (or with `move`, moves) messages to mailbox `dest`. Fills
	 * *dest_uidvalidity_r and dest_uids_r[i] for seqs[i] (may be NULL).
	 * A move expunges the sources, reported at the next sync. */
	int (*messages_copy)(ph_mailbox *box, const uint32_t *seqs,
			     size_t count, const char *dest, int move,
			     uint32_t *dest_uidvalidity_r, uint32_t *dest_uids_r,
			     const char **error_r);
	/* UIDs expunged with a modseq greater than `modseq`, ascending
	 * (QRESYNC). PH_ETOOBIG when `modseq` is older than what the storage
	 * remembers. */
	int (*mailbox_expunged_since)(ph_mailbox *box, uint64_t modseq,
				      ph_uid_fn *cb, void *ctx);

	/* ---- Append ---- */

	/* Starts an append to mailbox `name`. Write the message with
	 * append_write() in any number of pieces. */
	int (*append_begin)(ph_mail_user *mu, const char *name,
			    const struct ph_append_request *req,
			    ph_append **ap_r, const char **error_r);
	/* `data` copied. */
	int (*append_write)(ph_append *ap, const void *data, size_t len,
			    const char **error_r);
	/* Makes the message durable (fsync) and visible; frees *ap and sets
	 * it to NULL in every case. Returns PH_OK with the new UID. */
	int (*append_commit)(ph_append **ap, uint32_t *uidvalidity_r,
			     uint32_t *uid_r, const char **error_r);
	/* Discards; frees *ap and sets it to NULL. */
	void (*append_abort)(ph_append **ap);

	/* ABI 1.0 ends here. */

	/* Commits `count` appends to one mailbox together (MULTIAPPEND, RFC
	 * 3502): all become durable and visible, in order, with consecutive
	 * UIDs written to uids_r[i], or none does. Frees every aps[i] and
	 * sets it to NULL in every case. (ABI 1.2; NULL in older storages:
	 * commit one by one.) */
	int (*append_commit_all)(ph_append **aps, size_t count,
				 uint32_t *uidvalidity_r, uint32_t *uids_r,
				 const char **error_r);
	/* ABI 1.2 ends here. */
};

#define PH_STORAGE_OPS_INIT .struct_size = sizeof(struct ph_storage_ops)

#endif /* POSTHORN_STORAGE_H */
