/* loadgen: the slot life cycle, the run clock and main(). */
#include "loadgen.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct lg_run lg;

bool lg_measuring(void)
{
	ev_tstamp now = ev_now(lg.loop);

	return now >= lg.t_measure && now < lg.t_end && !lg.stopping;
}

void lg_user_name(int user, char *buf, size_t size)
{
	const char *f = lg.opt.user_fmt, *p = strstr(f, "%d");

	if (p == NULL) {
		snprintf(buf, size, "%s", f);
		return;
	}
	snprintf(buf, size, "%.*s%d%s", (int)(p - f), f, user, p + 2);
}

void lg_record_latency(struct lg_slot *s)
{
	if (lg_measuring())
		lg_samples_add(&lg.lat, ev_now(lg.loop) - s->op_start);
}

static void slot_schedule(struct lg_slot *s, double delay)
{
	ev_tstamp now = ev_now(lg.loop), at = now + delay;

	if (lg.stopping)
		return;
	if (lg.opt.rate > 0) {
		if (at < lg.next_start)
			at = lg.next_start;
		lg.next_start = at + 1.0 / lg.opt.rate;
	}
	ev_timer_stop(lg.loop, &s->timer);
	ev_timer_set(&s->timer, at - now, 0.);
	ev_timer_start(lg.loop, &s->timer);
}

static void slot_end(struct lg_slot *s)
{
	lg_conn_close(s);
	ev_timer_stop(lg.loop, &s->timer);
	s->active = false;
}

void lg_session_done(struct lg_slot *s)
{
	if (lg_measuring())
		lg.st.sessions++;
	slot_end(s);
	slot_schedule(s, 0);
}

void lg_session_fail(struct lg_slot *s, bool protocol, const char *fmt, ...)
{
	char user[128];
	va_list ap;

	if (lg.stopping) {
		slot_end(s);
		return;
	}
	if (protocol)
		lg.st.errors++;
	else
		lg.st.conn_errors++;
	if (lg.err_reports++ < 10) {
		lg_user_name(s->user, user, sizeof(user));
		fprintf(stderr, "loadgen: slot %d (%s): %s: ", s->id, user,
			protocol ? "protocol error" : "connection error");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	slot_end(s);
	slot_schedule(s, 0.1); /* no busy loop against a refusing server */
}

/* The login scenario walks through the users, each slot within its own
   subset (users id+1, id+1+C, ...), so no two concurrent sessions share a
   user whenever users >= connections (POP3 locks the maildrop); the other
   scenarios keep one user per slot. */
static int slot_next_user(struct lg_slot *s)
{
	int c = lg.opt.connections, u = lg.opt.users;

	if (lg.opt.scenario != LG_SC_LOGIN || u <= c)
		return s->id % u + 1;
	if (s->user == 0 || s->user + c > u)
		return s->id % u + 1;
	return s->user + c;
}

static void slot_start(struct lg_slot *s)
{
	int r;

	s->user = slot_next_user(s);
	s->session_start = s->op_start = ev_now(lg.loop);
	s->active = true;
	s->ops->connected(s); /* reset protocol state; conn.c calls it again
				 once TCP (and implicit TLS) is up */
	r = lg_conn_open(s);
	if (r < 0) {
		lg_session_fail(s, false, "connect: %s", strerror(-r));
		return;
	}
	lg_conn_touch(s);
}

static void slot_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct lg_slot *s = w->data;

	(void)loop;
	(void)revents;
	if (!s->active)
		slot_start(s);
	else
		lg_session_fail(s, false, "timeout");
}

static void end_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int i;

	(void)w;
	(void)revents;
	if (lg.opt.scenario == LG_SC_IMAP_IDLE) {
		for (i = 0; i < lg.opt.connections; i++)
			if (lg_imap_idling(&lg.slots[i]))
				lg.idle_held++;
		if (lg.opt.n_server_pids > 0 || lg.opt.server_names != NULL)
			lg.pss_end = lg_server_pss_kb(&lg.opt, &lg.pss_procs);
	}
	lg.stopping = true;
	for (i = 0; i < lg.opt.connections; i++)
		slot_end(&lg.slots[i]);
	ev_break(loop, EVBREAK_ALL);
}

static void deliver_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (ev_now(lg.loop) >= lg.t_measure)
		lg_deliver_one();
}

static void sigint_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	lg.t_end = ev_now(loop); /* report what was measured so far */
	end_cb(loop, NULL, 0);
}

int lg_mixed_pick_op(void)
{
	int total = 0, i, r;

	for (i = 0; i < LG_OP_COUNT; i++)
		total += lg.opt.op_weight[i];
	if (total == 0)
		return LG_OP_NOOP;
	r = rand() % total;
	for (i = 0; i < LG_OP_COUNT; i++) {
		if (r < lg.opt.op_weight[i])
			return i;
		r -= lg.opt.op_weight[i];
	}
	return LG_OP_NOOP;
}

