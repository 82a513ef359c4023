/* storage-maildir: views and messages (append, bodies, flags, keywords,
 * sync reports, copy/move, expunge, QRESYNC, cache, locks, watch). */
#include "cunit-main.h"
#include "maildir-test.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct ph_message_info info_of(struct mt *t, ph_mailbox *box,
				      uint32_t seq)
{
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;

	CU_ASSERT_EQUAL(t->ops->message_info(box, seq, &info), PH_OK);
	return info;
}

/* Finds the one file in root/cur whose name contains `part`. */
static int cur_file_with(struct mt *t, const char *part, char *name_r,
			 size_t size)
{
	char p[700];
	struct dirent *d;
	int n = 0;
	DIR *dp;

	snprintf(p, sizeof(p), "%s/cur", t->root);
	dp = opendir(p);
	while (dp && (d = readdir(dp)) != NULL)
		if (strstr(d->d_name, part) != NULL) {
			snprintf(name_r, size, "%s", d->d_name);
			n++;
		}
	if (dp)
		closedir(dp);
	return n;
}

static void test_append_and_read(void)
{
	struct ph_message_body body = PH_MESSAGE_BODY_INIT;
	struct ph_message_info info;
	struct ph_append_request req = PH_APPEND_REQUEST_INIT;
	const char *kws[] = {"$Forwarded", "Work"};
	ph_append *ap;
	const char *error;
	char buf[256], name[300];
	uint32_t uid, uidv;
	ph_mailbox *box;
	struct mt t;

	mt_setup(&t, NULL);
	req.flags = PH_FLAG_SEEN | PH_FLAG_FLAGGED;
	req.keywords = kws;
	req.keyword_count = 2;
	req.internal_date = 1000000000;
	CU_ASSERT_EQUAL(t.ops->append_begin(t.mu, "INBOX", &req, &ap, &error),
			PH_OK);
	/* Streamed in pieces, bare LF line ends. */
	CU_ASSERT_EQUAL(t.ops->append_write(ap, "Subject: hi\n", 12, &error),
			PH_OK);
	CU_ASSERT_EQUAL(t.ops->append_write(ap, "\nbody\n", 6, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->append_commit(&ap, &uidv, &uid, &error), PH_OK);
	CU_ASSERT_EQUAL(uid, 1);
	CU_ASSERT_EQUAL(mt_count_files(t.root, "tmp"), 0);
	CU_ASSERT_EQUAL(
	    cur_file_with(&t, ",S=18,W=21:2,FS", name, sizeof(name)), 1);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->message_count(box), 1);
	info = info_of(&t, box, 1);
	CU_ASSERT_EQUAL(info.uid, 1);
	CU_ASSERT_EQUAL(info.flags,
			PH_FLAG_SEEN | PH_FLAG_FLAGGED | PH_FLAG_RECENT);
	CU_ASSERT_EQUAL(info.size, 21);
	CU_ASSERT_EQUAL(info.physical_size, 18);
	CU_ASSERT_EQUAL(info.internal_date, 1000000000);
	CU_ASSERT_EQUAL(info.keywords, 3);
	CU_ASSERT_STRING_EQUAL(t.ops->keyword_name(box, 0), "$Forwarded");
	CU_ASSERT_STRING_EQUAL(t.ops->keyword_name(box, 1), "Work");
	CU_ASSERT_PTR_NULL(t.ops->keyword_name(box, 2));
	CU_ASSERT_EQUAL(t.ops->message_open(box, 1, &body, &error), PH_OK);
	CU_ASSERT_EQUAL(body.length, 18);
	CU_ASSERT_EQUAL(body.crlf, 0);
	CU_ASSERT_EQUAL(pread(body.fd, buf, 18, 0), 18);
	CU_ASSERT_NSTRING_EQUAL(buf, "Subject: hi\n\nbody\n", 18);
	t.ops->message_close(box, &body);
	CU_ASSERT_EQUAL(t.ops->message_open(box, 2, &body, &error), PH_EINVAL);
	t.ops->mailbox_close(&box);
	CU_ASSERT_PTR_NULL(box);
	/* Abort leaves nothing behind; a missing mailbox is NOTFOUND. */
	CU_ASSERT_EQUAL(t.ops->append_begin(t.mu, "INBOX", &req, &ap, &error),
			PH_OK);
	t.ops->append_abort(&ap);
	CU_ASSERT_PTR_NULL(ap);
	CU_ASSERT_EQUAL(mt_count_files(t.root, "tmp"), 0);
	CU_ASSERT_EQUAL(t.ops->append_begin(t.mu, "Nope", &req, &ap, &error),
			PH_ENOTFOUND);
	mt_teardown(&t);
}

