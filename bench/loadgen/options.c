/* loadgen: command line options and their defaults. */
#include "loadgen.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const lg_scenario_names[LG_SC_COUNT] = {
    [LG_SC_LOGIN] = "login",
    [LG_SC_IMAP_MIXED] = "imap-mixed",
    [LG_SC_IMAP_IDLE] = "imap-idle",
    [LG_SC_POP3_DOWNLOAD] = "pop3-download",
    [LG_SC_RAW] = "raw",
};
const char *const lg_proto_names[3] = {"imap", "pop3", "raw"};
const char *const lg_tls_names[3] = {"none", "starttls", "implicit"};
const char *const lg_op_names[LG_OP_COUNT] = {
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

int lg_options_parse(int argc, char **argv, const char **serve_file,
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
			o->scenario = (enum lg_scenario)pick(
			    optarg, lg_scenario_names, 5);
			if ((int)o->scenario < 0) {
				fprintf(stderr, "loadgen: bad scenario\n");
				return -1;
			}
			break;
		case 'P':
			if ((proto = pick(optarg, lg_proto_names, 2)) < 0) {
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
			if ((c = pick(optarg, lg_tls_names, 3)) < 0) {
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
