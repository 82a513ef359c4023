/*
 * echo - the smallest useful protocol plugin: a line protocol that answers
 * every line with "echo: <line>", "QUIT" closes. It shows the shape every
 * plugin has: one exported descriptor, a settings table, per-connection
 * state, pulled input, and output through the core.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <posthorn/posthorn.h>

struct echo_state {
	const struct ph_core_api *api;
	const char *greeting;
};

struct echo_conn {
	struct echo_state *plugin;
	ph_conn *conn;
};

static const struct ph_setting_def echo_settings[] = {
	{.key = "greeting", .type = PH_SETTING_STRING,
	 .default_value = "echo ready", .listener = 1,
	 .help = "first line sent to a client"},
	{0},
};

static int echo_init(const struct ph_core_api *api, const ph_config *config,
		     void **state_r, const char **error_r)
{
	struct echo_state *st = calloc(1, sizeof(*st));

	if (st == NULL) {
		*error_r = "out of memory";
		return PH_ENOMEM;
	}
	st->api = api;
	*state_r = st;
	return PH_OK;
}

static void echo_fini(void *state)
{
	free(state);
}

static int echo_conn_open(void *plugin_state, ph_conn *conn,
			  void **conn_state_r)
{
	struct echo_state *st = plugin_state;
	struct echo_conn *ec = calloc(1, sizeof(*ec));

	if (ec == NULL)
		return PH_ENOMEM;
	ec->plugin = st;
	ec->conn = conn;
	st->api->conn_set_idle_timeout(conn, 60);
	st->api->conn_printf(conn, "+ %s\r\n",
			     st->api->config_get(st->api->conn_config(conn),
						 "greeting"));
	*conn_state_r = ec;
	return PH_OK;
}

static void echo_conn_input(void *conn_state)
{
	struct echo_conn *ec = conn_state;
	const struct ph_core_api *api = ec->plugin->api;
	struct ph_str line;
	int ret;

	while ((ret = api->conn_read_line(ec->conn, 1024, &line)) != PH_AGAIN) {
		if (ret == PH_ETOOBIG) {
			api->conn_printf(ec->conn, "- line too long\r\n");
			continue;
		}
		if (ret < 0)
			return;
		if (line.len == 4 && strncasecmp(line.data, "QUIT", 4) == 0) {
			api->conn_printf(ec->conn, "+ bye\r\n");
			api->conn_close(ec->conn);
			return;
		}
		api->conn_printf(ec->conn, "echo: %.*s\r\n", (int)line.len,
				 line.data);
	}
}

static void echo_conn_goodbye(void *conn_state, enum ph_goodbye_reason reason)
{
	struct echo_conn *ec = conn_state;

	ec->plugin->api->conn_printf(ec->conn, "- %s\r\n",
				     reason == PH_GOODBYE_TIMEOUT
					     ? "idle timeout"
					     : "server shutting down");
}

static void echo_conn_closed(void *conn_state)
{
	free(conn_state);
}

static const struct ph_protocol_ops echo_ops = {
	PH_PROTOCOL_OPS_INIT,
	.conn_open = echo_conn_open,
	.conn_input = echo_conn_input,
	.conn_goodbye = echo_conn_goodbye,
	.conn_closed = echo_conn_closed,
};

PH_EXPORT const struct ph_plugin posthorn_plugin = {
	PH_PLUGIN_INIT,
	.kind = PH_PLUGIN_PROTOCOL,
	.name = "echo",
	.version = "1.0",
	.description = "line echo example",
	.settings = echo_settings,
	.init = echo_init,
	.fini = echo_fini,
	.ops = &echo_ops,
};