static void test_uids_never_reused(void)
{
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT, st2 = st;
	const char *error;
	uint32_t seq = 2;
	ph_mailbox *box;
	struct mt t;

	mt_setup(&t, NULL);
	for (uint32_t i = 1; i <= 3; i++)
		CU_ASSERT_EQUAL(mt_append(&t, "INBOX", "m\r\n", 0), i);
	box = mt_open(&t, "INBOX", 0);
	t.ops->mailbox_get_status(box, &st);
	CU_ASSERT_EQUAL(t.ops->messages_expunge(box, &seq, 1, &error), PH_OK);
	seq = 3;
	CU_ASSERT_EQUAL(t.ops->messages_expunge(box, &seq, 1, &error), PH_OK);
	t.ops->mailbox_close(&box);
	CU_ASSERT_EQUAL(mt_append(&t, "INBOX", "m\r\n", 0), 4);
	box = mt_open(&t, "INBOX", 0);
	t.ops->mailbox_get_status(box, &st2);
	CU_ASSERT_EQUAL(st2.uidvalidity, st.uidvalidity);
	CU_ASSERT_EQUAL(t.ops->message_count(box), 2);
	CU_ASSERT_EQUAL(info_of(&t, box, 1).uid, 1);
	CU_ASSERT_EQUAL(info_of(&t, box, 2).uid, 4);
	CU_ASSERT(st2.highestmodseq > st.highestmodseq);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

static void test_store_flags(void)
{
	struct ph_store_request req = PH_STORE_REQUEST_INIT;
	struct ph_message_info a, b;
	uint32_t seqs[2] = {1, 2}, conflicts[2];
	size_t nconf = 9;
	const char *error;
	char name[300];
	ph_mailbox *box, *ro;
	struct mt t;

	mt_setup(&t, NULL);
	mt_append(&t, "INBOX", "one\r\n", 0);
	mt_append(&t, "INBOX", "two\r\n", 0);
	box = mt_open(&t, "INBOX", 0);
	a = info_of(&t, box, 2); /* the newer of the two */
	req.mode = PH_STORE_ADD;
	req.flags = PH_FLAG_SEEN | PH_FLAG_DELETED;
	CU_ASSERT_EQUAL(t.ops->messages_store(box, seqs, 1, &req, conflicts,
					      &nconf, &error),
			PH_OK);
	CU_ASSERT_EQUAL(nconf, 0);
	b = info_of(&t, box, 1);
	CU_ASSERT_EQUAL(b.flags & PH_FLAGS_STORABLE,
			PH_FLAG_SEEN | PH_FLAG_DELETED);
	CU_ASSERT(b.modseq > a.modseq);
	CU_ASSERT_EQUAL(cur_file_with(&t, ":2,ST", name, sizeof(name)), 1);
	/* UNCHANGEDSINCE: message 1 changed after a.modseq, 2 did not. */
	req.mode = PH_STORE_REMOVE;
	req.flags = PH_FLAG_SEEN;
	req.unchangedsince = a.modseq;
	CU_ASSERT_EQUAL(t.ops->messages_store(box, seqs, 2, &req, conflicts,
					      &nconf, &error),
			PH_OK);
	CU_ASSERT_EQUAL(nconf, 1);
	CU_ASSERT_EQUAL(conflicts[0], 1);
	CU_ASSERT(info_of(&t, box, 1).flags & PH_FLAG_SEEN);
	/* REPLACE; \Recent is not storable. */
	req.mode = PH_STORE_REPLACE;
	req.flags = PH_FLAG_ANSWERED | PH_FLAG_RECENT;
	req.unchangedsince = 0;
	CU_ASSERT_EQUAL(
	    t.ops->messages_store(box, seqs, 2, &req, NULL, NULL, &error),
	    PH_OK);
	CU_ASSERT_EQUAL(info_of(&t, box, 2).flags & PH_FLAGS_STORABLE,
			PH_FLAG_ANSWERED);
	CU_ASSERT_EQUAL(cur_file_with(&t, ":2,R", name, sizeof(name)), 2);
	seqs[0] = 3;
	CU_ASSERT_EQUAL(
	    t.ops->messages_store(box, seqs, 1, &req, NULL, NULL, &error),
	    PH_EINVAL);
	/* Read-only views refuse changes and claim no \Recent. */
	ro = mt_open(&t, "INBOX", PH_OPEN_READONLY);
	CU_ASSERT_EQUAL(
	    t.ops->messages_store(ro, seqs, 0, &req, NULL, NULL, &error),
	    PH_EPERM);
	CU_ASSERT_EQUAL(t.ops->messages_expunge(ro, seqs, 0, &error), PH_EPERM);
	CU_ASSERT_EQUAL(info_of(&t, ro, 1).flags & PH_FLAG_RECENT, 0);
	t.ops->mailbox_close(&ro);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

static void test_keywords(void)
{
	struct ph_store_request req = PH_STORE_REQUEST_INIT;
	uint32_t seq = 1;
	unsigned idx, i;
	const char *error;
	char kw[32];
	ph_mailbox *box;
	struct mt t;

	mt_setup(&t, NULL);
	mt_append(&t, "INBOX", "one\r\n", 0);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->keyword_index(box, "Todo", 0, &idx),
			PH_ENOTFOUND);
	CU_ASSERT_EQUAL(t.ops->keyword_index(box, "Todo", 1, &idx), PH_OK);
	CU_ASSERT_EQUAL(idx, 0);
	CU_ASSERT_EQUAL(t.ops->keyword_index(box, "todo", 0, &idx), PH_OK);
	CU_ASSERT_EQUAL(t.ops->keyword_index(box, "bad kw", 1, &idx),
			PH_EINVAL);
	CU_ASSERT_EQUAL(t.ops->keyword_index(box, "\\Seen", 1, &idx),
			PH_EINVAL);
	CU_ASSERT_EQUAL(t.ops->keyword_index(box, "a(b", 1, &idx), PH_EINVAL);
	for (i = 1; i < 64; i++) {
		snprintf(kw, sizeof(kw), "k%u", i);
		CU_ASSERT_EQUAL(t.ops->keyword_index(box, kw, 1, &idx), PH_OK);
		CU_ASSERT_EQUAL(idx, i);
	}
	CU_ASSERT_EQUAL(t.ops->keyword_index(box, "one-too-many", 1, &idx),
			PH_ETOOBIG);
	req.mode = PH_STORE_ADD;
	req.keywords = (1ull << 63) | 1;
	CU_ASSERT_EQUAL(
	    t.ops->messages_store(box, &seq, 1, &req, NULL, NULL, &error),
	    PH_OK);
	t.ops->mailbox_close(&box);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(info_of(&t, box, 1).keywords, (1ull << 63) | 1);
	CU_ASSERT_STRING_EQUAL(t.ops->keyword_name(box, 63), "k63");
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

struct report {
	uint32_t expunged_seq[16], expunged_uid[16], changed[16];
	unsigned ne, nc;
	uint32_t exists;
};

static void on_expunged(void *ctx, uint32_t seq, uint32_t uid)
{
	struct report *r = ctx;

	r->expunged_seq[r->ne] = seq;
	r->expunged_uid[r->ne++] = uid;
}

static void on_changed(void *ctx, uint32_t seq,
		       const struct ph_message_info *info)
{
	struct report *r = ctx;

	r->changed[r->nc++] = seq;
}

static void on_exists(void *ctx, uint32_t count)
{
	((struct report *)ctx)->exists = count;
}

static const struct ph_sync_callbacks cbs = {
    .struct_size = sizeof(cbs),
    .expunged = on_expunged,
    .changed = on_changed,
    .exists = on_exists,
};

static void test_sync_reports(void)
{
	struct ph_store_request req = PH_STORE_REQUEST_INIT;
	uint32_t seqs[3] = {2, 4, 5}, seq5 = 5;
	struct report r = {0};
	const char *error;
	ph_mailbox *a, *b;
	char buf[64];
	struct mt t;

	mt_setup(&t, NULL);
	for (int i = 0; i < 5; i++)
		mt_append(&t, "INBOX", "msg\r\n", 0);
	a = mt_open(&t, "INBOX", 0);
	b = mt_open(&t, "INBOX", 0);
	/* \Recent went to the first view only. */
	CU_ASSERT(info_of(&t, a, 1).flags & PH_FLAG_RECENT);
	CU_ASSERT_EQUAL(info_of(&t, b, 1).flags & PH_FLAG_RECENT, 0);
	CU_ASSERT_EQUAL(t.ops->messages_expunge(a, seqs, 2, &error), PH_OK);
	req.mode = PH_STORE_ADD;
	req.flags = PH_FLAG_FLAGGED;
	CU_ASSERT_EQUAL(
	    t.ops->messages_store(a, &seq5, 1, &req, NULL, NULL, &error),
	    PH_OK);
	mt_append(&t, "INBOX", "new\r\n", 0);
	/* b still sees 5 messages; the expunged bodies are gone. */
	CU_ASSERT_EQUAL(t.ops->message_count(b), 5);
	CU_ASSERT_EQUAL(mt_read(&t, b, 2, buf, sizeof(buf)), PH_ENOTFOUND);
	CU_ASSERT_EQUAL(mt_read(&t, b, 3, buf, sizeof(buf)), PH_OK);
	/* NO_EXPUNGE keeps them, marked. */
	CU_ASSERT_EQUAL(
	    t.ops->mailbox_sync(b, PH_SYNC_NO_EXPUNGE, &cbs, &r, &error),
	    PH_OK);
	CU_ASSERT_EQUAL(r.ne, 0);
	CU_ASSERT_EQUAL(t.ops->message_count(b), 6);
	CU_ASSERT(info_of(&t, b, 4).expunged);
	CU_ASSERT_EQUAL(r.exists, 6);
	CU_ASSERT_EQUAL(r.nc, 1);
	CU_ASSERT_EQUAL(r.changed[0], 5);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(b, 0, &cbs, &r, &error), PH_OK);
	CU_ASSERT_EQUAL(r.ne, 2);
	CU_ASSERT_EQUAL(r.expunged_seq[0], 4); /* descending */
	CU_ASSERT_EQUAL(r.expunged_uid[0], 4);
	CU_ASSERT_EQUAL(r.expunged_seq[1], 2);
	CU_ASSERT_EQUAL(r.expunged_uid[1], 2);
	CU_ASSERT_EQUAL(r.exists, 0);
	CU_ASSERT_EQUAL(t.ops->message_count(b), 4);
	CU_ASSERT_EQUAL(info_of(&t, b, 4).uid, 6);
	/* b synced first: the new message is recent there only. */
	CU_ASSERT(info_of(&t, b, 4).flags & PH_FLAG_RECENT);
	/* The view that expunged sees them leave at its own sync. */
	CU_ASSERT_EQUAL(t.ops->message_count(a), 5);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(a, 0, &cbs, &r, &error), PH_OK);
	CU_ASSERT_EQUAL(r.ne, 2);
	CU_ASSERT_EQUAL(r.nc, 0); /* its own store is not reported back */
	CU_ASSERT_EQUAL(r.exists, 4);
	CU_ASSERT_EQUAL(info_of(&t, a, 4).flags & PH_FLAG_RECENT, 0);
	t.ops->mailbox_close(&a);
	t.ops->mailbox_close(&b);
	mt_teardown(&t);
}

