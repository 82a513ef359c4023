/* loadgen: a one-process, libev-driven load generator for POP3/IMAP servers.
 *
 * One "slot" per concurrent connection: a slot opens a connection, runs one
 * protocol session (a scenario's script), records what it measured and
 * starts over until the run's duration is over.  The protocol clients
 * (imap-client.c, pop3-client.c, raw-client.c) are small state machines fed
 * by conn.c, which owns sockets, TLS and the read/write buffers. */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <ev.h>
#include <openssl/ssl.h>

/* Hard limits on what a server may send us. */
#define LG_MAX_LINE	   65536	/* one response line, CRLF incl. */
#define LG_MAX_LITERAL	   (256u << 20) /* one IMAP literal */
#define LG_MAX_LITERALS	   64		/* literals in one IMAP response */
#define LG_RBUF_SIZE	   (LG_MAX_LINE + 16384)
#define LG_RBUF_INIT	   16384
#define LG_WBUF_MAX	   (1u << 20) /* queued output per connection */
#define LG_MAX_USERS	   1000000
#define LG_MAX_SOURCES	   254
#define LG_MAX_SERVER_PIDS 256
#define LG_MAX_SAMPLES	   (1u << 21) /* latency samples kept per run */

enum lg_proto { LG_IMAP, LG_POP3, LG_RAW };
enum lg_tls { LG_TLS_NONE, LG_TLS_STARTTLS, LG_TLS_IMPLICIT };
enum lg_scenario {
	LG_SC_LOGIN,
	LG_SC_IMAP_MIXED,
	LG_SC_IMAP_IDLE,
	LG_SC_POP3_DOWNLOAD,
	LG_SC_RAW,
	LG_SC_COUNT
};

/* Weights of the imap-mixed operations (see bench/README.md). */
enum lg_mixed_op {
	LG_OP_FETCH_BODY,
	LG_OP_FETCH_HEADERS,
	LG_OP_STORE_FLAGS,
	LG_OP_NOOP,
	LG_OP_APPEND,
	LG_OP_EXPUNGE,
	LG_OP_COUNT
};

struct lg_options {
	enum lg_scenario scenario;
	enum lg_proto proto;
	enum lg_tls tls;
	struct sockaddr_in server;
	int connections;      /* concurrent slots */
	double duration;      /* seconds of measurement */
	double warmup;	      /* seconds before measurement starts */
	double rate;	      /* max new sessions per second, 0 = unlimited */
	double timeout;	      /* seconds without progress = error */
	int sources;	      /* bind to 127.0.0.1 .. 127.0.0.N */
	const char *user_fmt; /* printf format with one %d, or a plain name */
	int users;	      /* number of users, index 1..users */
	const char *password;
	int mixed_ops; /* operations per imap-mixed session */
	int op_weight[LG_OP_COUNT];
	const char *append_file; /* message APPENDed by imap-mixed */
	/* imap-idle */
	pid_t server_pids[LG_MAX_SERVER_PIDS];
	int n_server_pids;
	const char *server_names; /* comma separated process names */
	double deliver_rate;	  /* deliveries per second during idle */
	const char *maildir_fmt;  /* %s = user name */
	unsigned seed;
	bool json_only;
	const char *label; /* free text copied to the JSON line */
};

/* Measured over the run; only events inside the measurement window count. */
struct lg_stats {
	uint64_t sessions;	/* sessions completed without error */
	uint64_t logins;	/* successful authentications */
	uint64_t ops;		/* commands answered OK */
	uint64_t messages;	/* messages downloaded (RETR, FETCH BODY[]) */
	uint64_t bytes;		/* payload bytes (message bodies / raw) */
	uint64_t errors;	/* protocol errors (NO/BAD/-ERR/garbage) */
	uint64_t conn_errors;	/* connect/TLS/closed/timeouts */
	uint64_t idle_sessions; /* sessions that reached IDLE (or hold) */
	uint64_t notifications; /* EXISTS seen for a delivery */
	uint64_t deliveries;
	bool server_has_idle;
};

struct lg_samples {
	uint32_t *v; /* microseconds */
	size_t n, cap;
	uint64_t seen; /* for reservoir sampling past cap */
};

struct lg_conn;
struct lg_slot;

/* What a protocol client implements. */
struct lg_client_ops {
	/* TCP (and implicit TLS) connected: wait for the greeting. */
	void (*connected)(struct lg_slot *s);
	/* New bytes are in the read buffer; consume them. Returns < 0 to
	   abort the session (the client already counted the error). */
	int (*input)(struct lg_slot *s);
	/* STARTTLS handshake done. */
	void (*tls_ready)(struct lg_slot *s);
	/* The server closed the connection: true if that ends the session
	   normally (raw mode), false for an error. NULL = always an error. */
	bool (*eof)(struct lg_slot *s);
};

