/* core/linger.c - see linger.h. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linger.h"

#define LINGER_SECONDS 2.0
#define LINGER_MAX     (1u << 20) /* bytes discarded at most */

struct lingering {
	ev_io io;
	ev_timer timer;
	size_t discarded;
};

static void linger_end(struct ev_loop *loop, struct lingering *lg)
{
	ev_io_stop(loop, &lg->io);
	ev_timer_stop(loop, &lg->timer);
	close(lg->io.fd);
	free(lg);
}

static void linger_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct lingering *lg = (struct lingering *)w;
	char buf[4096];

	(void)revents;
	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));

		if (n > 0) {
			lg->discarded += (size_t)n;
			if (lg->discarded < LINGER_MAX)
				continue;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		}
		/* EOF, error or enough: done. */
		linger_end(loop, lg);
		return;
	}
}

static void linger_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	linger_end(loop, w->data);
}

void ph__linger_close(struct ev_loop *loop, int fd)
{
	struct lingering *lg;

	if (shutdown(fd, SHUT_WR) < 0 ||
	    (lg = calloc(1, sizeof(*lg))) == NULL) {
		close(fd);
		return;
	}
	ev_io_init(&lg->io, linger_read_cb, fd, EV_READ);
	ev_timer_init(&lg->timer, linger_timeout_cb, LINGER_SECONDS, 0.);
	lg->timer.data = lg;
	ev_io_start(loop, &lg->io);
	ev_timer_start(loop, &lg->timer);
}