static void test_uid_range(void)
{
	uint32_t lo, hi, seq = 2;
	const char *error;
	ph_mailbox *box;
	struct mt t;

	mt_setup(&t, NULL);
	for (int i = 0; i < 4; i++)
		mt_append(&t, "INBOX", "m\r\n", 0);
	box = mt_open(&t, "INBOX", 0);
	t.ops->messages_expunge(box, &seq, 1, &error);
	t.ops->mailbox_sync(box, 0, NULL, NULL, &error);
	CU_ASSERT_EQUAL(t.ops->message_uid_range(box, 2, 3, &lo, &hi), 1);
	CU_ASSERT_EQUAL(lo, 2);
	CU_ASSERT_EQUAL(hi, 2);
	CU_ASSERT_EQUAL(t.ops->message_uid_range(box, 1, 100, &lo, &hi), 3);
	CU_ASSERT_EQUAL(lo, 1);
	CU_ASSERT_EQUAL(hi, 3);
	CU_ASSERT_EQUAL(t.ops->message_uid_range(box, 5, 9, &lo, &hi), 0);
	CU_ASSERT_EQUAL(t.ops->message_uid_range(box, 2, 2, &lo, &hi), 0);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

static void test_copy_move(void)
{
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	uint32_t seqs[2] = {1, 3}, uids[2], uidv = 0;
	struct report r = {0};
	const char *error;
	char buf[64];
	ph_mailbox *box, *dst;
	unsigned kw;
	struct mt t;

	mt_setup(&t, NULL);
	mt_append(&t, "INBOX", "first\r\n", PH_FLAG_SEEN);
	mt_append(&t, "INBOX", "second\r\n", 0);
	mt_append(&t, "INBOX", "third\r\n", 0);
	mt_append(&t, "Archive", "old\r\n", 0);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->keyword_index(box, "Tag", 1, &kw), PH_OK);
	CU_ASSERT_EQUAL(
	    t.ops->messages_copy(box, seqs, 2, "Nope", 0, &uidv, uids, &error),
	    PH_ENOTFOUND);
	CU_ASSERT_EQUAL(t.ops->messages_copy(box, seqs, 2, "Archive", 0, &uidv,
					     uids, &error),
			PH_OK);
	CU_ASSERT_EQUAL(uids[0], 2);
	CU_ASSERT_EQUAL(uids[1], 3);
	t.ops->mailbox_status(t.mu, "Archive", &st, &error);
	CU_ASSERT_EQUAL(uidv, st.uidvalidity);
	CU_ASSERT_EQUAL(st.messages, 3);
	dst = mt_open(&t, "Archive", 0);
	CU_ASSERT_EQUAL(mt_read(&t, dst, 2, buf, sizeof(buf)), PH_OK);
	CU_ASSERT_STRING_EQUAL(buf, "first\r\n");
	CU_ASSERT(info_of(&t, dst, 2).flags & PH_FLAG_SEEN);
	t.ops->mailbox_close(&dst);
	/* Move: copies then expunges; reported at the next sync. */
	CU_ASSERT_EQUAL(
	    t.ops->messages_copy(box, seqs, 1, "Trash", 1, &uidv, uids, &error),
	    PH_OK);
	CU_ASSERT_EQUAL(uids[0], 1);
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(box, 0, &cbs, &r, &error), PH_OK);
	CU_ASSERT_EQUAL(r.ne, 1);
	CU_ASSERT_EQUAL(r.expunged_uid[0], 1);
	CU_ASSERT_EQUAL(t.ops->message_count(box), 2);
	/* Copy into the same mailbox. */
	seqs[0] = 1;
	CU_ASSERT_EQUAL(
	    t.ops->messages_copy(box, seqs, 1, "INBOX", 0, &uidv, uids, &error),
	    PH_OK);
	CU_ASSERT_EQUAL(uids[0], 4);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

