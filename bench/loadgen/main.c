/* loadgen: options, the slot life cycle, the run clock and the report. */
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct lg_run lg;

static const char *const scenario_names[] = {
    [LG_SC_LOGIN] = "login",
    [LG_SC_IMAP_MIXED] = "imap-mixed",
    [LG_SC_IMAP_IDLE] = "imap-idle",
    [LG_SC_POP3_DOWNLOAD] = "pop3-download",
    [LG_SC_RAW] = "raw",
};
static const char *const proto_names[] = {"imap", "pop3", "raw"};
static const char *const tls_names[] = {"none", "starttls", "implicit"};
static const char *const op_names[LG_OP_COUNT] = {
    "fetch-body", "fetch-headers", "store", "noop", "append", "expunge"};

/* Default imap-mixed weights, modelled on a desktop client (see README). */
static const int default_weights[LG_OP_COUNT] = {40, 15, 20, 15, 5, 5};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: loadgen -s SCENARIO -p PORT [options]\n"
	    "       loadgen --serve-file FILE --listen ADDR:PORT\n"
	    "scenarios: login, imap-mixed, imap-idle, pop3-download, raw\n"
	    "  -s, --scenario NAME     scenario to run\n"
	    "  -P, --proto imap|pop3   protocol for login (default imap)\n"
	    "  -H, --host ADDR         server IPv4 address (127.0.0.1)\n"
	    "  -p, --port PORT         server port\n"
	    "  -c, --connections N     concurrent connections (10)\n"
	    "  -d, --duration SEC      measured seconds (10)\n"
	    "  -w, --warmup SEC        unmeasured seconds first (0)\n"
	    "  -r, --rate N            max new sessions/s (0 = no limit)\n"
	    "      --timeout SEC       no progress for SEC = error (30)\n"
	    "      --sources N         bind to 127.0.0.1..127.0.0.N\n"
	    "  -u, --user FMT          user name, %%d = 1..--users (bench%%d)\n"
	    "      --users N           number of users (1)\n"
	    "      --password PW       password (bench)\n"
	    "      --tls MODE          none | starttls | implicit\n"
	    "      --ops N             operations per imap-mixed session (20)\n"
	    "      --weights LIST      fetch-body,fetch-headers,store,noop,"
	    "append,expunge (40,15,20,15,5,5)\n"
	    "      --append-file FILE  message APPENDed by imap-mixed\n"
	    "      --server-pid PID    server process (and children) for "
	    "memory\n"
	    "      --server-name LIST  server process names, comma separated\n"
	    "      --deliver-rate N    deliveries/s during imap-idle\n"
	    "      --maildir FMT       Maildir of a user, %%s = name\n"
	    "      --seed N            random seed (1)\n"
	    "      --label TEXT        copied into the JSON line\n"
	    "      --json-only         print only the JSON line\n"
	    "Output: a table, then one JSON line (last line of stdout).\n");
}

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

static long pss_base = -1, pss_end = -1;
static int pss_procs;
static uint64_t idle_held;

static void end_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int i;

	(void)w;
	(void)revents;
	if (lg.opt.scenario == LG_SC_IMAP_IDLE) {
		for (i = 0; i < lg.opt.connections; i++)
			if (lg_imap_idling(&lg.slots[i]))
				idle_held++;
		if (lg.opt.n_server_pids > 0 || lg.opt.server_names != NULL)
			pss_end = lg_server_pss_kb(&lg.opt, &pss_procs);
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

static int parse_weights(const char *s, int *w)
{
	int i;

	for (i = 0; i < LG_OP_COUNT; i++) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s || v < 0 || v > 1000)
			return -1;
		w[i] = (int)v;
		s = end;
		if (i < LG_OP_COUNT - 1) {
			if (*s != ',')
				return -1;
			s++;
		}
	}
	return *s == '\0' ? 0 : -1;
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

static int pick(const char *arg, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(arg, names[i]) == 0)
			return i;
	return -1;
}

static double num(const char *arg, double lo, double hi, const char *what)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "loadgen: bad %s: %s\n", what, arg);
		exit(2);
	}
	return v;
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

