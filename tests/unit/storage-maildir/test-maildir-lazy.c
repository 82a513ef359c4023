/* storage-maildir: an index built from the directory alone (files whose
 * names carry ,S= are not stat()ed at scan time): dates are learned on
 * first use, written back to the index, and a file that vanished before
 * its date was learned is handled. */
#include "cunit-main.h"
#include "maildir-private.h"
#include "maildir-test.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATE_A 1234567890 /* mtimes given to the files */
#define DATE_B 1300000000
#define DATE_C 1400000000

/* Writes root/cur/name with `text` and mtime `date`. */
static void put_cur(struct mt *t, const char *name, const char *text,
		    int64_t date)
{
	struct timespec ts[2] = {{.tv_sec = date}, {.tv_sec = date}};
	char p[800];
	int fd;

	snprintf(p, sizeof(p), "%s/cur/%s", t->root, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	CU_ASSERT_EQUAL(utimensat(AT_FDCWD, p, ts, 0), 0);
}

/* Three files: two with ,S=/,W= (indexed without a stat), one without
 * (stat()ed at scan time, as before). Returns with the index built. */
static ph_mailbox *setup_three(struct mt *t, unsigned flags)
{
	ph_mailbox *box = NULL;
	const char *error;

	mt_setup(t, NULL);
	put_cur(t, "1000000001.M1P1.h,S=10,W=12:2,S", "a\nbcdefgh\n", DATE_A);
	put_cur(t, "1000000002.M1P1.h,S=3,W=3:2,", "x\r\n", DATE_B);
	put_cur(t, "1000000003.M1P1.h:2,", "hello\n", DATE_C);
	CU_ASSERT_EQUAL_FATAL(
	    t->ops->mailbox_open(t->mu, "INBOX", flags, &box, &error), PH_OK);
	return box;
}

static struct maildir_index *load(struct mt *t)
{
	struct maildir_index *idx = NULL;

	CU_ASSERT_EQUAL_FATAL(maildir_index_load(t->root, &idx), PH_OK);
	return idx;
}

static void test_built_without_stat(void)
{
	struct maildir_index *idx;
	ph_mailbox *box;
	struct mt t;

	box = setup_three(&t, 0);
	idx = load(&t);
	CU_ASSERT_EQUAL_FATAL(idx->count, 3);
	CU_ASSERT_EQUAL(idx->recs[0].date, MAILDIR_DATE_UNKNOWN);
	CU_ASSERT_EQUAL(idx->recs[1].date, MAILDIR_DATE_UNKNOWN);
	CU_ASSERT_EQUAL(idx->recs[2].date, DATE_C); /* no ,S=: stat()ed */
	CU_ASSERT_EQUAL(idx->recs[0].psize, 10);
	CU_ASSERT_EQUAL(idx->recs[2].psize, 6);
	maildir_index_free(&idx);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

/* A caller that omits the date and the size (FETCH FLAGS) costs no
 * stat() and no read of a file: nothing is learned; asking again for
 * them learns them. */
static void test_info_omit(void)
{
	struct ph_message_info info = PH_MESSAGE_INFO_LIGHT_INIT;
	ph_mailbox *box;
	struct mt t;

	box = setup_three(&t, 0);
	for (uint32_t s = 1; s <= 3; s++) {
		CU_ASSERT_EQUAL(t.ops->message_info(box, s, &info), PH_OK);
		CU_ASSERT_EQUAL(info.uid, s);
	}
	CU_ASSERT_EQUAL(box->dates_learned, 0);
	/* answered from the mapped index: the view was not copied, and
	 * message 3 (no ,W=) was not read for its size */
	CU_ASSERT(box->msgs_deferred);
	CU_ASSERT_EQUAL(box->idx->recs[2].vsize, 0);
	info.omit = PH_MESSAGE_INFO_OMIT_SIZE; /* the date, please */
	CU_ASSERT_EQUAL(t.ops->message_info(box, 1, &info), PH_OK);
	CU_ASSERT_EQUAL(info.internal_date, DATE_A);
	CU_ASSERT_EQUAL(box->dates_learned, 1);
	info.omit = PH_MESSAGE_INFO_OMIT_DATE; /* the size, please */
	CU_ASSERT_EQUAL(t.ops->message_info(box, 3, &info), PH_OK);
	CU_ASSERT_EQUAL(info.size, 7);
	CU_ASSERT_EQUAL(box->dates_learned, 1);
	/* A 1.1 caller's struct ends before `omit`: it gets everything. */
	info.struct_size = offsetof(struct ph_message_info, omit);
	info.omit = PH_MESSAGE_INFO_OMIT_DATE | PH_MESSAGE_INFO_OMIT_SIZE;
	CU_ASSERT_EQUAL(t.ops->message_info(box, 2, &info), PH_OK);
	CU_ASSERT_EQUAL(info.internal_date, DATE_B);
	CU_ASSERT_EQUAL(box->dates_learned, 2);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

/* INTERNALDATE, RFC822.SIZE and the size/date criteria of SEARCH all
 * come from message_info. */
static void test_info_answers(void)
{
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	ph_mailbox *box;
	struct mt t;

	box = setup_three(&t, 0);
	CU_ASSERT_EQUAL(t.ops->message_info(box, 1, &info), PH_OK);
	CU_ASSERT_EQUAL(info.internal_date, DATE_A);
	CU_ASSERT_EQUAL(info.size, 12);
	CU_ASSERT_EQUAL(info.physical_size, 10);
	CU_ASSERT_EQUAL(t.ops->message_info(box, 2, &info), PH_OK);
	CU_ASSERT_EQUAL(info.internal_date, DATE_B);
	CU_ASSERT_EQUAL(info.size, 3);
	CU_ASSERT_EQUAL(t.ops->message_info(box, 3, &info), PH_OK);
	CU_ASSERT_EQUAL(info.internal_date, DATE_C);
	CU_ASSERT_EQUAL(info.size, 7); /* counted: one bare LF */
	CU_ASSERT_EQUAL(info.physical_size, 6);
	/* BEFORE DATE_B / LARGER 5 as SEARCH evaluates them. */
	{
		unsigned before = 0, larger = 0;

		for (uint32_t s = 1; s <= 3; s++) {
			CU_ASSERT_EQUAL(t.ops->message_info(box, s, &info),
					PH_OK);
			before += info.internal_date < DATE_B;
			larger += info.size > 5;
		}
		CU_ASSERT_EQUAL(before, 1);
		CU_ASSERT_EQUAL(larger, 2);
	}
	CU_ASSERT_EQUAL(t.ops->mailbox_get_status(box, &st), PH_OK);
	CU_ASSERT_EQUAL(st.size, 12 + 3 + 7);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

static void test_learned_dates_persist(void)
{
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;
	struct maildir_index *idx;
	const char *error;
	ph_mailbox *box;
	struct mt t;

	box = setup_three(&t, 0);
	CU_ASSERT_EQUAL(t.ops->message_info(box, 2, &info), PH_OK);
	/* Written back at the next sync... */
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(box, 0, NULL, NULL, &error), PH_OK);
	idx = load(&t);
	CU_ASSERT_EQUAL(idx->recs[0].date, MAILDIR_DATE_UNKNOWN);
	CU_ASSERT_EQUAL(idx->recs[1].date, DATE_B);
	maildir_index_free(&idx);
	/* ... and still answered by the view after it adopted the index. */
	CU_ASSERT_EQUAL(t.ops->message_info(box, 2, &info), PH_OK);
	CU_ASSERT_EQUAL(info.internal_date, DATE_B);
	/* ... or at close, read-only views too. */
	t.ops->mailbox_close(&box);
	CU_ASSERT_EQUAL_FATAL(
	    t.ops->mailbox_open(t.mu, "INBOX", PH_OPEN_READONLY, &box, &error),
	    PH_OK);
	CU_ASSERT_EQUAL(t.ops->message_info(box, 1, &info), PH_OK);
	CU_ASSERT_EQUAL(info.internal_date, DATE_A);
	t.ops->mailbox_close(&box);
	idx = load(&t);
	CU_ASSERT_EQUAL(idx->recs[0].date, DATE_A);
	CU_ASSERT_EQUAL(idx->recs[1].date, DATE_B);
	CU_ASSERT_EQUAL(idx->recs[2].date, DATE_C);
	maildir_index_free(&idx);
	mt_teardown(&t);
}

/* A few dates learned in a big mailbox are not worth a whole index
 * write: they are stat()ed again later. A 64th of it is. */
static void test_persist_threshold(void)
{
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;
	struct maildir_index *idx;
	const char *error;
	ph_mailbox *box;
	char name[64];
	struct mt t;

	mt_setup(&t, NULL);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "%d.M1P1.h,S=3,W=3:2,",
			 1000000000 + i);
		put_cur(&t, name, "x\r\n", DATE_A + i);
	}
	CU_ASSERT_EQUAL_FATAL(
	    t.ops->mailbox_open(t.mu, "INBOX", 0, &box, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->message_info(box, 10, &info), PH_OK);
	CU_ASSERT_EQUAL(info.internal_date, DATE_A + 9);
	t.ops->mailbox_close(&box);
	idx = load(&t);
	CU_ASSERT_EQUAL(idx->recs[9].date, MAILDIR_DATE_UNKNOWN);
	maildir_index_free(&idx);
	CU_ASSERT_EQUAL_FATAL(
	    t.ops->mailbox_open(t.mu, "INBOX", 0, &box, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->message_info(box, 10, &info), PH_OK);
	CU_ASSERT_EQUAL(t.ops->message_info(box, 20, &info), PH_OK);
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(box, 0, NULL, NULL, &error), PH_OK);
	idx = load(&t);
	CU_ASSERT_EQUAL(idx->recs[9].date, DATE_A + 9);
	CU_ASSERT_EQUAL(idx->recs[19].date, DATE_A + 19);
	CU_ASSERT_EQUAL(idx->recs[29].date, MAILDIR_DATE_UNKNOWN);
	maildir_index_free(&idx);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

/* A file gone before its date was asked for: no crash, the date of its
 * base name, and the next sync reports the expunge. */
static void test_vanished_before_stat(void)
{
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;
	const char *error;
	ph_mailbox *box;
	char p[800];
	struct mt t;

	box = setup_three(&t, 0);
	snprintf(p, sizeof(p), "%s/cur/1000000001.M1P1.h,S=10,W=12:2,S",
		 t.root);
	CU_ASSERT_EQUAL_FATAL(unlink(p), 0);
	CU_ASSERT_EQUAL(t.ops->message_info(box, 1, &info), PH_OK);
	CU_ASSERT_EQUAL(info.internal_date, 1000000001);
	CU_ASSERT_EQUAL(info.size, 12);
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(box, 0, NULL, NULL, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->message_count(box), 2);
	CU_ASSERT_EQUAL(t.ops->message_info(box, 1, &info), PH_OK);
	CU_ASSERT_EQUAL(info.internal_date, DATE_B);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

/* Renamed by another MUA (a flag change) before the stat: found again. */
static void test_renamed_before_stat(void)
{
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;
	ph_mailbox *box;
	char from[800], to[800];
	struct mt t;

	box = setup_three(&t, 0);
	snprintf(from, sizeof(from), "%s/cur/1000000002.M1P1.h,S=3,W=3:2,",
		 t.root);
	snprintf(to, sizeof(to), "%s/cur/1000000002.M1P1.h,S=3,W=3:2,F",
		 t.root);
	CU_ASSERT_EQUAL_FATAL(rename(from, to), 0);
	CU_ASSERT_EQUAL(t.ops->message_info(box, 2, &info), PH_OK);
	CU_ASSERT_EQUAL(info.internal_date, DATE_B);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

/* A copy of a message whose date is not known yet carries the real one. */
static void test_copy_learns_date(void)
{
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;
	uint32_t seq = 1, uidv, uid;
	const char *error;
	ph_mailbox *box, *dst;
	struct mt t;

	box = setup_three(&t, 0);
	CU_ASSERT_EQUAL_FATAL(t.ops->mailbox_create(t.mu, "Dst", 0, &error),
			      PH_OK);
	CU_ASSERT_EQUAL(
	    t.ops->messages_copy(box, &seq, 1, "Dst", 0, &uidv, &uid, &error),
	    PH_OK);
	CU_ASSERT_EQUAL_FATAL(t.ops->mailbox_open(t.mu, "Dst", 0, &dst, &error),
			      PH_OK);
	CU_ASSERT_EQUAL(t.ops->message_info(dst, 1, &info), PH_OK);
	CU_ASSERT_EQUAL(info.internal_date, DATE_A);
	t.ops->mailbox_close(&dst);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

/* An index written by version 1 (a 104-byte header without the
 * counters, every date known) is read as it is, not rebuilt; the view
 * counts what the header does not say. */
static void test_reads_version_1(void)
{
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	struct maildir_index *idx;
	const char *error;
	uint32_t v, crc = 0;
	unsigned char *buf;
	ph_mailbox *box;
	struct stat sb;
	char p[800];
	struct mt t;
	int fd;

	box = setup_three(&t, 0);
	for (uint32_t s = 1; s <= 3; s++)
		t.ops->message_info(box, s, &info);
	t.ops->mailbox_close(&box); /* all dates known now */
	snprintf(p, sizeof(p), "%s/posthorn-index", t.root);
	CU_ASSERT_EQUAL_FATAL(stat(p, &sb), 0);
	buf = malloc((size_t)sb.st_size);
	fd = open(p, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0 && buf != NULL);
	CU_ASSERT_EQUAL(pread(fd, buf, (size_t)sb.st_size, 0), sb.st_size);
	/* version 1, header_size 104, the counters cut out */
	v = 1;
	memcpy(buf + 4, &v, 4);
	v = 104;
	memcpy(buf + 8, &v, 4);
	memset(buf + 52, 0, 4); /* pad */
	memcpy(buf + 100, &crc, 4);
	crc = maildir_crc32c(0, buf, 104);
	memcpy(buf + 100, &crc, 4);
	memmove(buf + 104, buf + 120, (size_t)sb.st_size - 120);
	CU_ASSERT_EQUAL(ftruncate(fd, 0), 0);
	CU_ASSERT_EQUAL(pwrite(fd, buf, (size_t)sb.st_size - 16, 0),
			(ssize_t)sb.st_size - 16);
	close(fd);
	idx = load(&t);
	CU_ASSERT_EQUAL(idx->count, 3);
	CU_ASSERT_EQUAL(idx->recs[0].date, DATE_A);
	CU_ASSERT_FALSE(idx->counters_valid);
	maildir_index_free(&idx);
	CU_ASSERT_EQUAL_FATAL(
	    t.ops->mailbox_open(t.mu, "INBOX", 0, &box, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->mailbox_get_status(box, &st), PH_OK);
	CU_ASSERT_EQUAL(st.messages, 3);
	CU_ASSERT_EQUAL(st.unseen, 2);
	CU_ASSERT_EQUAL(st.first_unseen_seq, 2);
	CU_ASSERT_EQUAL(st.size, 12 + 3 + 6); /* no W=: psize until counted */
	t.ops->mailbox_close(&box);
	/* An unknown version is rebuilt from the files. */
	v = 99;
	fd = open(p, O_RDWR);
	CU_ASSERT_EQUAL(pwrite(fd, &v, 4, 4), 4);
	close(fd);
	CU_ASSERT_EQUAL(maildir_index_load(t.root, &idx), PH_EIO);
	CU_ASSERT_EQUAL_FATAL(
	    t.ops->mailbox_open(t.mu, "INBOX", 0, &box, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->message_count(box), 3);
	CU_ASSERT_EQUAL(t.ops->message_info(box, 2, &info), PH_OK);
	CU_ASSERT_EQUAL(info.internal_date, DATE_B);
	t.ops->mailbox_close(&box);
	free(buf);
	mt_teardown(&t);
}

/* The SELECT counters come from the index header and follow changes:
 * a STORE through the log (header counters stale) and a full write. */
static void test_header_counters(void)
{
	struct ph_store_request req = PH_STORE_REQUEST_INIT;
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	struct maildir_index *idx;
	uint32_t seq = 2;
	const char *error;
	ph_mailbox *box, *b2;
	struct mt t;

	box = setup_three(&t, 0);
	idx = load(&t);
	CU_ASSERT_TRUE(idx->counters_valid);
	CU_ASSERT_EQUAL(idx->unseen, 2);
	CU_ASSERT_EQUAL(idx->first_unseen, 2);
	CU_ASSERT_EQUAL(idx->size_sum, 12 + 3 + 6); /* 3rd: no W=, psize */
	maildir_index_free(&idx);
	req.mode = PH_STORE_ADD;
	req.flags = PH_FLAG_SEEN;
	CU_ASSERT_EQUAL(
	    t.ops->messages_store(box, &seq, 1, &req, NULL, NULL, &error),
	    PH_OK);
	CU_ASSERT_EQUAL_FATAL(
	    t.ops->mailbox_open(t.mu, "INBOX", 0, &b2, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->mailbox_get_status(b2, &st), PH_OK);
	CU_ASSERT_EQUAL(st.unseen, 1);
	CU_ASSERT_EQUAL(st.first_unseen_seq, 3);
	CU_ASSERT_EQUAL(st.recent, 0); /* claimed by the first view */
	t.ops->mailbox_close(&b2);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

static CU_TestInfo tests[] = {
    {"built without stat", test_built_without_stat},
    {"info answers", test_info_answers},
    {"info omit", test_info_omit},
    {"learned dates persist", test_learned_dates_persist},
    {"persist threshold", test_persist_threshold},
    {"vanished before stat", test_vanished_before_stat},
    {"renamed before stat", test_renamed_before_stat},
    {"copy learns date", test_copy_learns_date},
    {"reads version 1", test_reads_version_1},
    {"header counters", test_header_counters},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"maildir-lazy", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
