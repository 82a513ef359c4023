/* storage-maildir: damage and concurrency. A corrupt or truncated index,
 * a lost uid list, files dropped into new/ by an MTA, a file renamed by
 * another program, and processes killed with SIGKILL mid-operation. */
#include "cunit-main.h"
#include "maildir-test.h"
#include "mock-core.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint32_t uid_at(struct mt *t, ph_mailbox *box, uint32_t seq)
{
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;

	CU_ASSERT_EQUAL(t->ops->message_info(box, seq, &info), PH_OK);
	return info.uid;
}

static uint32_t uidvalidity(struct mt *t, const char *name)
{
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	const char *error;

	CU_ASSERT_EQUAL(t->ops->mailbox_status(t->mu, name, &st, &error),
			PH_OK);
	return st.uidvalidity;
}

static void path_of(struct mt *t, const char *file, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", t->root, file);
}

/* Three messages with UIDs 2, 3, 4 (uid 1 expunged). */
static void fill(struct mt *t)
{
	const char *error;
	uint32_t seq = 1;
	ph_mailbox *box;

	for (int i = 0; i < 4; i++)
		mt_append(t, "INBOX", "Subject: x\r\n\r\nbody\r\n", 0);
	box = mt_open(t, "INBOX", 0);
	CU_ASSERT_EQUAL(t->ops->messages_expunge(box, &seq, 1, &error), PH_OK);
	t->ops->mailbox_close(&box);
}

/* UIDs 2..next-1 are there, UIDVALIDITY is kept, and the next UID is
 * still past every old one. */
static void check_kept(struct mt *t, uint32_t uidv, uint32_t next)
{
	ph_mailbox *box = mt_open(t, "INBOX", 0);

	CU_ASSERT_EQUAL(t->ops->message_count(box), next - 2);
	CU_ASSERT_EQUAL(uid_at(t, box, 1), 2);
	CU_ASSERT_EQUAL(uid_at(t, box, next - 2), next - 1);
	t->ops->mailbox_close(&box);
	CU_ASSERT_EQUAL(uidvalidity(t, "INBOX"), uidv);
	CU_ASSERT_EQUAL(mt_append(t, "INBOX", "m\r\n", 0), next);
}

static void test_corrupt_index(void)
{
	char path[700];
	uint32_t uidv;
	struct mt t;
	int fd;

	mt_setup(&t, NULL);
	fill(&t);
	uidv = uidvalidity(&t, "INBOX");
	path_of(&t, "posthorn-index", path, sizeof(path));
	fd = open(path, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, "\xff\xff\xff\xff", 4, 120), 4);
	close(fd);
	ph_mock_log_reset();
	check_kept(&t, uidv, 5);
	CU_ASSERT(ph_mock_log_count(PH_LOG_WARNING) >= 1);
	mt_teardown(&t);
}

static void test_truncated_index(void)
{
	char path[700];
	uint32_t uidv;
	struct mt t;

	mt_setup(&t, NULL);
	fill(&t);
	uidv = uidvalidity(&t, "INBOX");
	path_of(&t, "posthorn-index", path, sizeof(path));
	CU_ASSERT_EQUAL(truncate(path, 150), 0);
	check_kept(&t, uidv, 5);
	CU_ASSERT_EQUAL(truncate(path, 10), 0);
	check_kept(&t, uidv, 6);
	mt_teardown(&t);
}

/* Random damage anywhere in the index (and its log): every load either
 * accepts it or rebuilds, never crashes, and the messages stay. */
static void test_random_damage(void)
{
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	char path[700], good[700], cmd[1500];
	const char *error;
	struct stat sb;
	struct mt t;

	mt_setup(&t, NULL);
	fill(&t);
	path_of(&t, "posthorn-index", path, sizeof(path));
	snprintf(good, sizeof(good), "%s/good-index", t.dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path, good);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_EQUAL_FATAL(stat(good, &sb), 0);
	ph_mock_log_quiet(1);
	srand(12345);
	for (int i = 0; i < 300; i++) {
		unsigned char byte = (unsigned char)(rand() & 0xff);
		int fd;

		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", good, path);
		CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
		fd = open(path, O_WRONLY);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(pwrite(fd, &byte, 1, rand() % sb.st_size), 1);
		if (i % 3 == 0)
			CU_ASSERT_EQUAL(ftruncate(fd, rand() % sb.st_size), 0);
		close(fd);
		CU_ASSERT_EQUAL(
		    t.ops->mailbox_status(t.mu, "INBOX", &st, &error), PH_OK);
		CU_ASSERT_EQUAL(st.messages, 3);
		CU_ASSERT_EQUAL(st.uidnext, 5);
	}
	ph_mock_log_quiet(0);
	mt_teardown(&t);
}