/* COPY into a mailbox on another file system copies the bytes (link()
 * fails with EXDEV). The mailbox directory is a symlink to /dev/shm. */
static void test_copy_cross_fs(void)
{
	uint32_t seq = 1, uid = 0, uidv = 0;
	char shm[64], link_path[700], buf[64];
	struct stat a, b;
	const char *error;
	ph_mailbox *box, *dst;
	struct mt t;

	mt_setup(&t, NULL);
	snprintf(shm, sizeof(shm), "/dev/shm/ph-maildir-XXXXXX");
	if (mkdtemp(shm) == NULL || stat(shm, &a) < 0 || stat(t.root, &b) < 0 ||
	    a.st_dev == b.st_dev) {
		mt_teardown(&t);
		return; /* no second file system here */
	}
	snprintf(link_path, sizeof(link_path), "%s/.Other", t.root);
	CU_ASSERT_EQUAL_FATAL(symlink(shm, link_path), 0);
	for (const char *sub = "cur"; sub; sub = !strcmp(sub, "cur")   ? "new"
						 : !strcmp(sub, "new") ? "tmp"
								       : NULL) {
		char p[128];

		snprintf(p, sizeof(p), "%s/%s", shm, sub);
		mkdir(p, 0700);
	}
	mt_append(&t, "INBOX", "cross\r\n", PH_FLAG_SEEN);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(
	    t.ops->messages_copy(box, &seq, 1, "Other", 0, &uidv, &uid, &error),
	    PH_OK);
	CU_ASSERT_EQUAL(uid, 1);
	t.ops->mailbox_close(&box);
	dst = mt_open(&t, "Other", 0);
	CU_ASSERT_EQUAL(t.ops->message_count(dst), 1);
	CU_ASSERT_EQUAL(mt_read(&t, dst, 1, buf, sizeof(buf)), PH_OK);
	CU_ASSERT_STRING_EQUAL(buf, "cross\r\n");
	CU_ASSERT(info_of(&t, dst, 1).flags & PH_FLAG_SEEN);
	CU_ASSERT_EQUAL(mt_count_files(shm, "tmp"), 0);
	t.ops->mailbox_close(&dst);
	snprintf(link_path, sizeof(link_path), "rm -rf '%s'", shm);
	CU_ASSERT_EQUAL(system(link_path), 0);
	mt_teardown(&t);
}

