/* Deliveries during imap-idle, done the way an MTA does them (write in tmp/,
 * rename into new/), into the Maildir of a user whose session is idling; the
 * time is kept so the EXISTS the server pushes gives the notification
 * latency. */
#include "loadgen.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char deliver_msg[] = "From: loadgen <loadgen@bench.invalid>\r\n"
				  "To: idle@bench.invalid\r\n"
				  "Subject: idle notification probe\r\n"
				  "Message-ID: <probe@bench.invalid>\r\n"
				  "\r\n"
				  "probe\r\n";

static int deliver_to(const char *maildir)
{
	static unsigned long counter;
	char tmp[4096], dst[4096], name[128];
	struct stat st;
	int fd, n;

	if (stat(maildir, &st) < 0)
		return -1;
	snprintf(name, sizeof(name), "%ld.L%dQ%lu.loadgen", (long)time(NULL),
		 (int)getpid(), ++counter);
	n = snprintf(tmp, sizeof(tmp), "%s/tmp/%s", maildir, name);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	n = snprintf(dst, sizeof(dst), "%s/new/%s", maildir, name);
	if (n < 0 || (size_t)n >= sizeof(dst))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	if (write(fd, deliver_msg, sizeof(deliver_msg) - 1) !=
		(ssize_t)(sizeof(deliver_msg) - 1) ||
	    fchown(fd, st.st_uid, st.st_gid) < 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	return rename(tmp, dst);
}

void lg_deliver_one(void)
{
	char user[128], path[4096];
	int i, start, n = lg.opt.connections;

	if (lg.opt.maildir_fmt == NULL || n == 0)
		return;
	start = rand() % n;
	for (i = 0; i < n; i++) {
		struct lg_slot *s = &lg.slots[(start + i) % n];
		if (!lg_imap_idling(s))
			continue;
		lg_user_name(s->user, user, sizeof(user));
		const char *f = lg.opt.maildir_fmt, *pct = strstr(f, "%s");
		snprintf(path, sizeof(path), "%.*s%s%s", (int)(pct - f), f,
			 user, pct + 2);
		lg.user_delivery_time[s->user] = ev_time();
		if (deliver_to(path) < 0) {
			fprintf(stderr, "loadgen: delivery to %s failed\n",
				path);
			return;
		}
		lg.user_delivery_seq[s->user]++;
		lg.st.deliveries++;
		return;
	}
}