/* An index whose CRCs are right but whose file name climbs out of cur/
 * ("../x") is refused and rebuilt: names in the index become paths. */
uint32_t maildir_checksum(const void *data, size_t len);
uint32_t maildir_crc32c(uint32_t crc, const void *data, size_t len);

static void test_index_name_traversal(void)
{
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	char path[700];
	unsigned char buf[8192];
	const char *error;
	uint32_t crc;
	ssize_t n;
	char *name;
	int fd;
	struct mt t;

	mt_setup(&t, NULL);
	fill(&t);
	path_of(&t, "posthorn-index", path, sizeof(path));
	fd = open(path, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	CU_ASSERT_FATAL(n > 104);
	/* The first file name starts with the message's time stamp. */
	name = memmem(buf + 104, (size_t)n - 104, ".M", 2);
	CU_ASSERT_FATAL(name != NULL);
	while (name > (char *)buf + 104 && name[-1] != '\0')
		name--;
	memcpy(name, "../", 3);
	crc = maildir_checksum(buf + 104, (size_t)n - 104);
	memcpy(buf + 96, &crc, 4);
	memset(buf + 100, 0, 4);
	crc = maildir_crc32c(0, buf, 104);
	memcpy(buf + 100, &crc, 4);
	CU_ASSERT_EQUAL(pwrite(fd, buf, (size_t)n, 0), n);
	close(fd);
	ph_mock_log_reset();
	CU_ASSERT_EQUAL(t.ops->mailbox_status(t.mu, "INBOX", &st, &error),
			PH_OK);
	CU_ASSERT_EQUAL(st.messages, 3);
	CU_ASSERT(ph_mock_log_count(PH_LOG_WARNING) >= 1);
	mt_teardown(&t);
}

static void test_missing_index(void)
{
	char path[700];
	uint32_t uidv;
	struct mt t;

	mt_setup(&t, NULL);
	fill(&t);
	uidv = uidvalidity(&t, "INBOX");
	path_of(&t, "posthorn-index", path, sizeof(path));
	CU_ASSERT_EQUAL(unlink(path), 0);
	check_kept(&t, uidv, 5);
	mt_teardown(&t);
}

static void test_missing_uidlist(void)
{
	char path[700];
	uint32_t uidv;
	ph_mailbox *box;
	struct mt t;

	mt_setup(&t, NULL);
	fill(&t);
	uidv = uidvalidity(&t, "INBOX");
	path_of(&t, "posthorn-index", path, sizeof(path));
	CU_ASSERT_EQUAL(unlink(path), 0);
	path_of(&t, "posthorn-uidlist", path, sizeof(path));
	CU_ASSERT_EQUAL(unlink(path), 0);
	ph_mock_log_reset();
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->message_count(box), 3); /* all visible */
	CU_ASSERT_EQUAL(uid_at(&t, box, 1), 1);
	t.ops->mailbox_close(&box);
	CU_ASSERT_NOT_EQUAL(uidvalidity(&t, "INBOX"), uidv);
	CU_ASSERT(ph_mock_log_count(PH_LOG_WARNING) >= 1);
	CU_ASSERT(strstr(ph_mock_log_last(), "UIDVALIDITY") != NULL);
	mt_teardown(&t);
}

static void test_garbage_uidlist(void)
{
	char path[700];
	uint32_t uidv;
	FILE *f;
	ph_mailbox *box;
	struct mt t;

	mt_setup(&t, NULL);
	fill(&t);
	uidv = uidvalidity(&t, "INBOX");
	path_of(&t, "posthorn-index", path, sizeof(path));
	CU_ASSERT_EQUAL(unlink(path), 0);
	path_of(&t, "posthorn-uidlist", path, sizeof(path));
	f = fopen(path, "w");
	fputs("garbage\n", f);
	fclose(f);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->message_count(box), 3);
	t.ops->mailbox_close(&box);
	CU_ASSERT_NOT_EQUAL(uidvalidity(&t, "INBOX"), uidv);
	mt_teardown(&t);
}

