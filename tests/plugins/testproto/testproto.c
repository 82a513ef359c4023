/*
 * testproto - drives core features from integration tests. POP3-shaped
 * greeting so `openssl s_client -starttls pop3` works. Commands:
 *   STLS | STARTTLS     "+OK begin TLS", then conn_starttls()
 *   STLS2               the same, then "+OK inside TLS" queued after the
 *                       conn_starttls() call
 *   INFO                "+OK tls=<0|1> version=<v> listener=<l> peer=<ip>"
 *   BIG <n>             n bytes of 'x' then CRLF, produced in 4 KiB pieces
 *                       while output is below the low-water mark
 *   FILE <path> <off> <len>  the byte range through conn_write_file
 *   CONFIG <key>        "+OK <value>" from conn_config()
 *   IDLE <s>            sets the idle timeout
 *   LOGIN <user> <pass> auth_plain: "+OK user=<name>" or "-ERR <code> <msg>"
 *   MECHS               "+OK <sasl_mechanisms>"
 *   SASL <mech> [<ir>]  sasl_start; then each line goes to sasl_continue:
 *                       "+ <challenge>", "+OK sasl user=<name>", "-ERR ..."
 *   LATER <s> <text>    "+OK" now, "+OK later <text>" from a timer <s>
 *                       seconds later (output queued outside a callback
 *                       of this connection must still be sent)
 *   LATERCLOSE <s>      "+OK", then "+OK later bye" and a close from a
 *                       timer
 *   QUIT                "+OK bye", close
 *   anything else       "echo: <line>"
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <posthorn/posthorn.h>

struct tp_state {
	const struct ph_core_api *api;
};

struct tp_conn {
	const struct ph_core_api *api;
	ph_conn *conn;
	uint64_t big_left;
	int busy; /* auth request running: read nothing meanwhile */
	int in_sasl;
	ph_timer *later;
	int later_close;
	char later_text[256];
};

static void tp_later_cb(void *ctx)
{
	struct tp_conn *tc = ctx;

	tc->api->timer_remove(&tc->later);
	if (tc->later_close) {
		tc->api->conn_printf(tc->conn, "+OK later bye\r\n");
		tc->api->conn_close(tc->conn);
	} else {
		tc->api->conn_printf(tc->conn, "+OK later %s\r\n",
				     tc->later_text);
	}
}

static void tp_input(void *cs);

static int tp_init(const struct ph_core_api *api, const ph_config *config,
		   void **state_r, const char **error_r)
{
	struct tp_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return PH_ENOMEM;
	st->api = api;
	*state_r = st;
	return PH_OK;
}

static void tp_fini(void *state)
{
	free(state);
}

static int tp_open(void *ps, ph_conn *conn, void **cs_r)
{
	struct tp_state *st = ps;
	struct tp_conn *tc = calloc(1, sizeof(*tc));

	if (tc == NULL)
		return PH_ENOMEM;
	tc->api = st->api;
	tc->conn = conn;
	st->api->conn_printf(conn, "+OK testproto ready\r\n");
	*cs_r = tc;
	return PH_OK;
}

/* Produces BIG output only while below the low-water mark. */
static void tp_produce(struct tp_conn *tc)
{
	static char chunk[4096];

	if (chunk[0] != 'x')
		memset(chunk, 'x', sizeof(chunk));
	while (tc->big_left > 0 && tc->api->conn_output_pending(tc->conn) <
				       tc->api->conn_output_lowat(tc->conn)) {
		size_t n =
		    tc->big_left > sizeof(chunk) ? sizeof(chunk) : tc->big_left;

		if (tc->api->conn_write(tc->conn, chunk, n) < 0)
			return;
		tc->big_left -= n;
		if (tc->big_left == 0)
			tc->api->conn_write(tc->conn, "\r\n", 2);
	}
}

static void tp_auth_done(void *ctx, int result, const ph_user *user,
			 const char *message)
{
	struct tp_conn *tc = ctx;

	tc->busy = 0;
	if (result == PH_OK)
		tc->api->conn_printf(tc->conn, "+OK user=%s\r\n",
				     tc->api->user_get(user, "user"));
	else
		tc->api->conn_printf(tc->conn, "-ERR %d %s\r\n", result,
				     message);
	tp_input(tc);
}

