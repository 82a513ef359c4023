/* storage-maildir: change notification through the process's shared
 * inotify instance (maildir-watch.c). The mock core accepts the watch and
 * the test runs its callback, as the loop would: a change wakes exactly
 * the views of that mailbox, more views than a user's 128 instances can
 * all watch, a sync drains a view's fd, and a watch outlives the close of
 * one of the views that share it. */
#include "cunit-main.h"
#include "maildir-test.h"
#include "mock-core.h"

#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#define VIEWS 300 /* past fs.inotify.max_user_instances (128) */

static const struct ph_sync_callbacks no_cbs = {
    .struct_size = sizeof(struct ph_sync_callbacks)};

static int readable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, 0) == 1;
}

/* What the loop does when the shared instance is readable. */
static void run_loop_once(void)
{
	ph_io_fn *cb;
	void *ctx;
	int fd = ph_mock_io_last(&cb, &ctx);

	CU_ASSERT_FATAL(fd >= 0);
	if (readable(fd))
		cb(ctx, fd, PH_IO_READ);
}

static void test_shared_instance(void)
{
	static ph_mailbox *inbox[VIEWS];
	int fds[VIEWS], other_fd;
	const char *error = NULL;
	ph_mailbox *other;
	unsigned woken = 0;
	struct mt t;

	ph_mock_io_accept(1);
	mt_setup(&t, NULL);
	CU_ASSERT_EQUAL(t.ops->mailbox_create(t.mu, "Other", 0, &error), PH_OK);
	for (int i = 0; i < VIEWS; i++) {
		inbox[i] = mt_open(&t, "INBOX", 0);
		fds[i] = t.ops->mailbox_watch_fd(inbox[i]);
		CU_ASSERT_FATAL(fds[i] >= 0);
	}
	other = mt_open(&t, "Other", 0);
	other_fd = t.ops->mailbox_watch_fd(other);
	CU_ASSERT_FATAL(other_fd >= 0);
	CU_ASSERT_EQUAL(t.ops->mailbox_watch_fd(other), other_fd); /* kept */

	mt_append(&t, "INBOX", "m\r\n", 0);
	run_loop_once();
	for (int i = 0; i < VIEWS; i++)
		woken += readable(fds[i]);
	CU_ASSERT_EQUAL(woken, VIEWS);
	CU_ASSERT(!readable(other_fd)); /* only the mailbox that changed */

	/* a sync empties the fd */
	CU_ASSERT_EQUAL(t.ops->mailbox_sync(inbox[0], 0, &no_cbs, NULL, &error),
			PH_OK);
	CU_ASSERT(!readable(fds[0]));

	/* the others keep the shared watch when views close */
	for (int i = 1; i < VIEWS; i++)
		t.ops->mailbox_close(&inbox[i]);
	mt_append(&t, "INBOX", "n\r\n", 0);
	run_loop_once();
	CU_ASSERT(readable(fds[0]));
	mt_append(&t, "Other", "o\r\n", 0);
	run_loop_once();
	CU_ASSERT(readable(other_fd));

	t.ops->mailbox_close(&inbox[0]);
	t.ops->mailbox_close(&other);
	mt_teardown(&t);
	ph_mock_io_accept(0);
}

static CU_TestInfo tests[] = {
    {"shared instance", test_shared_instance},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"maildir-watch", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