struct counts {
	unsigned exists, expunged, changed;
};

static void c_exists(void *ctx, uint32_t n)
{
	((struct counts *)ctx)->exists = n;
}

static void c_expunged(void *ctx, uint32_t seq, uint32_t uid)
{
	((struct counts *)ctx)->expunged++;
}

static void c_changed(void *ctx, uint32_t seq,
		      const struct ph_message_info *info)
{
	((struct counts *)ctx)->changed++;
}

static const struct ph_sync_callbacks ccb = {
    .struct_size = sizeof(ccb),
    .expunged = c_expunged,
    .changed = c_changed,
    .exists = c_exists,
};

static void test_new_dir_pickup(void)
{
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;
	struct counts c = {0};
	const char *error;
	char buf[64];
	ph_mailbox *box;
	struct mt t;

	mt_setup(&t, NULL);
	mt_append(&t, "INBOX", "first\r\n", 0);
	box = mt_open(&t, "INBOX", 0);
	mt_deliver_new(t.root, "1700000000.P1Q1.mx", "postfix\n");
	mt_deliver_new(t.root, "1700000001.P1Q2.mx", "second\n");
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(box, 0, &ccb, &c, &error), PH_OK);
	CU_ASSERT_EQUAL(c.exists, 3);
	CU_ASSERT_EQUAL(uid_at(&t, box, 2), 2);
	CU_ASSERT_EQUAL(uid_at(&t, box, 3), 3);
	CU_ASSERT_EQUAL(mt_read(&t, box, 2, buf, sizeof(buf)), PH_OK);
	CU_ASSERT_STRING_EQUAL(buf, "postfix\n");
	CU_ASSERT_EQUAL(t.ops->message_info(box, 2, &info), PH_OK);
	CU_ASSERT_EQUAL(info.size, 9); /* CRLF size */
	CU_ASSERT(info.flags & PH_FLAG_RECENT);
	CU_ASSERT_EQUAL(mt_count_files(t.root, "new"), 0);
	CU_ASSERT_EQUAL(mt_count_files(t.root, "cur"), 3);
	/* Another one right away (same second): not missed. */
	mt_deliver_new(t.root, "1700000002.P1Q3.mx", "third\n");
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(box, 0, &ccb, &c, &error), PH_OK);
	CU_ASSERT_EQUAL(c.exists, 4);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

static void test_renamed_by_other(void)
{
	struct counts c = {0};
	char cur[700], from[1000], to[1100], buf[64];
	const char *error;
	struct dirent *d;
	ph_mailbox *box;
	DIR *dp;
	struct mt t;

	mt_setup(&t, NULL);
	mt_append(&t, "INBOX", "hello\r\n", 0);
	mt_append(&t, "INBOX", "other\r\n", 0);
	box = mt_open(&t, "INBOX", 0);
	/* Another program marks message 1 seen by renaming it. */
	snprintf(cur, sizeof(cur), "%s/cur", t.root);
	dp = opendir(cur);
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(from, sizeof(from), "%s/%s", cur, d->d_name);
		snprintf(to, sizeof(to), "%sS", from);
		break;
	}
	closedir(dp);
	CU_ASSERT_EQUAL(rename(from, to), 0);
	/* The body is found again by its base name... */
	CU_ASSERT_EQUAL(mt_read(&t, box, 1, buf, sizeof(buf)), PH_OK);
	CU_ASSERT_EQUAL(mt_read(&t, box, 2, buf, sizeof(buf)), PH_OK);
	/* ...and the sync reports a flag change, not an expunge. */
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(box, 0, &ccb, &c, &error), PH_OK);
	CU_ASSERT_EQUAL(c.expunged, 0);
	CU_ASSERT_EQUAL(c.changed, 1);
	CU_ASSERT_EQUAL(t.ops->message_count(box), 2);
	t.ops->mailbox_close(&box);
	mt_teardown(&t);
}

/* Flag-only STOREs go to posthorn-index.log, not an index rewrite;
 * other views replay it; a torn log is repaired from the file names. */
