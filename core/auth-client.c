/* core/auth-client.c - worker side of the auth service (stub). */
#include <stdlib.h>
#include <unistd.h>
#include "auth-client.h"

struct ph__auth_client {
	int fd;
};

struct ph__auth_client *ph__auth_client_create(struct ev_loop *loop, int fd)
{
	struct ph__auth_client *c = calloc(1, sizeof(*c));

	(void)loop;
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	return c;
}

void ph__auth_client_destroy(struct ph__auth_client **client)
{
	if (*client == NULL)
		return;
	close((*client)->fd);
	free(*client);
	*client = NULL;
}

int ph__auth_client_request(struct ph__auth_client *client,
			    const struct ph__auth_query *query,
			    ph__auth_reply_fn *reply, void *ctx)
{
	return PH_ENOTSUP;
}

void ph__auth_client_cancel(struct ph__auth_client *client, int id)
{
}