struct lg_conn {
	int fd;
	SSL *ssl;
	bool handshaking;
	bool connecting;
	ev_io io;
	char *rbuf;	   /* grows from LG_RBUF_INIT to LG_RBUF_SIZE */
	size_t rlen, roff; /* bytes in rbuf, bytes already consumed */
	size_t rcap;
	char *wbuf; /* grows up to LG_WBUF_MAX */
	size_t wlen, woff, wcap;
};

/* Per-slot protocol state; one protocol is active at a time. */
struct lg_imap_state {
	int phase;
	unsigned tag;
	bool in_cont;	   /* next line continues a response */
	uint64_t lit_left; /* literal bytes still to skip */
	int literals;	   /* literals in the current response */
	uint32_t exists;
	int ops_left;
	int op;		    /* current mixed op */
	bool fetching_body; /* count literal bytes as message bytes */
	uint64_t body;	    /* literal bytes of the current FETCH BODY[] */
	bool have_idle;
	uint64_t seen_delivery;
};

struct lg_pop3_state {
	int phase;
	bool multiline; /* reading a dot-terminated body */
	uint32_t count; /* messages in maildrop (from UIDL) */
	uint32_t next;	/* next message to RETR */
	uint64_t body;	/* bytes of the current RETR */
};

struct lg_slot {
	int id;
	uint64_t raw_bytes; /* raw mode: bytes of the current stream */
	int user;	    /* 1-based user index */
	struct lg_conn c;
	const struct lg_client_ops *ops;
	ev_timer timer; /* timeout, or delayed (re)start */
	ev_tstamp op_start;
	ev_tstamp session_start;
	bool active;
	union {
		struct lg_imap_state imap;
		struct lg_pop3_state pop3;
	} u;
};

/* Global run state, defined in main.c. */
struct lg_run {
	struct ev_loop *loop;
	struct lg_options opt;
	struct lg_stats st;
	struct lg_samples lat; /* per-op latency (login: connect->login OK) */
	struct lg_samples notify_lat;
	SSL_CTX *ssl_ctx;
	ev_tstamp t_start, t_measure, t_end;
	ev_tstamp next_start; /* rate limiter */
	bool stopping;
	struct lg_slot *slots;
	char *append_msg;
	size_t append_len;
	uint64_t *user_delivery_seq; /* per user index */
	ev_tstamp *user_delivery_time;
	unsigned err_reports;
	/* imap-idle: server PSS before and at the end, sessions held */
	long pss_base, pss_end;
	int pss_procs;
	uint64_t idle_held;
};
extern struct lg_run lg;

/* options.c */
extern const char *const lg_scenario_names[LG_SC_COUNT];
extern const char *const lg_proto_names[3];
extern const char *const lg_tls_names[3];
extern const char *const lg_op_names[LG_OP_COUNT];
int lg_options_parse(int argc, char **argv, const char **serve_file,
		     const char **listen_addr);

/* report.c */
void lg_report(void);

/* main.c */
bool lg_measuring(void);
void lg_session_done(struct lg_slot *s);
void lg_session_fail(struct lg_slot *s, bool protocol, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void lg_user_name(int user, char *buf, size_t size);
void lg_record_latency(struct lg_slot *s);

/* conn.c */
int lg_conn_open(struct lg_slot *s);
void lg_conn_close(struct lg_slot *s);
int lg_conn_send(struct lg_slot *s, const void *data, size_t len);
int lg_conn_printf(struct lg_slot *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int lg_conn_starttls(struct lg_slot *s);
/* Returns 1 and the line (CRLF stripped) when one is complete, 0 when more
   input is needed, < 0 when a line is longer than LG_MAX_LINE. */
int lg_conn_line(struct lg_slot *s, const char **line, size_t *len);
/* Consume up to `want` bytes of input; returns how many. */
size_t lg_conn_skip(struct lg_slot *s, size_t want);
size_t lg_conn_avail(struct lg_slot *s);
void lg_conn_touch(struct lg_slot *s);

/* stats.c */
void lg_samples_add(struct lg_samples *smp, double seconds);
double lg_samples_pct(struct lg_samples *smp, double pct); /* ms */
void lg_samples_free(struct lg_samples *smp);

/* procmem.c: sum of PSS in KiB over the server's processes, < 0 on error */
long lg_server_pss_kb(const struct lg_options *o, int *nprocs_r);

/* clients */
extern const struct lg_client_ops lg_imap_client;
extern const struct lg_client_ops lg_pop3_client;
extern const struct lg_client_ops lg_raw_client;
int lg_mixed_pick_op(void);
bool lg_imap_idling(const struct lg_slot *s);

/* deliver.c: one delivery into a random idle user's Maildir */
void lg_deliver_one(void);
/* raw-server.c: `loadgen --serve-file` */
int lg_serve_file(const char *path, const char *listen_addr);

#endif