static char *read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    n < (64L << 20) && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len_r = (size_t)n;
	else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static const char default_append[] =
    "From: Loadgen <loadgen@bench.invalid>\r\n"
    "To: Bench <bench@bench.invalid>\r\n"
    "Subject: appended by loadgen imap-mixed\r\n"
    "Date: Thu, 26 Nov 2026 12:00:00 +0000\r\n"
    "Message-ID: <append@bench.invalid>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "A draft saved by a client, about the size of a short reply.\r\n"
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do\r\n"
    "eiusmod tempor incididunt ut labore et dolore magna aliqua.\r\n";

static void raise_nofile(int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((rlim_t)need + 64 > rl.rlim_cur)
		fprintf(stderr,
			"loadgen: warning: %d connections, open files limit "
			"%llu (raise ulimit -n)\n",
			need, (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv)
{
	const char *serve_file = NULL, *listen_addr = "127.0.0.1:0";
	struct lg_options *o = &lg.opt;
	ev_timer end_timer, deliver_timer;
	ev_signal sig_int, sig_term;
	int i;

	if (lg_options_parse(argc, argv, &serve_file, &listen_addr) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	if (serve_file != NULL)
		return lg_serve_file(serve_file, listen_addr);
	srand(o->seed);
	raise_nofile(o->connections);
	lg.loop = EV_DEFAULT;
	if (o->tls != LG_TLS_NONE) {
		lg.ssl_ctx = SSL_CTX_new(TLS_client_method());
		if (lg.ssl_ctx == NULL)
			return 1;
		/* A benchmark against a throwaway certificate. */
		SSL_CTX_set_verify(lg.ssl_ctx, SSL_VERIFY_NONE, NULL);
	}
	if (o->append_file != NULL) {
		lg.append_msg = read_file(o->append_file, &lg.append_len);
		if (lg.append_msg == NULL) {
			perror(o->append_file);
			return 1;
		}
	} else {
		lg.append_msg = (char *)default_append;
		lg.append_len = sizeof(default_append) - 1;
	}
	if (o->deliver_rate > 0) {
		lg.user_delivery_seq =
		    calloc((size_t)o->users + 1, sizeof(uint64_t));
		lg.user_delivery_time =
		    calloc((size_t)o->users + 1, sizeof(ev_tstamp));
		if (lg.user_delivery_seq == NULL ||
		    lg.user_delivery_time == NULL)
			return 1;
	}
	lg.pss_base = lg.pss_end = -1;
	if (o->scenario == LG_SC_IMAP_IDLE &&
	    (o->n_server_pids > 0 || o->server_names != NULL))
		lg.pss_base = lg_server_pss_kb(o, &lg.pss_procs);
	lg.slots = calloc((size_t)o->connections, sizeof(*lg.slots));
	if (lg.slots == NULL)
		return 1;
	ev_now_update(lg.loop);
	lg.t_start = ev_now(lg.loop);
	lg.t_measure = lg.t_start + o->warmup;
	lg.t_end = lg.t_measure + o->duration;
	lg.next_start = lg.t_start;
	for (i = 0; i < o->connections; i++) {
		struct lg_slot *s = &lg.slots[i];
		s->id = i;
		s->c.fd = -1;
		s->ops = o->proto == LG_IMAP   ? &lg_imap_client
			 : o->proto == LG_POP3 ? &lg_pop3_client
					       : &lg_raw_client;
		ev_timer_init(&s->timer, slot_timer_cb, 0., 0.);
		s->timer.data = s;
		slot_schedule(s, 0);
	}
	ev_timer_init(&end_timer, end_cb, lg.t_end - lg.t_start, 0.);
	ev_timer_start(lg.loop, &end_timer);
	if (o->deliver_rate > 0) {
		ev_timer_init(&deliver_timer, deliver_cb, 1.0 / o->deliver_rate,
			      1.0 / o->deliver_rate);
		ev_timer_start(lg.loop, &deliver_timer);
	}
	ev_signal_init(&sig_int, sigint_cb, SIGINT);
	ev_signal_start(lg.loop, &sig_int);
	ev_signal_init(&sig_term, sigint_cb, SIGTERM);
	ev_signal_start(lg.loop, &sig_term);
	ev_run(lg.loop, 0);
	lg_report();
	for (i = 0; i < o->connections; i++) {
		free(lg.slots[i].c.rbuf);
		free(lg.slots[i].c.wbuf);
	}
	free(lg.slots);
	lg_samples_free(&lg.lat);
	lg_samples_free(&lg.notify_lat);
	if (lg.ssl_ctx != NULL)
		SSL_CTX_free(lg.ssl_ctx);
	if (lg.append_msg != default_append)
		free(lg.append_msg);
	free(lg.user_delivery_seq);
	free(lg.user_delivery_time);
	return 0;
}