static void collect_uid(void *ctx, uint32_t uid)
{
	struct report *r = ctx;

	r->expunged_uid[r->ne++] = uid;
}

static void test_expunged_since(void)
{
	static const char *kv[] = {"expunge_horizon", "2", NULL};
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	uint32_t seqs[2] = {3, 1}, seq;
	struct report r = {0};
	const char *error;
	ph_mailbox *box;
	uint64_t before;
	struct mt t;

	mt_setup(&t, kv);
	for (int i = 0; i < 5; i++)
		mt_append(&t, "INBOX", "m\r\n", 0);
	box = mt_open(&t, "INBOX", 0);
	t.ops->mailbox_get_status(box, &st);
	before = st.highestmodseq;
	CU_ASSERT_EQUAL(t.ops->messages_expunge(box, seqs, 2, &error), PH_OK);
	t.ops->mailbox_sync(box, 0, NULL, NULL, &error);
	CU_ASSERT_EQUAL(
	    t.ops->mailbox_expunged_since(box, before, collect_uid, &r), PH_OK);
	CU_ASSERT_EQUAL(r.ne, 2);
	CU_ASSERT_EQUAL(r.expunged_uid[0], 1); /* ascending */
	CU_ASSERT_EQUAL(r.expunged_uid[1], 3);
	r.ne = 0;
	t.ops->mailbox_get_status(box, &st);
	CU_ASSERT_EQUAL(t.ops->mailbox_expunged_since(box, st.highestmodseq,
						      collect_uid, &r),
			PH_OK);
	CU_ASSERT_EQUAL(r.ne, 0);
	/* A third expunge pushes uid 1 past the horizon of 2. */
	seq = 1;
	CU_ASSERT_EQUAL(t.ops->messages_expunge(box, &seq, 1, &error), PH_OK);
	t.ops->mailbox_sync(box, 0, NULL, NULL, &error);
	CU_ASSERT_EQUAL(
	    t.ops->mailbox_expunged_since(box, before, collect_uid, &r),
	    PH_ETOOBIG);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

static void test_cache(void)
{
	struct ph_str v;
	static char big[70000];
	ph_mailbox *box;
	struct mt t;

	mt_setup(&t, NULL);
	mt_append(&t, "INBOX", "m\r\n", 0);
	mt_append(&t, "INBOX", "n\r\n", 0);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 1, "envelope", &v), PH_ENOTFOUND);
	CU_ASSERT_EQUAL(t.ops->cache_set(box, 1, "envelope", PH_STR_LIT("E1")),
			PH_OK);
	CU_ASSERT_EQUAL(t.ops->cache_set(box, 2, "envelope", PH_STR_LIT("E2")),
			PH_OK);
	CU_ASSERT_EQUAL(t.ops->cache_set(box, 1, "envelope", PH_STR_LIT("E1b")),
			PH_OK);
	CU_ASSERT_EQUAL(t.ops->cache_set(box, 1, "empty", PH_STR_LIT("")),
			PH_OK);
	CU_ASSERT_EQUAL(
	    t.ops->cache_set(box, 1, "big", (struct ph_str){big, sizeof(big)}),
	    PH_ETOOBIG);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 3, "envelope", &v), PH_EINVAL);
	t.ops->mailbox_close(&box);
	/* Another view reads what the first stored. */
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 1, "envelope", &v), PH_OK);
	CU_ASSERT_EQUAL(v.len, 3);
	CU_ASSERT_NSTRING_EQUAL(v.data, "E1b", 3);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 2, "envelope", &v), PH_OK);
	CU_ASSERT_NSTRING_EQUAL(v.data, "E2", 2);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 1, "empty", &v), PH_OK);
	CU_ASSERT_EQUAL(v.len, 0);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