static void tp_sasl_step(void *ctx, enum ph_sasl_status status,
			 struct ph_str data, const ph_user *user)
{
	struct tp_conn *tc = ctx;

	tc->busy = 0;
	if (status == PH_SASL_CHALLENGE) {
		tc->api->conn_printf(tc->conn, "+ %.*s\r\n", (int)data.len,
				     data.data);
	} else {
		tc->in_sasl = 0;
		if (status == PH_SASL_SUCCESS)
			tc->api->conn_printf(tc->conn, "+OK sasl user=%s\r\n",
					     tc->api->user_get(user, "user"));
		else
			tc->api->conn_printf(tc->conn, "-ERR sasl %d %.*s\r\n",
					     (int)status, (int)data.len,
					     data.data);
	}
	tp_input(tc);
}

/* Returns 1 when the command started TLS: like a real protocol, read
 * nothing more until the handshake is done. */
static int tp_command(struct tp_conn *tc, char *line)
{
	const struct ph_core_api *api = tc->api;
	char *arg = strchr(line, ' ');

	if (arg != NULL)
		*arg++ = '\0';
	if (strcasecmp(line, "STLS") == 0 ||
	    strcasecmp(line, "STARTTLS") == 0 ||
	    strcasecmp(line, "STLS2") == 0) {
		api->conn_printf(tc->conn, "+OK begin TLS\r\n");
		int ret = api->conn_starttls(tc->conn);

		if (ret < 0) {
			api->conn_printf(tc->conn, "-ERR %s\r\n",
					 api->strerror(ret));
			return 0;
		}
		/* Written after conn_starttls(): must travel inside TLS. */
		if (strcasecmp(line, "STLS2") == 0)
			api->conn_printf(tc->conn, "+OK inside TLS\r\n");
		return 1;
	} else if (strcasecmp(line, "INFO") == 0) {
		struct ph_conn_info info = PH_CONN_INFO_INIT;

		api->conn_info(tc->conn, &info);
		api->conn_printf(tc->conn,
				 "+OK tls=%d version=%s listener=%s peer=%s "
				 "session=%s\r\n",
				 info.tls,
				 info.tls_version ? info.tls_version : "-",
				 info.listener, info.peer_ip, info.session_id);
	} else if (strcasecmp(line, "BIG") == 0 && arg != NULL) {
		tc->big_left = strtoull(arg, NULL, 10);
		tp_produce(tc);
	} else if (strcasecmp(line, "FILE") == 0 && arg != NULL) {
		char path[512];
		unsigned long long off, len;

		if (sscanf(arg, "%511s %llu %llu", path, &off, &len) != 3) {
			api->conn_printf(tc->conn, "-ERR usage\r\n");
			return 0;
		}
		int fd = open(path, O_RDONLY);

		if (fd < 0) {
			api->conn_printf(tc->conn, "-ERR open\r\n");
			return 0;
		}
		api->conn_printf(tc->conn, "+OK %llu\r\n", len);
		api->conn_write_file(tc->conn, fd, off, len);
		close(fd);
		api->conn_printf(tc->conn, "\r\n.\r\n");
	} else if (strcasecmp(line, "CONFIG") == 0 && arg != NULL) {
		const char *v =
		    api->config_get(api->conn_config(tc->conn), arg);

		api->conn_printf(tc->conn, "+OK %s\r\n", v ? v : "(unset)");
	} else if (strcasecmp(line, "IDLE") == 0 && arg != NULL) {
		api->conn_set_idle_timeout(tc->conn, (unsigned)atoi(arg));
		api->conn_printf(tc->conn, "+OK\r\n");
	} else if (strcasecmp(line, "LOGIN") == 0 && arg != NULL &&
		   strchr(arg, ' ') != NULL) {
		char *pass = strchr(arg, ' ');
		struct ph_str u, pw;
		int ret;

		*pass++ = '\0';
		u.data = arg;
		u.len = strlen(arg);
		pw.data = pass;
		pw.len = strlen(pass);
		ret = api->auth_plain(tc->conn, u, pw, tp_auth_done, tc);
		if (ret < 0)
			api->conn_printf(tc->conn, "-ERR %d %s\r\n", ret,
					 api->strerror(ret));
		else
			tc->busy = 1;
	} else if (strcasecmp(line, "MECHS") == 0) {
		api->conn_printf(tc->conn, "+OK %s\r\n",
				 api->sasl_mechanisms(tc->conn));
	} else if (strcasecmp(line, "SASL") == 0 && arg != NULL) {
		char *ir = strchr(arg, ' ');
		struct ph_str irs;
		int ret;

		if (ir != NULL) {
			*ir++ = '\0';
			irs.data = ir;
			irs.len = strlen(ir);
		}
		ret = api->sasl_start(tc->conn, arg, ir != NULL ? &irs : NULL,
				      tp_sasl_step, tc);
		if (ret < 0) {
			api->conn_printf(tc->conn, "-ERR %d %s\r\n", ret,
					 api->strerror(ret));
		} else {
			tc->busy = 1;
			tc->in_sasl = 1;
		}
	} else if ((strcasecmp(line, "LATER") == 0 ||
		    strcasecmp(line, "LATERCLOSE") == 0) &&
		   arg != NULL && tc->later == NULL) {
		char *text = strchr(arg, ' ');

		tc->later_close = strcasecmp(line, "LATERCLOSE") == 0;
		snprintf(tc->later_text, sizeof(tc->later_text), "%s",
			 text != NULL ? text + 1 : "");
		tc->later = api->timer_add(atof(arg), 0, tp_later_cb, tc);
		api->conn_printf(
		    tc->conn, tc->later != NULL ? "+OK\r\n" : "-ERR timer\r\n");
	} else if (strcasecmp(line, "QUIT") == 0) {
		api->conn_printf(tc->conn, "+OK bye\r\n");
		api->conn_close(tc->conn);
	} else {
		if (arg != NULL)
			arg[-1] = ' ';
		api->conn_printf(tc->conn, "echo: %s\r\n", line);
	}
	return 0;
}

