/* storage-maildir: the cache file's compaction (maildir-cache*.c). A view
 * that closes with a big log rewrites the file into sorted sections; the
 * values survive it, expunged messages' values do not, later values win
 * over compacted ones, and a view mapping the old file keeps reading it. */
#include "cunit-main.h"
#include "maildir-cache.h"
#include "maildir-test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSGS	  300
#define VALUE_LEN 1000 /* MSGS values: past the compaction threshold */

/* value of message seq: "v<seq>" then filler up to VALUE_LEN */
static struct ph_str value_of(uint32_t seq, char *buf)
{
	int n = snprintf(buf, VALUE_LEN, "v%u|", seq);

	memset(buf + n, 'x', VALUE_LEN - (size_t)n);
	return (struct ph_str){buf, VALUE_LEN};
}

static void fill(struct mt *t, ph_mailbox *box, const char *field)
{
	char buf[VALUE_LEN];

	for (uint32_t seq = 1; seq <= MSGS; seq++)
		CU_ASSERT_EQUAL(
		    t->ops->cache_set(box, seq, field, value_of(seq, buf)),
		    PH_OK);
}

static void check_all(struct mt *t, ph_mailbox *box, const char *field)
{
	char buf[VALUE_LEN];
	struct ph_str v, want;

	for (uint32_t seq = 1; seq <= MSGS; seq++) {
		want = value_of(seq, buf);
		CU_ASSERT_EQUAL_FATAL(t->ops->cache_get(box, seq, field, &v),
				      PH_OK);
		CU_ASSERT_EQUAL(v.len, want.len);
		CU_ASSERT(memcmp(v.data, want.data, want.len) == 0);
	}
}

/* The file's header, and its size. */
static struct cache_header file_header(struct mt *t, off_t *size_r)
{
	struct cache_header h;
	char path[700];
	struct stat st;
	int fd;

	memset(&h, 0, sizeof(h));
	snprintf(path, sizeof(path), "%s/" CACHE_FILE, t->root);
	fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	CU_ASSERT_EQUAL(fstat(fd, &st), 0);
	close(fd);
	*size_r = st.st_size;
	return h;
}

static bool file_contains(struct mt *t, const char *needle)
{
	char path[700];
	bool found = false;
	size_t len = 0;
	char *data;
	FILE *f;

	snprintf(path, sizeof(path), "%s/" CACHE_FILE, t->root);
	f = fopen(path, "rb");
	CU_ASSERT_FATAL(f != NULL);
	data = malloc(4 << 20);
	CU_ASSERT_FATAL(data != NULL);
	len = fread(data, 1, 4 << 20, f);
	fclose(f);
	found = memmem(data, len, needle, strlen(needle)) != NULL;
	free(data);
	return found;
}

static void setup_msgs(struct mt *t)
{
	mt_setup(t, NULL);
	for (int i = 0; i < MSGS; i++)
		CU_ASSERT_FATAL(mt_append(t, "INBOX", "m\r\n", 0) != 0);
}

static void test_compacted_at_close(void)
{
	struct cache_header h;
	ph_mailbox *box;
	struct mt t;
	off_t size;

	setup_msgs(&t);
	box = mt_open(&t, "INBOX", 0);
	fill(&t, box, "imap4.bs");
	fill(&t, box, "imap4.env");
	h = file_header(&t, &size);
	CU_ASSERT(size > (off_t)h.base_len); /* all in the log */
	t.ops->mailbox_close(&box);
	h = file_header(&t, &size);
	CU_ASSERT_EQUAL(memcmp(h.magic, CACHE_MAGIC, 4), 0);
	CU_ASSERT_EQUAL(h.nfields, 2);
	CU_ASSERT_EQUAL(size, (off_t)h.base_len); /* no log left */
	box = mt_open(&t, "INBOX", 0);
	check_all(&t, box, "imap4.bs");
	check_all(&t, box, "imap4.env");
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

/* A value set after compaction (in the log) wins over the section's,
 * in this view, in the next and after the next compaction. */
static void test_log_wins_over_section(void)
{
	struct ph_str v;
	ph_mailbox *box;
	struct mt t;

	setup_msgs(&t);
	box = mt_open(&t, "INBOX", 0);
	fill(&t, box, "f");
	t.ops->mailbox_close(&box);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 7, "f", &v), PH_OK);
	CU_ASSERT_EQUAL(t.ops->cache_set(box, 7, "f", PH_STR_LIT("new")),
			PH_OK);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 7, "f", &v), PH_OK);
	CU_ASSERT_EQUAL(v.len, 3);
	t.ops->mailbox_close(&box); /* a small log: not compacted */
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 7, "f", &v), PH_OK);
	CU_ASSERT_EQUAL(v.len, 3);
	CU_ASSERT_NSTRING_EQUAL(v.data, "new", 3);
	fill(&t, box, "g"); /* a big log: compacted at close */
	t.ops->mailbox_close(&box);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 7, "f", &v), PH_OK);
	CU_ASSERT_EQUAL(v.len, 3);
	CU_ASSERT_NSTRING_EQUAL(v.data, "new", 3);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 8, "f", &v), PH_OK);
	CU_ASSERT_EQUAL(v.len, VALUE_LEN);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

