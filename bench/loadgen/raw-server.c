/* `loadgen --serve-file FILE --listen ADDR:PORT`: send FILE to every client
 * with sendfile(2), then close.  The simplest possible server for the same
 * bytes a POP3 download carries: the raw loopback floor. */
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct raw_peer {
	ev_io io;
	off_t off;
};

static int raw_file_fd = -1;
static off_t raw_file_size;

static void raw_peer_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct raw_peer *p = (struct raw_peer *)w;

	(void)revents;
	while (p->off < raw_file_size) {
		ssize_t n = sendfile(w->fd, raw_file_fd, &p->off,
				     (size_t)(raw_file_size - p->off));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
	}
	ev_io_stop(loop, w);
	close(w->fd);
	free(p);
}

static void raw_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	for (;;) {
		int fd =
		    accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct raw_peer *p;

		if (fd < 0)
			return;
		p = calloc(1, sizeof(*p));
		if (p == NULL) {
			close(fd);
			continue;
		}
		ev_io_init(&p->io, raw_peer_cb, fd, EV_WRITE);
		ev_io_start(loop, &p->io);
	}
}

int lg_serve_file(const char *path, const char *listen_addr)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char host[64];
	const char *colon = strrchr(listen_addr, ':');
	struct stat st;
	ev_io acc;
	int fd, one = 1;

	raw_file_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (raw_file_fd < 0 || fstat(raw_file_fd, &st) < 0) {
		perror(path);
		return 1;
	}
	raw_file_size = st.st_size;
	if (colon == NULL || (size_t)(colon - listen_addr) >= sizeof(host)) {
		fprintf(stderr, "--listen wants ADDR:PORT\n");
		return 2;
	}
	memcpy(host, listen_addr, (size_t)(colon - listen_addr));
	host[colon - listen_addr] = '\0';
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "bad address %s\n", host);
		return 2;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4096) < 0) {
		perror("listen");
		return 1;
	}
	fprintf(stderr, "serving %s (%lld bytes) on %s\n", path,
		(long long)raw_file_size, listen_addr);
	ev_io_init(&acc, raw_accept_cb, fd, EV_READ);
	ev_io_start(EV_DEFAULT, &acc);
	ev_run(EV_DEFAULT, 0);
	return 0;
}
