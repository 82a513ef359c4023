/* core/auth-redeem.c - redeeming a session ticket (session side). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "auth-proto.h"
#include "auth-redeem.h"
#include "fdpass.h"

static double redeem_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for `events` on fd until the deadline: 0 ready, -1 not. */
static int redeem_wait(int fd, short events, double deadline)
{
	for (;;) {
		struct pollfd p = {fd, events, 0};
		double left = deadline - redeem_now();
		int n;

		if (left <= 0)
			return -1;
		n = poll(&p, 1, (int)(left * 1000.) + 1);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Sends the ATTACH with sv_peer beside it. */
static int redeem_attach(int control_fd, int sv_peer, double deadline)
{
	unsigned char buf[sizeof(struct ph__auth_msg_hdr)];
	size_t len = (size_t)ph__auth_encode_attach(buf);

	for (;;) {
		if (ph__fd_send(control_fd, buf, len, sv_peer,
				MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK &&
		     errno != ENOBUFS) ||
		    redeem_wait(control_fd, POLLOUT, deadline) < 0)
			return -1;
	}
}

int ph__auth_redeem(int control_fd, const unsigned char *ticket,
		    size_t ticket_len, const char *service,
		    const char *remote_ip, double timeout, char **record_r,
		    char *why, size_t why_size)
{
	static unsigned char buf[PH__AUTH_MSG_MAX + 1];
	double deadline = redeem_now() + timeout;
	struct ph__auth_request_msg req = {0};
	struct ph__auth_reply_msg reply;
	int sv[2], len, ret = PH_ETEMP;

	*record_r = NULL;
	snprintf(why, why_size, "the auth service cannot be reached");
	if (control_fd < 0 || ticket == NULL || ticket_len == 0) {
		if (ticket == NULL || ticket_len == 0)
			snprintf(why, why_size, "no ticket");
		return ticket == NULL || ticket_len == 0 ? PH_EAUTH : PH_ETEMP;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return PH_ETEMP;
	if (redeem_attach(control_fd, sv[1], deadline) < 0) {
		close(sv[0]);
		close(sv[1]);
		return PH_ETEMP;
	}
	close(sv[1]);
	req.type = PH__AUTH_MSG_REDEEM;
	req.request_id = 1;
	req.service = (struct ph_str){service, strlen(service)};
	req.user = (struct ph_str){"", 0};
	req.password = (struct ph_str){(const char *)ticket, ticket_len};
	req.scheme = (struct ph_str){"", 0};
	req.remote_ip = (struct ph_str){remote_ip, strlen(remote_ip)};
	req.local_ip = (struct ph_str){"", 0};
	len = ph__auth_encode_request(buf, &req);
	if (len < 0 || send(sv[0], buf, (size_t)len, MSG_NOSIGNAL) != len)
		goto out;
	/* The hello comes first, then the one reply. */
	for (;;) {
		ssize_t n;

		if (redeem_wait(sv[0], POLLIN, deadline) < 0) {
			snprintf(why, why_size,
				 "the auth service did not answer");
			goto out;
		}
		n = recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0 || n > PH__AUTH_MSG_MAX) {
			snprintf(why, why_size,
				 "the auth service closed the connection");
			goto out;
		}
		if (ph__auth_msg_type(buf, (size_t)n) == PH__AUTH_MSG_HELLO)
			continue;
		if (ph__auth_decode_reply(buf, (size_t)n, &reply) < 0 ||
		    reply.request_id != 1) {
			snprintf(why, why_size,
				 "malformed answer from the auth service");
			goto out;
		}
		break;
	}
	if (reply.result != PH_OK) {
		snprintf(why, why_size,
			 "ticket refused by the auth service: %s",
			 reply.message.data);
		ret = PH_EAUTH;
		goto out;
	}
	*record_r = strndup(reply.record.data, reply.record.len);
	if (*record_r == NULL) {
		snprintf(why, why_size, "out of memory");
		goto out;
	}
	why[0] = '\0';
	ret = PH_OK;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(sv[0]);
	return ret;
}