static void status_of(struct mt *t, ph_mailbox *box, uint32_t *unseen_r,
		      uint32_t *first_r, uint32_t *recent_r, uint64_t *size_r)
{
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;

	CU_ASSERT_EQUAL(t->ops->mailbox_get_status(box, &st), PH_OK);
	*unseen_r = st.unseen;
	*first_r = st.first_unseen_seq;
	*recent_r = st.recent;
	*size_r = st.size;
}

/* The counters computed while the view is built follow its changes:
 * own STOREs, another session's STORE and a new message at sync. */
static void test_status_follows_changes(void)
{
	struct ph_store_request req = PH_STORE_REQUEST_INIT;
	uint32_t unseen, first, recent, seq = 1;
	const char *error;
	ph_mailbox *a, *b;
	uint64_t size;
	struct mt t;

	mt_setup(&t, NULL);
	mt_append(&t, "INBOX", "one\r\n", 0);
	mt_append(&t, "INBOX", "two\r\n", 0);
	a = mt_open(&t, "INBOX", 0);
	status_of(&t, a, &unseen, &first, &recent, &size);
	CU_ASSERT_EQUAL(unseen, 2);
	CU_ASSERT_EQUAL(first, 1);
	CU_ASSERT_EQUAL(recent, 2);
	CU_ASSERT_EQUAL(size, 10);
	req.mode = PH_STORE_ADD;
	req.flags = PH_FLAG_SEEN;
	CU_ASSERT_EQUAL(
	    t.ops->messages_store(a, &seq, 1, &req, NULL, NULL, &error), PH_OK);
	status_of(&t, a, &unseen, &first, &recent, &size);
	CU_ASSERT_EQUAL(unseen, 1);
	CU_ASSERT_EQUAL(first, 2);
	/* another session marks 2 seen; a sees it at its sync */
	b = mt_open(&t, "INBOX", 0);
	seq = 2;
	CU_ASSERT_EQUAL(
	    t.ops->messages_store(b, &seq, 1, &req, NULL, NULL, &error), PH_OK);
	t.ops->mailbox_close(&b);
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(a, 0, NULL, NULL, &error), PH_OK);
	status_of(&t, a, &unseen, &first, &recent, &size);
	CU_ASSERT_EQUAL(unseen, 0);
	CU_ASSERT_EQUAL(first, 0);
	mt_append(&t, "INBOX", "three\r\n", 0);
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(a, 0, NULL, NULL, &error), PH_OK);
	status_of(&t, a, &unseen, &first, &recent, &size);
	CU_ASSERT_EQUAL(unseen, 1);
	CU_ASSERT_EQUAL(first, 3);
	CU_ASSERT_EQUAL(recent, 3);
	CU_ASSERT_EQUAL(size, 17);
	t.ops->mailbox_close(&a);
	mt_teardown(&t);
}

