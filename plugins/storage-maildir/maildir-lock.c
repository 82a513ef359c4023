/* maildir-lock.c - OFD locks (F_OFD_SETLK) on small lock files. Unlike
 * fcntl process locks they belong to the open file description, so two
 * sessions in one worker exclude each other, and the kernel drops them
 * when the holder dies (kill -9 leaves nothing stale). Held only around
 * index updates, never while reading message files. */
#include "maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define LOCK_WAIT_MS 10000

static int lock_open(const char *dir, const char *file)
{
	char path[PATH_MAX];
	int fd;

	if (maildir_fmt(path, sizeof(path), "%s/%s", dir, file) >=
	    (int)sizeof(path))
		return PH_EINVAL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno == ENOENT ? PH_ENOTFOUND : PH_EIO;
	return fd;
}

static int lock_set(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	return fcntl(fd, F_OFD_SETLK, &fl);
}

int maildir_lock_try(const char *dir, const char *file)
{
	int fd = lock_open(dir, file);

	if (fd < 0)
		return fd;
	if (lock_set(fd) < 0) {
		int err = errno;

		close(fd);
		return err == EAGAIN || err == EACCES ? PH_EINUSE : PH_EIO;
	}
	return fd;
}

int maildir_lock_take(const char *dir, const char *file)
{
	int fd = lock_open(dir, file);
	long waited_us = 0, step_us = 50;

	if (fd < 0)
		return fd;
	/* Poll rather than F_OFD_SETLKW so a stuck holder cannot hang a
	 * worker forever. Holders keep it for milliseconds. */
	while (lock_set(fd) < 0) {
		struct timespec ts;

		if ((errno != EAGAIN && errno != EACCES && errno != EINTR) ||
		    waited_us >= LOCK_WAIT_MS * 1000L) {
			close(fd);
			maildir_api->log(PH_LOG_WARNING,
					 "lock %s/%s: timed out", dir, file);
			return PH_ETEMP;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = step_us * 1000;
		nanosleep(&ts, NULL);
		waited_us += step_us;
		if (step_us < 10000)
			step_us *= 2;
	}
	return fd;
}

void maildir_lock_release(int *fd)
{
	if (*fd >= 0) {
		close(*fd); /* closing the description drops the OFD lock */
		*fd = -1;
	}
}