static int parse_args(int argc, char **argv, const char **serve_file,
		      const char **listen_addr)
{
	enum {
		O_TIMEOUT = 256,
		O_SOURCES,
		O_USERS,
		O_PASSWORD,
		O_TLS,
		O_OPS,
		O_WEIGHTS,
		O_APPEND,
		O_PID,
		O_PNAME,
		O_DRATE,
		O_MAILDIR,
		O_SEED,
		O_LABEL,
		O_JSON,
		O_SERVE,
		O_LISTEN,
	};
	static const struct option lo[] = {
	    {"scenario", 1, 0, 's'},
	    {"proto", 1, 0, 'P'},
	    {"host", 1, 0, 'H'},
	    {"port", 1, 0, 'p'},
	    {"connections", 1, 0, 'c'},
	    {"duration", 1, 0, 'd'},
	    {"warmup", 1, 0, 'w'},
	    {"rate", 1, 0, 'r'},
	    {"user", 1, 0, 'u'},
	    {"help", 0, 0, 'h'},
	    {"timeout", 1, 0, O_TIMEOUT},
	    {"sources", 1, 0, O_SOURCES},
	    {"users", 1, 0, O_USERS},
	    {"password", 1, 0, O_PASSWORD},
	    {"tls", 1, 0, O_TLS},
	    {"ops", 1, 0, O_OPS},
	    {"weights", 1, 0, O_WEIGHTS},
	    {"append-file", 1, 0, O_APPEND},
	    {"server-pid", 1, 0, O_PID},
	    {"server-name", 1, 0, O_PNAME},
	    {"deliver-rate", 1, 0, O_DRATE},
	    {"maildir", 1, 0, O_MAILDIR},
	    {"seed", 1, 0, O_SEED},
	    {"label", 1, 0, O_LABEL},
	    {"json-only", 0, 0, O_JSON},
	    {"serve-file", 1, 0, O_SERVE},
	    {"listen", 1, 0, O_LISTEN},
	    {0, 0, 0, 0},
	};
	struct lg_options *o = &lg.opt;
	const char *host = "127.0.0.1";
	int port = 0, c, proto = -1;

	o->connections = 10;
	o->duration = 10;
	o->timeout = 30;
	o->user_fmt = "bench%d";
	o->users = 1;
	o->password = "bench";
	o->mixed_ops = 20;
	o->seed = 1;
	o->scenario = (enum lg_scenario) - 1;
	memcpy(o->op_weight, default_weights, sizeof(o->op_weight));
	while ((c = getopt_long(argc, argv, "s:P:H:p:c:d:w:r:u:h", lo, NULL)) !=
	       -1) {
		switch (c) {
		case 's':
			o->scenario =
			    (enum lg_scenario)pick(optarg, scenario_names, 5);
			if ((int)o->scenario < 0) {
				fprintf(stderr, "loadgen: bad scenario\n");
				return -1;
			}
			break;
		case 'P':
			if ((proto = pick(optarg, proto_names, 2)) < 0) {
				fprintf(stderr, "loadgen: bad protocol\n");
				return -1;
			}
			break;
		case 'H':
			host = optarg;
			break;
		case 'p':
			port = (int)num(optarg, 1, 65535, "port");
			break;
		case 'c':
			o->connections =
			    (int)num(optarg, 1, 1000000, "connections");
			break;
		case 'd':
			o->duration = num(optarg, 0.1, 1e6, "duration");
			break;
		case 'w':
			o->warmup = num(optarg, 0, 1e6, "warmup");
			break;
		case 'r':
			o->rate = num(optarg, 0, 1e7, "rate");
			break;
		case 'u':
			o->user_fmt = optarg;
			break;
		case O_TIMEOUT:
			o->timeout = num(optarg, 0.1, 1e6, "timeout");
			break;
		case O_SOURCES:
			o->sources =
			    (int)num(optarg, 1, LG_MAX_SOURCES, "sources");
			break;
		case O_USERS:
			o->users = (int)num(optarg, 1, LG_MAX_USERS, "users");
			break;
		case O_PASSWORD:
			o->password = optarg;
			break;
		case O_TLS:
			if ((c = pick(optarg, tls_names, 3)) < 0) {
				fprintf(stderr, "loadgen: bad --tls\n");
				return -1;
			}
			o->tls = (enum lg_tls)c;
			break;
		case O_OPS:
			o->mixed_ops = (int)num(optarg, 1, 1e6, "ops");
			break;
		case O_WEIGHTS:
			if (parse_weights(optarg, o->op_weight) < 0) {
				fprintf(stderr, "loadgen: bad --weights\n");
				return -1;
			}
			break;
		case O_APPEND:
			o->append_file = optarg;
			break;
		case O_PID:
			if (o->n_server_pids == LG_MAX_SERVER_PIDS)
				return -1;
			o->server_pids[o->n_server_pids++] =
			    (pid_t)num(optarg, 1, 1e9, "pid");
			break;
		case O_PNAME:
			o->server_names = optarg;
			break;
		case O_DRATE:
			o->deliver_rate = num(optarg, 0, 1e5, "deliver rate");
			break;
		case O_MAILDIR:
			o->maildir_fmt = optarg;
			break;
		case O_SEED:
			o->seed = (unsigned)num(optarg, 0, 4e9, "seed");
			break;
		case O_LABEL:
			o->label = optarg;
			break;
		case O_JSON:
			o->json_only = true;
			break;
		case O_SERVE:
			*serve_file = optarg;
			break;
		case O_LISTEN:
			*listen_addr = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (*serve_file != NULL)
		return 0;
	if ((int)o->scenario < 0 || port == 0 || optind != argc) {
		usage(stderr);
		return -1;
	}
	if (strstr(o->user_fmt, "%") != NULL &&
	    (strstr(o->user_fmt, "%d") == NULL ||
	     strchr(strstr(o->user_fmt, "%d") + 1, '%') != NULL ||
	     strchr(o->user_fmt, '%') != strstr(o->user_fmt, "%d"))) {
		fprintf(stderr, "loadgen: --user allows one %%d only\n");
		return -1;
	}
	if (o->maildir_fmt != NULL &&
	    (strstr(o->maildir_fmt, "%s") == NULL ||
	     strchr(strstr(o->maildir_fmt, "%s") + 1, '%') != NULL ||
	     strchr(o->maildir_fmt, '%') != strstr(o->maildir_fmt, "%s"))) {
		fprintf(stderr, "loadgen: --maildir wants exactly one %%s\n");
		return -1;
	}
	switch (o->scenario) {
	case LG_SC_LOGIN:
		o->proto = proto < 0 ? LG_IMAP : (enum lg_proto)proto;
		break;
	case LG_SC_POP3_DOWNLOAD:
		o->proto = LG_POP3;
		break;
	case LG_SC_RAW:
		o->proto = LG_RAW;
		break;
	default:
		o->proto = LG_IMAP;
		break;
	}
	o->server.sin_family = AF_INET;
	o->server.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &o->server.sin_addr) != 1) {
		fprintf(stderr, "loadgen: bad --host %s\n", host);
		return -1;
	}
	return 0;
}

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

