/* pop3-plugin.c - the POP3 protocol plugin's descriptor (pop3.so). */
#include <stdlib.h>
#include "pop3-private.h"
#include "pop3-conn.h"

static int pop3_init(const struct ph_core_api *api, const ph_config *config,
		     void **state_r, const char **error_r)
{
	struct pop3_plugin *pl;

	pl = calloc(1, sizeof(*pl));
	if (pl == NULL) {
		*error_r = "out of memory";
		return PH_ENOMEM;
	}
	pl->api = api;
	pl->config = config;
	*state_r = pl;
	return PH_OK;
}

static void pop3_fini(void *state)
{
	free(state);
}

static const struct ph_protocol_ops pop3_ops = {
    PH_PROTOCOL_OPS_INIT,
    .conn_open = pop3_conn_open,
    .conn_input = pop3_conn_input,
    .conn_output_ready = pop3_conn_output_ready,
    .conn_goodbye = pop3_conn_goodbye,
    .conn_closed = pop3_conn_closed,
    .conn_resume = pop3_conn_resume,
    .conn_handoff_failed = pop3_conn_handoff_failed,
};

PH_EXPORT const struct ph_plugin posthorn_plugin = {
    PH_PLUGIN_INIT,
    .kind = PH_PLUGIN_PROTOCOL,
    .name = "pop3",
    .version = "0.1.0",
    .description = "POP3 (RFC 1939) with CAPA, RESP-CODES, SASL, STLS",
    .settings = pop3_setting_defs,
    .init = pop3_init,
    .fini = pop3_fini,
    .ops = &pop3_ops,
};