/* A record whose bytes were damaged fails its CRC when it is asked for:
 * not found (the caller recomputes it); the records around it stay. */
static void test_cache_damaged(void)
{
	char path[600], buf[4096], *hit;
	struct ph_str v;
	ph_mailbox *box;
	struct mt t;
	ssize_t n;
	int fd;

	mt_setup(&t, NULL);
	mt_append(&t, "INBOX", "m\r\n", 0);
	mt_append(&t, "INBOX", "n\r\n", 0);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->cache_set(box, 1, "bs", PH_STR_LIT("AAAA")),
			PH_OK);
	CU_ASSERT_EQUAL(t.ops->cache_set(box, 2, "bs", PH_STR_LIT("BBBB")),
			PH_OK);
	t.ops->mailbox_close(&box);
	snprintf(path, sizeof(path), "%s/posthorn-cache", t.root);
	fd = open(path, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
	hit = memmem(buf, (size_t)n, "AAAA", 4);
	CU_ASSERT_FATAL(hit != NULL);
	CU_ASSERT_EQUAL(pwrite(fd, "X", 1, hit - buf + 3), 1);
	close(fd);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 1, "bs", &v), PH_ENOTFOUND);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 2, "bs", &v), PH_OK);
	CU_ASSERT_NSTRING_EQUAL(v.data, "BBBB", 4);
	/* set again: the new value wins over the damaged one */
	CU_ASSERT_EQUAL(t.ops->cache_set(box, 1, "bs", PH_STR_LIT("CCCC")),
			PH_OK);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 1, "bs", &v), PH_OK);
	CU_ASSERT_NSTRING_EQUAL(v.data, "CCCC", 4);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

