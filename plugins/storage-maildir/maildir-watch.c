/* maildir-watch.c - change notification for views (mailbox_watch_fd).
 *
 * inotify instances are a per-user resource (fs.inotify.max_user_instances,
 * 128 by default) while a worker may hold thousands of IDLE sessions: with
 * an instance per view, the 129th idler had to poll. So a process has one
 * instance, watched on the core's loop, holding the new/ and cur/
 * directories of every watched view (a directory several views watch is
 * one watch); each view gets an eventfd, which the dispatcher signals
 * when one of its directories changes. Where the loop cannot watch the
 * instance (no io_add, as in unit tests with a mock core), a view gets an
 * instance of its own as before.
 *
 * new/ and cur/ only: the index file is replaced on every change, our own
 * syncs included, which would wake the caller for nothing. A keyword-only
 * change by another session (no rename in cur/) is therefore seen at the
 * next sync, not pushed. */
#include "maildir-private.h"

#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#define WATCH_MASK                                                             \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR)

static const char *const watch_subdirs[] = {"new", "cur"};

/* One view watching one directory (wd) of the shared instance. */
struct watcher {
	int wd; /* -1 once the kernel dropped the watch (IN_IGNORED) */
	ph_mailbox *box;
};

/* The process's shared instance. Workers are single-threaded. */
static struct {
	int fd; /* inotify; -1 until first used, -2 when it cannot be */
	ph_io *io;
	struct watcher *w;
	size_t count, cap;
} shared = {.fd = -1};

static void watch_signal(ph_mailbox *box)
{
	uint64_t one = 1;

	/* a full counter still reads as readable: nothing is lost */
	(void)!write(box->watch_fd, &one, sizeof(one));
}

static void watch_event(const struct inotify_event *ev)
{
	for (size_t i = 0; i < shared.count; i++) {
		struct watcher *w = &shared.w[i];

		if (!(ev->mask & IN_Q_OVERFLOW) && w->wd != ev->wd)
			continue;
		watch_signal(w->box);
		if (ev->mask & IN_IGNORED) /* directory gone: wd reusable */
			w->wd = -1;
	}
}

static void watch_dispatch(void *ctx, int fd, int revents)
{
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	(void)ctx;
	(void)revents;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			watch_event(ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* The shared instance, created and put on the loop on first use. */
static int shared_fd(void)
{
	if (shared.fd == -1) {
		shared.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (shared.fd >= 0 && (shared.io = maildir_api->io_add(
					   shared.fd, PH_IO_READ,
					   watch_dispatch, NULL)) == NULL) {
			close(shared.fd);
			shared.fd = -2;
		}
		if (shared.fd < 0)
			shared.fd = -2;
	}
	return shared.fd;
}

/* A view other than `box` watches wd. */
static bool wd_shared(int wd, const ph_mailbox *box)
{
	for (size_t k = 0; k < shared.count; k++) {
		if (shared.w[k].box != box && shared.w[k].wd == wd)
			return true;
	}
	return false;
}

/* Drops the watchers of `box`, and the watches no other view uses. */
static void shared_remove(ph_mailbox *box)
{
	size_t out = 0;

	for (size_t i = 0; i < shared.count; i++) {
		const struct watcher *w = &shared.w[i];

		if (w->box == box && w->wd >= 0 && !wd_shared(w->wd, box))
			inotify_rm_watch(shared.fd, w->wd);
	}
	for (size_t i = 0; i < shared.count; i++) {
		if (shared.w[i].box != box)
			shared.w[out++] = shared.w[i];
	}
	shared.count = out;
}

static int shared_add(ph_mailbox *box)
{
	char p[PATH_MAX];

	if (shared.count + 2 > shared.cap) {
		size_t cap = shared.cap ? shared.cap * 2 : 64;
		struct watcher *w = realloc(shared.w, cap * sizeof(*w));

		if (w == NULL)
			return PH_ENOMEM;
		shared.w = w;
		shared.cap = cap;
	}
	for (size_t i = 0; i < 2; i++) {
		int wd;

		maildir_fmt(p, sizeof(p), "%s/%s", box->path, watch_subdirs[i]);
		wd = inotify_add_watch(shared.fd, p, WATCH_MASK);
		if (wd < 0) {
			shared_remove(box);
			return PH_ENOTSUP;
		}
		shared.w[shared.count++] = (struct watcher){wd, box};
	}
	return PH_OK;
}

/* The old way: an instance of the view's own. */
static int own_instance(ph_mailbox *box)
{
	char p[PATH_MAX];
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0)
		return PH_ENOTSUP;
	for (size_t i = 0; i < 2; i++) {
		maildir_fmt(p, sizeof(p), "%s/%s", box->path, watch_subdirs[i]);
		if (inotify_add_watch(fd, p, WATCH_MASK) < 0) {
			close(fd);
			return PH_ENOTSUP;
		}
	}
	return fd;
}

int maildir_mailbox_watch_fd(ph_mailbox *box)
{
	int fd;

	if (box->watch_fd >= 0)
		return box->watch_fd;
	if (shared_fd() >= 0 &&
	    (fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) >= 0) {
		box->watch_fd = fd;
		box->watch_shared = true;
		if (shared_add(box) == PH_OK)
			return fd;
		close(fd);
		box->watch_fd = -1;
		box->watch_shared = false;
	}
	if ((fd = own_instance(box)) < 0)
		return fd;
	box->watch_fd = fd;
	return fd;
}

void maildir_watch_drain(ph_mailbox *box)
{
	char buf[4096];

	if (box->watch_fd < 0)
		return;
	/* an eventfd reads whole (8 bytes), an instance event by event */
	while (read(box->watch_fd, buf, sizeof(buf)) > 0)
		;
}

void maildir_watch_close(ph_mailbox *box)
{
	if (box->watch_fd < 0)
		return;
	if (box->watch_shared)
		shared_remove(box);
	close(box->watch_fd);
	box->watch_fd = -1;
	box->watch_shared = false;
}