static void tp_input(void *cs)
{
	struct tp_conn *tc = cs;
	struct ph_str line;
	int ret;

	/* Output first: no new command while BIG is still producing or
	 * while the client is not reading our answers (the core then stops
	 * reading the socket once its input buffer is full). */
	while (tc->big_left == 0 && !tc->busy &&
	       tc->api->conn_output_pending(tc->conn) <
		   tc->api->conn_output_lowat(tc->conn) &&
	       (ret = tc->api->conn_read_line(tc->conn, 1024, &line)) !=
		   PH_AGAIN) {
		char buf[1100];

		if (ret == PH_ETOOBIG) {
			tc->api->conn_printf(tc->conn,
					     "-ERR line too long\r\n");
			continue;
		}
		if (ret < 0)
			return;
		/* NULs are shown as '@' so tests can see them arrive. */
		for (size_t i = 0; i < line.len; i++)
			buf[i] = line.data[i] == '\0' ? '@' : line.data[i];
		buf[line.len] = '\0';
		if (tc->in_sasl) {
			tc->busy = 1;
			if (tc->api->sasl_continue(tc->conn, line) < 0) {
				tc->busy = 0;
				tc->in_sasl = 0;
			}
			continue;
		}
		if (tp_command(tc, buf))
			return;
	}
}

static void tp_output_ready(void *cs)
{
	struct tp_conn *tc = cs;

	tp_produce(tc);
	if (tc->big_left == 0)
		tp_input(cs);
}

static void tp_goodbye(void *cs, enum ph_goodbye_reason reason)
{
	struct tp_conn *tc = cs;

	tc->api->conn_printf(tc->conn, "-ERR %s\r\n",
			     reason == PH_GOODBYE_TIMEOUT ? "idle timeout"
							  : "shutting down");
}

static void tp_closed(void *cs)
{
	struct tp_conn *tc = cs;

	tc->api->timer_remove(&tc->later);
	free(tc);
}

static const struct ph_protocol_ops tp_ops = {
    PH_PROTOCOL_OPS_INIT,	.conn_open = tp_open,
    .conn_input = tp_input,	.conn_output_ready = tp_output_ready,
    .conn_goodbye = tp_goodbye, .conn_closed = tp_closed,
};

PH_EXPORT const struct ph_plugin posthorn_plugin = {
    PH_PLUGIN_INIT,
    .kind = PH_PLUGIN_PROTOCOL,
    .name = "testproto",
    .version = "1.0",
    .description = "core integration test protocol",
    .init = tp_init,
    .fini = tp_fini,
    .ops = &tp_ops,
};