static void report(void)
{
	struct lg_options *o = &lg.opt;
	struct lg_stats *st = &lg.st;
	double secs = lg.t_end - lg.t_measure;
	double p50 = lg_samples_pct(&lg.lat, 50),
	       p90 = lg_samples_pct(&lg.lat, 90),
	       p99 = lg_samples_pct(&lg.lat, 99);
	double n50 = lg_samples_pct(&lg.notify_lat, 50),
	       n99 = lg_samples_pct(&lg.notify_lat, 99);
	double per_session = -1;
	char addr[INET_ADDRSTRLEN];

	if (secs <= 0)
		secs = 1e-9;
	if (pss_end >= 0 && idle_held > 0)
		per_session =
		    (double)(pss_end - (pss_base > 0 ? pss_base : 0)) /
		    (double)idle_held;
	inet_ntop(AF_INET, &o->server.sin_addr, addr, sizeof(addr));
	if (!o->json_only) {
		printf("scenario      %s (%s, tls=%s) against %s:%u\n",
		       scenario_names[o->scenario], proto_names[o->proto],
		       tls_names[o->tls], addr, ntohs(o->server.sin_port));
		printf("load          %d connections, %.1f s measured "
		       "(+%.1f s warmup), rate limit %s\n",
		       o->connections, secs, o->warmup,
		       o->rate > 0 ? "on" : "off");
		printf("sessions      %llu done, %llu protocol errors, "
		       "%llu connection errors\n",
		       (unsigned long long)st->sessions,
		       (unsigned long long)st->errors,
		       (unsigned long long)st->conn_errors);
		printf("logins/s      %.1f\n", (double)st->logins / secs);
		printf("ops/s         %.1f  (commands answered OK)\n",
		       (double)st->ops / secs);
		printf("latency ms    p50 %.2f  p90 %.2f  p99 %.2f  (%s)\n",
		       p50, p90, p99,
		       o->scenario == LG_SC_LOGIN ? "connect to login OK"
						  : "per command");
		if (o->scenario == LG_SC_IMAP_MIXED) {
			printf("weights      ");
			for (int i = 0; i < LG_OP_COUNT; i++)
				printf(" %s %d", op_names[i], o->op_weight[i]);
			printf("  (%d ops/session)\n", o->mixed_ops);
		}
		if (st->messages > 0 || st->bytes > 0)
			printf("download      %.1f messages/s, %.2f MB/s\n",
			       (double)st->messages / secs,
			       (double)st->bytes / secs / 1e6);
		if (o->scenario == LG_SC_IMAP_IDLE) {
			printf("idle          %llu sessions held (%s)\n",
			       (unsigned long long)idle_held,
			       st->server_has_idle ? "IDLE"
						   : "no IDLE: selected");
			if (pss_end >= 0)
				printf("server PSS    %ld KiB in %d processes, "
				       "%ld KiB before; %.1f KiB/session\n",
				       pss_end, pss_procs, pss_base,
				       per_session);
			if (st->deliveries > 0)
				printf("notify ms     p50 %.2f  p99 %.2f  "
				       "(%llu of %llu deliveries)\n",
				       n50, n99,
				       (unsigned long long)st->notifications,
				       (unsigned long long)st->deliveries);
		}
	}
	printf("{\"scenario\":\"%s\",\"proto\":\"%s\",\"tls\":\"%s\","
	       "\"server\":\"%s:%u\",\"connections\":%d,\"seconds\":%.3f,"
	       "\"sessions\":%llu,\"errors\":%llu,\"conn_errors\":%llu,"
	       "\"logins\":%llu,\"ops\":%llu,\"messages\":%llu,\"bytes\":%llu,"
	       "\"logins_per_s\":%.2f,\"ops_per_s\":%.2f,\"msgs_per_s\":%.2f,"
	       "\"mb_per_s\":%.3f,\"lat_p50_ms\":%.3f,\"lat_p90_ms\":%.3f,"
	       "\"lat_p99_ms\":%.3f",
	       scenario_names[o->scenario], proto_names[o->proto],
	       tls_names[o->tls], addr, ntohs(o->server.sin_port),
	       o->connections, secs, (unsigned long long)st->sessions,
	       (unsigned long long)st->errors,
	       (unsigned long long)st->conn_errors,
	       (unsigned long long)st->logins, (unsigned long long)st->ops,
	       (unsigned long long)st->messages, (unsigned long long)st->bytes,
	       (double)st->logins / secs, (double)st->ops / secs,
	       (double)st->messages / secs, (double)st->bytes / secs / 1e6, p50,
	       p90, p99);
	if (o->scenario == LG_SC_IMAP_IDLE)
		printf(",\"idle_held\":%llu,\"server_idle\":%s,"
		       "\"pss_kb\":%ld,\"pss_base_kb\":%ld,"
		       "\"pss_per_session_kb\":%.1f,\"deliveries\":%llu,"
		       "\"notifications\":%llu,\"notify_p50_ms\":%.3f,"
		       "\"notify_p99_ms\":%.3f",
		       (unsigned long long)idle_held,
		       st->server_has_idle ? "true" : "false", pss_end,
		       pss_base, per_session,
		       (unsigned long long)st->deliveries,
		       (unsigned long long)st->notifications, n50, n99);
	printf(",\"label\":\"");
	for (const char *p = o->label ? o->label : ""; *p; p++)
		if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
			putchar(*p);
	printf("\"}\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *serve_file = NULL, *listen_addr = "127.0.0.1:0";
	struct lg_options *o = &lg.opt;
	ev_timer end_timer, deliver_timer;
	ev_signal sig_int, sig_term;
	int i;

	if (parse_args(argc, argv, &serve_file, &listen_addr) < 0)
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
	if (o->scenario == LG_SC_IMAP_IDLE &&
	    (o->n_server_pids > 0 || o->server_names != NULL))
		pss_base = lg_server_pss_kb(o, &pss_procs);
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
	report();
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