static void test_store_log(void)
{
	struct ph_store_request req = PH_STORE_REQUEST_INIT;
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;
	struct counts c = {0};
	char path[700], logp[700];
	struct stat before, after, lst;
	uint32_t seq;
	const char *error;
	ph_mailbox *a, *b;
	struct mt t;

	mt_setup(&t, NULL);
	for (int i = 0; i < 3; i++)
		mt_append(&t, "INBOX", "m\r\n", 0);
	a = mt_open(&t, "INBOX", 0);
	b = mt_open(&t, "INBOX", 0);
	path_of(&t, "posthorn-index", path, sizeof(path));
	path_of(&t, "posthorn-index.log", logp, sizeof(logp));
	CU_ASSERT_EQUAL(stat(path, &before), 0);
	req.mode = PH_STORE_ADD;
	req.flags = PH_FLAG_SEEN;
	for (seq = 1; seq <= 3; seq++) {
		/* Apart by more than a timestamp tick, so each store moves
		 * the cur/ mtime the log records. */
		usleep(20000);
		CU_ASSERT_EQUAL(
		    t.ops->messages_store(a, &seq, 1, &req, NULL, NULL, &error),
		    PH_OK);
	}
	CU_ASSERT_EQUAL(stat(path, &after), 0);
	CU_ASSERT_EQUAL(before.st_ino, after.st_ino); /* not rewritten */
	CU_ASSERT_EQUAL(stat(logp, &lst), 0);
	CU_ASSERT(lst.st_size > 0);
	/* Another view sees the changes through the log. */
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(b, 0, &ccb, &c, &error), PH_OK);
	CU_ASSERT_EQUAL(c.changed, 3);
	CU_ASSERT_EQUAL(c.expunged, 0);
	t.ops->message_info(b, 2, &info);
	CU_ASSERT(info.flags & PH_FLAG_SEEN);
	/* A torn last entry: the next open notices cur/ is newer than what
	 * the log says and takes the flags from the names. */
	CU_ASSERT_EQUAL(truncate(logp, lst.st_size - 5), 0);
	t.ops->mailbox_close(&a);
	t.ops->mailbox_close(&b);
	a = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->message_count(a), 3);
	for (seq = 1; seq <= 3; seq++) {
		t.ops->message_info(a, seq, &info);
		CU_ASSERT(info.flags & PH_FLAG_SEEN);
	}
	/* An expunge rewrites the index and folds the log away. */
	seq = 1;
	CU_ASSERT_EQUAL(t.ops->messages_expunge(a, &seq, 1, &error), PH_OK);
	CU_ASSERT_NOT_EQUAL(stat(logp, &lst), 0);
	t.ops->mailbox_close(&a);
	mt_teardown(&t);
}

/* A log left from an older index generation is not replayed. */
static void test_stale_log(void)
{
	struct ph_store_request req = PH_STORE_REQUEST_INIT;
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;
	char logp[700], saved[700], cmd[1600];
	uint32_t seq = 1;
	const char *error;
	ph_mailbox *a;
	struct mt t;

	mt_setup(&t, NULL);
	mt_append(&t, "INBOX", "m\r\n", 0);
	mt_append(&t, "INBOX", "n\r\n", 0);
	a = mt_open(&t, "INBOX", 0);
	req.mode = PH_STORE_ADD;
	req.flags = PH_FLAG_FLAGGED;
	CU_ASSERT_EQUAL(
	    t.ops->messages_store(a, &seq, 1, &req, NULL, NULL, &error), PH_OK);
	path_of(&t, "posthorn-index.log", logp, sizeof(logp));
	snprintf(saved, sizeof(saved), "%s/saved.log", t.dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", logp, saved);
	CU_ASSERT_EQUAL(system(cmd), 0);
	/* Unflag through a full rewrite (new generation), then put the old
	 * log back as if a crash had left it. */
	req.mode = PH_STORE_REMOVE;
	CU_ASSERT_EQUAL(
	    t.ops->messages_store(a, &seq, 1, &req, NULL, NULL, &error), PH_OK);
	seq = 2;
	CU_ASSERT_EQUAL(t.ops->messages_expunge(a, &seq, 1, &error), PH_OK);
	t.ops->mailbox_close(&a);
	CU_ASSERT_EQUAL(rename(saved, logp), 0);
	a = mt_open(&t, "INBOX", 0);
	t.ops->message_info(a, 1, &info);
	CU_ASSERT_EQUAL(info.flags & PH_FLAG_FLAGGED, 0);
	CU_ASSERT_EQUAL(t.ops->message_count(a), 1);
	/* And a store still works (the stale log is folded away). */
	seq = 1;
	req.mode = PH_STORE_ADD;
	CU_ASSERT_EQUAL(
	    t.ops->messages_store(a, &seq, 1, &req, NULL, NULL, &error), PH_OK);
	t.ops->mailbox_close(&a);
	a = mt_open(&t, "INBOX", 0);
	t.ops->message_info(a, 1, &info);
	CU_ASSERT(info.flags & PH_FLAG_FLAGGED);
	t.ops->mailbox_close(&a);
	mt_teardown(&t);
}

/* ---- kill -9 ---- */

#define TORTURE_OPS   1000
#define TORTURE_PROCS 4

struct shared {
	atomic_int ops;
	atomic_int next_id;
};

/* Children log "A id" after a committed append and "X id" before an
 * expunge, with O_APPEND single writes. */
static void log_line(int fd, char kind, int id)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%c %d\n", kind, id);

	if (write(fd, line, (size_t)n) != n)
		_exit(3);
}