static void test_pop3_lock(void)
{
	const char *error;
	ph_mailbox *a, *b;
	struct mt t;

	mt_setup(&t, NULL);
	a = mt_open(&t, "INBOX", 0);
	b = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->mailbox_lock(a, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->mailbox_lock(b, &error), PH_EINUSE);
	/* Delivery is not blocked by it. */
	CU_ASSERT_EQUAL(mt_append(&t, "INBOX", "m\r\n", 0), 1);
	t.ops->mailbox_close(&a);
	CU_ASSERT_EQUAL(t.ops->mailbox_lock(b, &error), PH_OK);
	t.ops->mailbox_close(&b);
	mt_teardown(&t);
}

static void test_watch_fd(void)
{
	struct report r = {0};
	const char *error;
	struct pollfd pfd;
	ph_mailbox *box;
	struct mt t;

	mt_setup(&t, NULL);
	box = mt_open(&t, "INBOX", 0);
	pfd.fd = t.ops->mailbox_watch_fd(box);
	CU_ASSERT_FATAL(pfd.fd >= 0);
	pfd.events = POLLIN;
	CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 0);
	mt_append(&t, "INBOX", "m\r\n", 0);
	CU_ASSERT_EQUAL(poll(&pfd, 1, 1000), 1);
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(box, 0, &cbs, &r, &error), PH_OK);
	CU_ASSERT_EQUAL(r.exists, 1);
	CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 0); /* sync drained it */
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

static CU_TestInfo tests[] = {
    {"append_and_read", test_append_and_read},
    {"uids_never_reused", test_uids_never_reused},
    {"store_flags", test_store_flags},
    {"keywords", test_keywords},
    {"sync_reports", test_sync_reports},
    {"uid_range", test_uid_range},
    {"copy_move", test_copy_move},
    {"copy_cross_fs", test_copy_cross_fs},
    {"expunged_since", test_expunged_since},
    {"cache", test_cache},
    {"cache damaged", test_cache_damaged},
    {"status follows changes", test_status_follows_changes},
    {"pop3_lock", test_pop3_lock},
    {"watch_fd", test_watch_fd},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"maildir-messages", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
