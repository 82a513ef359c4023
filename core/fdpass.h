/* core/fdpass.h - a datagram with one descriptor beside it (SCM_RIGHTS)
 * over a UNIX socket: worker → master (session handoff), session child →
 * auth service (ATTACH). */
#ifndef PH_CORE_FDPASS_H
#define PH_CORE_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* Sends `len` bytes with `fd` beside them. Returns sendmsg()'s result
 * and leaves errno as it set it. `flags` are sendmsg() flags. */
ssize_t ph__fd_send(int sock, const void *buf, size_t len, int fd, int flags);

/* Receives one datagram without blocking; descriptors arrive
 * close-on-exec. Returns recvmsg()'s result (errno as it set it). On
 * n > 0, *fd_r is the descriptor that came with it, or -1 when there was
 * none or the datagram was malformed (truncated, several descriptors):
 * then *malformed_r is set and every descriptor received is closed. */
ssize_t ph__fd_recv(int sock, void *buf, size_t size, int *fd_r,
		    int *malformed_r);

#endif