static int body_id(struct mt *t, ph_mailbox *box, uint32_t seq)
{
	char buf[128];
	int id = -1;

	if (mt_read(t, box, seq, buf, sizeof(buf)) == PH_OK)
		sscanf(buf, "X-Id: %d", &id);
	return id;
}

static void torture_child(struct mt *t, struct shared *sh, int logfd,
			  unsigned seed)
{
	struct ph_store_request req = PH_STORE_REQUEST_INIT;
	const char *error;
	char text[64];
	uint32_t seq;

	srand(seed);
	while (atomic_fetch_add(&sh->ops, 1) < TORTURE_OPS) {
		int op = rand() % 4;
		ph_mailbox *box = NULL;
		uint32_t n;

		if (op == 0) {
			int id = atomic_fetch_add(&sh->next_id, 1);

			snprintf(text, sizeof(text), "X-Id: %d\r\n\r\nx\r\n",
				 id);
			if (mt_append(t, "INBOX", text, 0) != 0)
				log_line(logfd, 'A', id);
			continue;
		}
		if (t->ops->mailbox_open(t->mu, "INBOX", 0, &box, &error) < 0)
			continue;
		n = t->ops->message_count(box);
		if (n > 0) {
			seq = 1 + (uint32_t)rand() % n;
			if (op == 1) {
				t->ops->messages_copy(box, &seq, 1, "Copies", 0,
						      NULL, NULL, &error);
			} else if (op == 2) {
				int id = body_id(t, box, seq);

				if (id >= 0) {
					log_line(logfd, 'X', id);
					t->ops->messages_expunge(box, &seq, 1,
								 &error);
				}
			} else {
				req.mode = PH_STORE_REPLACE;
				req.flags =
				    (uint32_t)rand() & PH_FLAGS_STORABLE;
				t->ops->messages_store(box, &seq, 1, &req, NULL,
						       NULL, &error);
			}
		}
		t->ops->mailbox_close(&box);
	}
	_exit(0);
}

/* After the storm the uid list alone must give back the same UIDs: drop
 * the index, reopen, compare uid -> body for every message. */
static void torture_check_uidlist(struct mt *t, const char *name,
				  const char *dir, uint32_t uidv)
{
	char path[800];
	ph_mailbox *box = mt_open(t, name, 0);
	uint32_t n = t->ops->message_count(box);
	uint32_t *uids = calloc(n + 1, sizeof(*uids));
	int *ids = calloc(n + 1, sizeof(*ids));
	unsigned mismatched = 0;

	for (uint32_t s = 1; s <= n; s++) {
		uids[s - 1] = uid_at(t, box, s);
		ids[s - 1] = body_id(t, box, s);
	}
	t->ops->mailbox_close(&box);
	snprintf(path, sizeof(path), "%s/posthorn-index", dir);
	CU_ASSERT_EQUAL(unlink(path), 0);
	box = mt_open(t, name, 0);
	CU_ASSERT_EQUAL(t->ops->message_count(box), n);
	for (uint32_t s = 1; s <= n && s <= t->ops->message_count(box); s++)
		if (uid_at(t, box, s) != uids[s - 1] ||
		    body_id(t, box, s) != ids[s - 1])
			mismatched++;
	CU_ASSERT_EQUAL(mismatched, 0);
	t->ops->mailbox_close(&box);
	CU_ASSERT_EQUAL(uidvalidity(t, name), uidv);
	free(uids);
	free(ids);
}