static void test_expunged_dropped(void)
{
	const char *error = NULL;
	uint32_t seq = 5;
	struct ph_str v;
	ph_mailbox *box;
	struct mt t;

	setup_msgs(&t);
	box = mt_open(&t, "INBOX", 0);
	fill(&t, box, "f");
	CU_ASSERT(file_contains(&t, "v5|"));
	CU_ASSERT_EQUAL(t.ops->messages_expunge(box, &seq, 1, &error), PH_OK);
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(box, 0, NULL, NULL, &error), PH_OK);
	t.ops->mailbox_close(&box);
	CU_ASSERT(!file_contains(&t, "v5|"));
	CU_ASSERT(file_contains(&t, "v4|"));
	CU_ASSERT(file_contains(&t, "v6|"));
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 5, "f", &v), PH_OK);
	CU_ASSERT_EQUAL(memcmp(v.data, "v6|", 3), 0); /* seq 5 is uid 6 */
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

/* Compaction replaces the file by rename(): a view that mapped the old
 * one still reads it. */
static void test_old_mapping_survives(void)
{
	ph_mailbox *reader, *writer;
	char buf[VALUE_LEN];
	struct ph_str v;
	struct mt t;

	setup_msgs(&t);
	writer = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->cache_set(writer, 1, "f", value_of(1, buf)),
			PH_OK);
	t.ops->mailbox_close(&writer);
	reader = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->cache_get(reader, 1, "f", &v), PH_OK);
	writer = mt_open(&t, "INBOX", 0);
	fill(&t, writer, "g");
	t.ops->mailbox_close(&writer); /* compacts */
	CU_ASSERT_EQUAL(t.ops->cache_get(reader, 1, "f", &v), PH_OK);
	CU_ASSERT_EQUAL(memcmp(v.data, "v1|", 3), 0);
	t.ops->mailbox_close(&reader);
	mt_teardown(&t);
}

/* A damaged record in a section is not found; its neighbours are. */
static void test_damaged_section_record(void)
{
	char path[700], needle[16], *data, *hit;
	struct ph_str v;
	ph_mailbox *box;
	struct mt t;
	ssize_t n;
	int fd;

	setup_msgs(&t);
	box = mt_open(&t, "INBOX", 0);
	fill(&t, box, "f");
	t.ops->mailbox_close(&box);
	snprintf(path, sizeof(path), "%s/" CACHE_FILE, t.root);
	fd = open(path, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	data = malloc(1 << 20);
	CU_ASSERT_FATAL(data != NULL);
	n = pread(fd, data, 1 << 20, 0);
	CU_ASSERT_FATAL(n > 0);
	snprintf(needle, sizeof(needle), "v9|");
	hit = memmem(data, (size_t)n, needle, 3);
	CU_ASSERT_FATAL(hit != NULL);
	CU_ASSERT_EQUAL(pwrite(fd, "X", 1, hit - data + 10), 1);
	close(fd);
	free(data);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 9, "f", &v), PH_ENOTFOUND);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 8, "f", &v), PH_OK);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 10, "f", &v), PH_OK);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

