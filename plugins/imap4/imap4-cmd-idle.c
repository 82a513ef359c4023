/* imap4-cmd-idle.c - IDLE (RFC 2177): push mailbox news while the client
 * waits, until it sends DONE.
 *
 * The storage's change fd (inotify on the Maildir) is watched with
 * io_add(). An event does not sync at once: the watch is taken off and a
 * short settle timer runs, so a burst of deliveries or a big STORE by
 * another session costs one sync, not one per file event. After the sync
 * the watch goes back on. When the client does not read what was pushed
 * (output at or above the low-water mark) no sync runs; the next one
 * waits for conn_output_ready(), so an idler that stopped reading costs
 * no more memory than one response. Storages without notification are
 * polled (idle_poll_interval). The autologout (input silence) keeps
 * running while idling: RFC 2177 lets the server log an idler out after
 * its inactivity timeout, and clients re-issue IDLE every 29 minutes for
 * that reason; the keepalives (idle_keepalive) are output, not input, so
 * they do not postpone it. */
#include <strings.h>
#include "imap4-private.h"

#define IDLE_SETTLE_SECS 0.1 /* coalescing window after an event */

static void idle_arm(struct imap_client *c);

/* Brings the view up to date and pushes what changed. */
static void idle_sync(struct imap_client *c)
{
	const struct ph_core_api *api = c->api;

	if (c->wait != IMAP_WAIT_IDLE || c->closing)
		return;
	if (api->conn_output_pending(c->conn) >=
	    api->conn_output_lowat(c->conn)) {
		c->idle.blocked = 1; /* imap_idle_output_ready() resumes */
		return;
	}
	c->idle.blocked = 0;
	imap_sync(c, 0);
	idle_arm(c);
}

static void idle_settled(void *ctx)
{
	struct imap_client *c = ctx;

	c->api->timer_remove(&c->idle.settle);
	idle_sync(c);
}

static void idle_event(void *ctx, int fd, int revents)
{
	struct imap_client *c = ctx;

	(void)fd;
	(void)revents;
	/* the fd stays readable until a sync drains it: stop watching it
	 * and let the burst settle */
	c->api->io_remove(&c->idle.io);
	if (c->idle.settle == NULL)
		c->idle.settle =
		    c->api->timer_add(IDLE_SETTLE_SECS, 0, idle_settled, c);
	if (c->idle.settle == NULL)
		idle_sync(c); /* no timer: sync now rather than never */
}

static void idle_poll(void *ctx)
{
	idle_sync(ctx);
}

static void idle_keepalive(void *ctx)
{
	struct imap_client *c = ctx;

	if (c->closing || c->api->conn_output_pending(c->conn) > 0)
		return; /* something is on its way anyway */
	imap_untagged(c, "OK Still here");
}

/* Watches the view for changes (again). */
static void idle_arm(struct imap_client *c)
{
	int fd;

	if (c->box == NULL || c->idle.io != NULL || c->idle.poll != NULL)
		return;
	fd = c->storage->mailbox_watch_fd(c->box);
	if (fd >= 0)
		c->idle.io = c->api->io_add(fd, PH_IO_READ, idle_event, c);
	if (c->idle.io == NULL) {
		/* no notification (or out of inotify instances): poll */
		c->api->conn_log(c->conn, PH_LOG_DEBUG,
				 "IDLE: no change notification, polling");
		c->idle.poll = c->api->timer_add(c->set->idle_poll_interval, 1,
						 idle_poll, c);
	}
}

void imap_idle_stop(struct imap_client *c)
{
	const struct ph_core_api *api = c->api;

	api->io_remove(&c->idle.io);
	api->timer_remove(&c->idle.settle);
	api->timer_remove(&c->idle.poll);
	api->timer_remove(&c->idle.keepalive);
	c->idle.blocked = 0;
	if (c->wait == IMAP_WAIT_IDLE)
		c->wait = IMAP_WAIT_NONE;
}

void imap_idle_output_ready(struct imap_client *c)
{
	if (c->wait == IMAP_WAIT_IDLE && c->idle.blocked)
		idle_sync(c);
}

void imap_idle_line(struct imap_client *c, struct ph_str line)
{
	int done = line.len == 4 && strncasecmp(line.data, "DONE", 4) == 0;

	imap_idle_stop(c);
	if (!done) {
		/* RFC 2177: only DONE ends IDLE; anything else is a
		 * protocol error that ends it too */
		imap_tagged(c, c->tag, "BAD", "Expected DONE");
		return;
	}
	imap_sync(c, 0);
	imap_tagged(c, c->tag, "OK", "Idle completed.");
}

void imap_cmd_idle(struct imap_client *c, const char *tag,
		   const struct imap_arg *args, int uid)
{
	(void)uid;
	if (args != NULL) {
		imap_tagged(c, tag, "BAD", "IDLE takes no arguments");
		return;
	}
	imap_sync(c, 0);
	c->api->conn_write(c->conn, "+ idling\r\n", 10);
	c->wait = IMAP_WAIT_IDLE;
	c->idle.keepalive =
	    c->api->timer_add(c->set->idle_keepalive, 1, idle_keepalive, c);
	idle_arm(c);
}