static void torture_check(struct mt *t, const char *name, uint32_t uidv,
			  const char *log_path, bool check_lost)
{
	char dir[700], line[64];
	unsigned char *present = calloc(100000, 1);
	unsigned char *committed = calloc(100000, 1);
	unsigned char *expunged = calloc(100000, 1);
	ph_mailbox *box = mt_open(t, name, 0);
	uint32_t n = t->ops->message_count(box), prev = 0;
	unsigned dups = 0, lost = 0;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s%s%s", t->root,
		 strcmp(name, "INBOX") ? "/." : "",
		 strcmp(name, "INBOX") ? name : "");
	/* Every file is indexed exactly once, nothing left in new/. */
	CU_ASSERT_EQUAL(mt_count_files(dir, "cur"), n);
	CU_ASSERT_EQUAL(mt_count_files(dir, "new"), 0);
	CU_ASSERT_EQUAL(uidvalidity(t, name), uidv);
	for (uint32_t s = 1; s <= n; s++) {
		uint32_t uid = uid_at(t, box, s);
		int id = body_id(t, box, s);

		CU_ASSERT(uid > prev); /* unique and ascending */
		prev = uid;
		CU_ASSERT(id >= 0 && id < 100000);
		if (id >= 0 && id < 100000) {
			if (present[id] && check_lost)
				dups++;
			present[id] = 1;
		}
	}
	t->ops->mailbox_close(&box);
	if (check_lost && (f = fopen(log_path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			int id;

			if (sscanf(line + 2, "%d", &id) != 1 || id < 0 ||
			    id >= 100000)
				continue;
			if (line[0] == 'A')
				committed[id] = 1;
			else if (line[0] == 'X')
				expunged[id] = 1;
		}
		fclose(f);
		for (int id = 0; id < 100000; id++)
			if (committed[id] && !expunged[id] && !present[id])
				lost++;
	}
	CU_ASSERT_EQUAL(dups, 0);
	CU_ASSERT_EQUAL(lost, 0);
	torture_check_uidlist(t, name, dir, uidv);
	if (dups || lost)
		fprintf(stderr, "%s: %u duplicated, %u lost\n", name, dups,
			lost);
	free(present);
	free(committed);
	free(expunged);
}

static void test_kill9(void)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pids[TORTURE_PROCS];
	char log_path[700];
	const char *error;
	uint32_t uidv_inbox, uidv_copies;
	unsigned kills = 0, spawned = 0;
	int logfd;
	struct mt t;

	CU_ASSERT_FATAL(sh != MAP_FAILED);
	atomic_init(&sh->ops, 0);
	atomic_init(&sh->next_id, 0);
	mt_setup(&t, NULL);
	CU_ASSERT_EQUAL(t.ops->mailbox_create(t.mu, "Copies", 0, &error),
			PH_OK);
	uidv_inbox = uidvalidity(&t, "INBOX");
	uidv_copies = uidvalidity(&t, "Copies");
	snprintf(log_path, sizeof(log_path), "%s/torture.log", t.dir);
	logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	CU_ASSERT_FATAL(logfd >= 0);
	srand((unsigned)time(NULL));
	for (int i = 0; i < TORTURE_PROCS; i++) {
		if ((pids[i] = fork()) == 0)
			torture_child(&t, sh, logfd, ++spawned * 7919u);
		spawned++;
	}
	/* Kill a random child at a random moment, start a replacement,
	 * until the ops are used up. */
	while (atomic_load(&sh->ops) < TORTURE_OPS && kills < 200) {
		struct timespec ts = {0, (rand() % 20000) * 1000L};
		int i = rand() % TORTURE_PROCS, status;

		nanosleep(&ts, NULL);
		if (kill(pids[i], SIGKILL) == 0) {
			waitpid(pids[i], &status, 0);
			kills++;
		}
		if ((pids[i] = fork()) == 0)
			torture_child(&t, sh, logfd, ++spawned * 7919u);
	}
	for (int i = 0; i < TORTURE_PROCS; i++) {
		int status;

		waitpid(pids[i], &status, 0);
	}
	close(logfd);
	fprintf(stderr, "kill9: %u kills, %d ops\n", kills,
		atomic_load(&sh->ops));
	CU_ASSERT(kills > 0);
	torture_check(&t, "INBOX", uidv_inbox, log_path, true);
	torture_check(&t, "Copies", uidv_copies, log_path, false);
	munmap(sh, sizeof(*sh));
	mt_teardown(&t);
}

