/* core/conn.h - a client connection in a worker: socket, optional TLS,
 * bounded input buffer, output queue with low-water mark and hard limit,
 * idle timeout, and the protocol plugin driving it. */
#ifndef PH_CORE_CONN_H
#define PH_CORE_CONN_H

#include <ev.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <posthorn/posthorn.h>

#include "config.h"
#include "plugin-loader.h"

struct ph__auth_client;

/* A listener as a worker runs it. */
struct ph__listener_rt {
	const struct ph__listener_config *cfg;
	struct ph__plugin *proto;
	SSL_CTX *ssl_ctx; /* NULL when tls = none */
	unsigned conn_count;
};

/* What every connection of a worker shares. */
struct ph__conn_env {
	struct ev_loop *loop;
	struct ph__auth_client *auth; /* NULL: no auth service */
	size_t input_buffer, output_limit, lowat;
	double handshake_timeout, close_timeout;
	unsigned default_idle_timeout;
	/* Called once per connection when it is freed (accounting). */
	void (*on_free)(void *ctx, ph_conn *conn);
	void *ctx;
	ph_conn *conns; /* every live connection */
	unsigned conn_count;
	/* Per-user session processes (see handoff.h). */
	int handoff_fd;		  /* socket to the master, -1: none */
	int master_root;	  /* the master can start sessions */
	unsigned first_valid_uid; /* [auth] first_valid_uid */
};

struct ph__handoff_msg;

/* A session process's connection: `fd` (owned) is the client socket or
 * the worker's TLS relay, already logged in as `user` (owned afterwards,
 * also on failure). Preloads m->input, takes the connection facts from
 * `m` and calls the protocol's conn_resume(). NULL on failure (fd
 * closed, user freed). */
ph_conn *ph__conn_adopt(struct ph__conn_env *env, struct ph__listener_rt *l,
			int fd, const struct ph__handoff_msg *m, ph_user *user);
/* API entry session_handoff (ABI 1.1, see posthorn/core.h). */
int ph__conn_session_handoff(ph_conn *conn, const void *state, size_t len);

/* Zeroes `env` and fills what every process serving connections takes
 * from the configuration (buffers, limits, timeouts); the caller sets
 * its own callbacks and sockets afterwards. */
void ph__conn_env_init(struct ph__conn_env *env, struct ev_loop *loop,
		       const struct ph__config *cfg);

/* Takes `fd` (accepted, owned afterwards). Starts TLS for implicit
 * listeners, otherwise opens the protocol at once. NULL on failure (fd
 * closed). */
ph_conn *ph__conn_create(struct ph__conn_env *env, struct ph__listener_rt *l,
			 int fd, const struct sockaddr *peer);
/* Daemon stopping: the protocol says goodbye(SHUTDOWN), then close. */
void ph__conn_shutdown(ph_conn *conn);
const char *ph__conn_peer_ip(const ph_conn *conn);
ph_conn *ph__conn_next(const ph_conn *conn);

/* Core API entries (see posthorn/core.h). */
void ph__conn_vlog(ph_conn *conn, enum ph_log_level level, const char *fmt,
		   va_list ap) PH_PRINTF(3, 0);
int ph__conn_read_line(ph_conn *conn, size_t max_len, struct ph_str *line_r);
int ph__conn_read_bytes(ph_conn *conn, size_t max, struct ph_str *data_r);
int ph__conn_write(ph_conn *conn, const void *data, size_t len);
int ph__conn_vprintf(ph_conn *conn, const char *fmt, va_list ap)
    PH_PRINTF(2, 0);
int ph__conn_write_file(ph_conn *conn, int fd, uint64_t offset, uint64_t len);
size_t ph__conn_output_pending(ph_conn *conn);
size_t ph__conn_output_lowat(ph_conn *conn);
void ph__conn_close(ph_conn *conn);
int ph__conn_starttls(ph_conn *conn);
int ph__conn_info(ph_conn *conn, struct ph_conn_info *info);
void ph__conn_set_idle_timeout(ph_conn *conn, unsigned seconds);
const ph_config *ph__conn_config(ph_conn *conn);
int ph__conn_auth_plain(ph_conn *conn, struct ph_str user,
			struct ph_str password, ph_auth_done_fn *cb, void *ctx);
const char *ph__conn_sasl_mechanisms(ph_conn *conn);
int ph__conn_sasl_start(ph_conn *conn, const char *mech,
			const struct ph_str *initial_response, ph_sasl_fn *cb,
			void *ctx);
int ph__conn_sasl_continue(ph_conn *conn, struct ph_str response);

#endif