/* A file of the first format (or any other) is started afresh. */
static void test_old_format_replaced(void)
{
	char path[700];
	struct cache_header h;
	struct ph_str v;
	ph_mailbox *box;
	struct mt t;
	off_t size;
	FILE *f;

	setup_msgs(&t);
	snprintf(path, sizeof(path), "%s/" CACHE_FILE, t.root);
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f != NULL);
	fputs("PHC1junkjunkjunkjunkjunkjunkjunk", f);
	fclose(f);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 1, "f", &v), PH_ENOTFOUND);
	CU_ASSERT_EQUAL(t.ops->cache_set(box, 1, "f", PH_STR_LIT("one")),
			PH_OK);
	t.ops->mailbox_close(&box);
	h = file_header(&t, &size);
	CU_ASSERT_EQUAL(memcmp(h.magic, CACHE_MAGIC, 4), 0);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->cache_get(box, 1, "f", &v), PH_OK);
	CU_ASSERT_NSTRING_EQUAL(v.data, "one", 3);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

/* The value of (field, uid) in the concurrency test. */
static struct ph_str racer_value(const char *field, uint32_t uid, char *buf)
{
	int n = snprintf(buf, VALUE_LEN, "%s/%u|", field, uid);

	memset(buf + n, 'y', VALUE_LEN - (size_t)n);
	return (struct ph_str){buf, VALUE_LEN};
}

/* Checks every value one view finds: it may lack some, never be wrong.
 * Returns the number of wrong ones; adds the number found to *found_r. */
static unsigned check_view(struct mt *t, const char *const *fields,
			   unsigned nfields, unsigned *found_r)
{
	char buf[VALUE_LEN];
	ph_mailbox *box = mt_open(t, "INBOX", 0);
	unsigned bad = 0, found = 0;

	for (unsigned f = 0; f < nfields; f++) {
		for (uint32_t seq = 1; seq <= MSGS; seq++) {
			struct ph_str v,
			    want = racer_value(fields[f], seq, buf);

			if (t->ops->cache_get(box, seq, fields[f], &v) != PH_OK)
				continue;
			found++;
			if (v.len != want.len ||
			    memcmp(v.data, want.data, v.len) != 0)
				bad++;
		}
	}
	t->ops->mailbox_close(&box);
	*found_r += found;
	return bad;
}

/* Two processes fill fields and close their views (each close may
 * compact) while this one reads: appends racing a compaction may be
 * lost, but no view ever sees a value that is wrong or torn. */
static void test_concurrent_writers(void)
{
	static const char *const fields[] = {"w0", "w1", "w2", "w3"};
	char buf[VALUE_LEN];
	pid_t pids[2];
	unsigned bad = 0, found = 0;
	int status;
	struct mt t;

	setup_msgs(&t);
	for (int w = 0; w < 2; w++) {
		if ((pids[w] = fork()) == 0) {
			for (int round = 0; round < 6; round++) {
				ph_mailbox *box = mt_open(&t, "INBOX", 0);
				const char *f = fields[(w + round) % 4];

				for (uint32_t seq = 1; seq <= MSGS; seq++)
					(void)t.ops->cache_set(
					    box, seq, f,
					    racer_value(f, seq, buf));
				t.ops->mailbox_close(&box);
			}
			_exit(0);
		}
		CU_ASSERT_FATAL(pids[w] > 0);
	}
	for (int round = 0; round < 20; round++)
		bad += check_view(&t, fields, 4, &found);
	for (int w = 0; w < 2; w++) {
		CU_ASSERT_EQUAL(waitpid(pids[w], &status, 0), pids[w]);
		CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	found = 0;
	bad += check_view(&t, fields, 4, &found);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(found > 0); /* not every value can have been lost */
	mt_teardown(&t);
}

static CU_TestInfo tests[] = {
    {"compacted at close", test_compacted_at_close},
    {"log wins over section", test_log_wins_over_section},
    {"expunged dropped", test_expunged_dropped},
    {"old mapping survives", test_old_mapping_survives},
    {"damaged section record", test_damaged_section_record},
    {"old format replaced", test_old_format_replaced},
    {"concurrent writers", test_concurrent_writers},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"maildir-cache", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
