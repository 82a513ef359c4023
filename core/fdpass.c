/* core/fdpass.c - see fdpass.h. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"

#define FDPASS_MAX 4 /* descriptors taken in to be closed, at most */

ssize_t ph__fd_send(int sock, const void *buf, size_t len, int fd, int flags)
{
	struct iovec iov = {(void *)buf, len};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, flags);
}

ssize_t ph__fd_recv(int sock, void *buf, size_t size, int *fd_r,
		    int *malformed_r)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
	} u;
	struct iovec iov = {buf, size};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	int fds[FDPASS_MAX];
	size_t nfds = 0;
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	*fd_r = -1;
	*malformed_r = 0;
	if (n <= 0)
		return n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL;
	     cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0;
		     CMSG_LEN((i + 1) * sizeof(int)) <= cm->cmsg_len &&
		     nfds < FDPASS_MAX;
		     i++)
			memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(int));
	}
	if (nfds > 1 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		*malformed_r = 1;
		while (nfds > 0)
			close(fds[--nfds]);
	} else if (nfds == 1) {
		*fd_r = fds[0];
	}
	return n;
}
