/* bench-maildir - figures for storage-maildir, not a test.
 *
 *   bench-maildir [-n MESSAGES] [-s STORES] [-d DIR]
 *
 * Builds a Maildir with MESSAGES files in cur/ (default 100,000), then
 * times: cold open (no index: readdir + stat + index build), warm open
 * (SELECT equivalent: UIDs, flags, counts from the index), one STORE over
 * STORES messages, STORES single-message STOREs, and a sync with nothing
 * new. Prints one line per figure. Run it from a Release build. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <posthorn/posthorn.h>
#include "mock-core.h"

extern const struct ph_plugin posthorn_plugin;

static const struct ph_storage_ops *ops;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *error)
{
	fprintf(stderr, "bench-maildir: %s: %s\n", what,
		error ? error : strerror(errno));
	exit(1);
}

static void fill(const char *root, unsigned n)
{
	static const char body[] =
	    "From: bench@example.org\r\nTo: user@example.org\r\n"
	    "Subject: benchmark message\r\nMessage-ID: <x@example.org>\r\n"
	    "\r\nHello.\r\n";
	char path[1024];

	for (unsigned i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path),
			 "%s/cur/%u.M%uP1Q%u.bench,S=%zu,W=%zu:2,%s", root,
			 1600000000 + i, i % 1000000, i, sizeof(body) - 1,
			 sizeof(body) - 1, i % 3 ? "S" : "");
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, body, sizeof(body) - 1) < 0)
			die("fill", NULL);
		close(fd);
	}
}

/* The SELECT equivalent: open, counters, every UID and flag. */
static double select_once(ph_mail_user *mu, unsigned *count_r)
{
	struct ph_mailbox_status st = PH_MAILBOX_STATUS_INIT;
	struct ph_message_info info = PH_MESSAGE_INFO_INIT;
	const char *error = NULL;
	ph_mailbox *box;
	unsigned long sum = 0;
	double t0 = now(), t;

	if (ops->mailbox_open(mu, "INBOX", 0, &box, &error) < 0)
		die("open", error);
	ops->mailbox_get_status(box, &st);
	for (uint32_t s = 1; s <= st.messages; s++) {
		ops->message_info(box, s, &info);
		sum += info.uid + info.flags;
	}
	t = now() - t0;
	*count_r = st.messages + (unsigned)(sum & 0);
	ops->mailbox_close(&box);
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned messages = 100000, stores = 10000, count = 0;
	char dir[256] = "", tmpl[600], root[600], path[700];
	const char *error = NULL;
	ph_config *cfg;
	ph_user *user;
	ph_mail_user *mu;
	ph_mailbox *box;
	void *state;
	double t0, t, warm[21];
	int opt;

	while ((opt = getopt(argc, argv, "n:s:d:")) != -1) {
		if (opt == 'n')
			messages = (unsigned)atoi(optarg);
		else if (opt == 's')
			stores = (unsigned)atoi(optarg);
		else if (opt == 'd')
			snprintf(dir, sizeof(dir), "%s", optarg);
		else
			return 2;
	}
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/bench-maildir-XXXXXX");
		if (mkdtemp(dir) == NULL)
			die("mkdtemp", NULL);
	}
	snprintf(tmpl, sizeof(tmpl), "%s/%%u", dir);
	snprintf(root, sizeof(root), "%s/bench", dir);
	{
		const char *kv[] = {
		    "root",
		    tmpl,
		    "special_use_folders",
		    "",
		    "fsync",
		    getenv("BENCH_FSYNC") ? getenv("BENCH_FSYNC") : "yes",
		    NULL};

		cfg = ph_mock_config_create(kv, posthorn_plugin.settings);
	}
	ph_mock_log_quiet(1);
	if (posthorn_plugin.init(ph_mock_core_api(), cfg, &state, &error) < 0)
		die("init", error);
	ops = posthorn_plugin.ops;
	user = ph_mock_user_create("bench");
	if (ops->user_open(state, user, &mu, &error) < 0)
		die("user_open", error);

	t0 = now();
	fill(root, messages);
	printf("fill: %u files in cur/ in %.2f s\n", messages, now() - t0);
	/* Drop nothing from the page cache: "cold" means no index. */
	t = select_once(mu, &count);
	printf("open cold (no index, %u files): %.1f ms\n", count, t * 1e3);
	for (int i = 0; i < 21; i++)
		warm[i] = select_once(mu, &count);
	qsort(warm, 21, sizeof(warm[0]), cmp_double);
	printf("open warm (index, %u messages, UIDs+flags+counts): "
	       "median %.2f ms, min %.2f ms\n",
	       count, warm[10] * 1e3, warm[0] * 1e3);

	if (ops->mailbox_open(mu, "INBOX", 0, &box, &error) < 0)
		die("open", error);
	{
		struct ph_store_request req = PH_STORE_REQUEST_INIT;
		uint32_t *seqs = malloc(stores * sizeof(*seqs));

		for (unsigned i = 0; i < stores; i++)
			seqs[i] = i + 1;
		req.mode = PH_STORE_ADD;
		req.flags = PH_FLAG_FLAGGED;
		t0 = now();
		if (ops->messages_store(box, seqs, stores, &req, NULL, NULL,
					&error) < 0)
			die("store", error);
		t = now() - t0;
		printf("STORE +FLAGS one command over %u messages: %.1f ms "
		       "(%.0f messages/s)\n",
		       stores, t * 1e3, stores / t);
		req.mode = PH_STORE_REMOVE;
		t0 = now();
		for (unsigned i = 0; i < stores && now() - t0 < 20; i++) {
			if (ops->messages_store(box, &seqs[i], 1, &req, NULL,
						NULL, &error) < 0)
				die("store", error);
			count = i + 1;
		}
		t = now() - t0;
		printf("STORE -FLAGS one message per command, %u commands "
		       "(mailbox of %u): %.0f ops/s\n",
		       count, messages, count / t);
		free(seqs);
	}
	t0 = now();
	for (int i = 0; i < 100; i++)
		ops->mailbox_sync(box, 0, NULL, NULL, &error);
	printf("sync with no change (NOOP/IDLE poll): %.3f ms\n",
	       (now() - t0) * 1e3 / 100);
	ops->mailbox_close(&box);
	ops->user_close(&mu);
	posthorn_plugin.fini(state);
	ph_mock_user_destroy(&user);
	ph_mock_config_destroy(&cfg);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (getenv("BENCH_KEEP") == NULL && system(path) != 0)
		return 1;
	return 0;
}