/* Starts an append of `text` to INBOX, its data written. */
static ph_append *begin(struct mt *t, const char *text)
{
	struct ph_append_request req = PH_APPEND_REQUEST_INIT;
	const char *error = NULL;
	ph_append *ap = NULL;

	CU_ASSERT_EQUAL_FATAL(
	    t->ops->append_begin(t->mu, "INBOX", &req, &ap, &error), PH_OK);
	CU_ASSERT_EQUAL(t->ops->append_write(ap, text, strlen(text), &error),
			PH_OK);
	return ap;
}

/* Name of the one file in root/tmp/ not named `except`. */
static void newest_tmp(struct mt *t, const char *except, char *out, size_t size)
{
	char dir[700];
	struct dirent *e;
	DIR *d;

	out[0] = '\0';
	snprintf(dir, sizeof(dir), "%s/tmp", t->root);
	d = opendir(dir);
	CU_ASSERT_FATAL(d != NULL);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.' && strcmp(e->d_name, except) != 0)
			snprintf(out, size, "%s", e->d_name);
	}
	closedir(d);
}

/* MULTIAPPEND's commit is all or nothing: three together get
 * consecutive UIDs; when the second cannot be moved into cur/ (its file
 * vanished from tmp/), the first is taken out of cur/ again and the
 * mailbox stays as it was. */
static void test_commit_all(void)
{
	char first[256], second[256], path[1100];
	uint32_t uids[3] = {0}, validity = 0;
	const char *error = NULL;
	ph_append *aps[3];
	ph_mailbox *box;
	struct mt t;

	mt_setup(&t, NULL);
	CU_ASSERT_EQUAL(mt_append(&t, "INBOX", "zero\r\n", 0), 1);
	for (int i = 0; i < 3; i++)
		aps[i] = begin(&t, "m\r\n");
	CU_ASSERT_EQUAL(
	    t.ops->append_commit_all(aps, 3, &validity, uids, &error), PH_OK);
	CU_ASSERT_EQUAL(uids[0], 2);
	CU_ASSERT_EQUAL(uids[1], 3);
	CU_ASSERT_EQUAL(uids[2], 4);
	CU_ASSERT_PTR_NULL(aps[0]);
	CU_ASSERT_EQUAL(validity, uidvalidity(&t, "INBOX"));

	aps[0] = begin(&t, "a\r\n");
	newest_tmp(&t, "", first, sizeof(first));
	aps[1] = begin(&t, "b\r\n");
	newest_tmp(&t, first, second, sizeof(second));
	CU_ASSERT_FATAL(second[0] != '\0');
	snprintf(path, sizeof(path), "%s/tmp/%s", t.root, second);
	CU_ASSERT_EQUAL(unlink(path), 0);
	CU_ASSERT(t.ops->append_commit_all(aps, 2, &validity, uids, &error) <
		  0);
	CU_ASSERT_PTR_NOT_NULL(error);
	CU_ASSERT_PTR_NULL(aps[0]);
	CU_ASSERT_PTR_NULL(aps[1]);
	CU_ASSERT_EQUAL(
	    mt_count_files(t.root, "cur") + mt_count_files(t.root, "new"), 4);
	CU_ASSERT_EQUAL(mt_count_files(t.root, "tmp"), 0);
	box = mt_open(&t, "INBOX", 0);
	CU_ASSERT_EQUAL(t.ops->message_count(box), 4);
	t.ops->mailbox_close(&box);
	/* the next append goes on where the good ones ended */
	CU_ASSERT_EQUAL(mt_append(&t, "INBOX", "c\r\n", 0), 5);
	mt_teardown(&t);
}

static CU_TestInfo tests[] = {
    {"corrupt_index", test_corrupt_index},
    {"truncated_index", test_truncated_index},
    {"random_damage", test_random_damage},
    {"index_name_traversal", test_index_name_traversal},
    {"missing_index", test_missing_index},
    {"missing_uidlist", test_missing_uidlist},
    {"garbage_uidlist", test_garbage_uidlist},
    {"new_dir_pickup", test_new_dir_pickup},
    {"renamed_by_other", test_renamed_by_other},
    {"store_log", test_store_log},
    {"stale_log", test_stale_log},
    {"kill9", test_kill9},
    {"commit_all", test_commit_all},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"maildir-faults", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
