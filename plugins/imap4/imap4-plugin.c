/* imap4-plugin.c - the plugin descriptor, init and fini. */
#include <stdlib.h>
#include "imap4-private.h"

extern const struct ph_protocol_ops imap_protocol_ops;

static int imap_init(const struct ph_core_api *api, const ph_config *config,
		     void **state_r, const char **error_r)
{
	struct imap_plugin *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		*error_r = "out of memory";
		return PH_ENOMEM;
	}
	p->api = api;
	*state_r = p;
	return PH_OK;
}

static void imap_fini(void *state)
{
	free(state);
}

PH_EXPORT const struct ph_plugin posthorn_plugin = {
    PH_PLUGIN_INIT,
    .kind = PH_PLUGIN_PROTOCOL,
    .name = "imap4",
    .version = "0.1.0",
    .description = "IMAP4rev1 (RFC 3501)",
    .settings = NULL,
    .init = imap_init,
    .fini = imap_fini,
    .ops = &imap_protocol_ops,
};
