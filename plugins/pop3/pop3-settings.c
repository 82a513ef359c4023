/* pop3-settings.c - the settings table and its loader. */
#include <stdio.h>
#include <string.h>
#include "pop3-settings.h"

const struct ph_setting_def pop3_setting_defs[] = {
    {.key = "idle_timeout",
     .type = PH_SETTING_TIME,
     .default_value = "10m",
     .listener = 1,
     .help = "autologout timer: seconds of client silence before the "
	     "session ends without UPDATE (RFC 1939: at least 10m)"},
    {.key = "mark_seen",
     .type = PH_SETTING_BOOL,
     .default_value = "yes",
     .listener = 1,
     .help = "RETR sets \\Seen so IMAP clients see the message as read"},
    {.key = "expire",
     .type = PH_SETTING_TIME,
     .default_value = NULL,
     .listener = 1,
     .help = "CAPA EXPIRE: how long the site keeps retrieved mail, sent in "
	     "days rounded down (0: deleted at once; unset: not advertised; "
	     "advisory only)"},
    {.key = "expire_never",
     .type = PH_SETTING_BOOL,
     .default_value = "no",
     .listener = 1,
     .help = "CAPA EXPIRE NEVER (overrides expire)"},
    {.key = "login_delay",
     .type = PH_SETTING_TIME,
     .default_value = NULL,
     .listener = 1,
     .help = "CAPA LOGIN-DELAY value in seconds (unset: not advertised; "
	     "advisory only)"},
    {.key = "implementation",
     .type = PH_SETTING_BOOL,
     .default_value = "no",
     .listener = 1,
     .help = "advertise IMPLEMENTATION Posthorn <version> in CAPA"},
    {0},
};

void pop3_settings_load(const struct ph_core_api *api, const ph_config *cfg,
			struct pop3_settings *set)
{
	uint64_t v;

	memset(set, 0, sizeof(*set));
	set->idle_timeout = 600;
	set->mark_seen = 1;
	set->login_delay = -1;
	if (api->config_get_uint(cfg, "idle_timeout", &v) == PH_OK)
		set->idle_timeout = v > 86400 ? 86400 : (unsigned)v;
	if (api->config_get_uint(cfg, "mark_seen", &v) == PH_OK)
		set->mark_seen = v != 0;
	if (api->config_get_uint(cfg, "implementation", &v) == PH_OK)
		set->implementation = v != 0;
	if (api->config_get_uint(cfg, "login_delay", &v) == PH_OK)
		set->login_delay = v > INT32_MAX ? INT32_MAX : (int64_t)v;
	/* Typed keys: the core validated them (posthornd -t reports bad
	 * values with file:line), so nothing here can fail. */
	if (api->config_get_uint(cfg, "expire_never", &v) == PH_OK && v)
		snprintf(set->expire, sizeof(set->expire), "NEVER");
	else if (api->config_get_uint(cfg, "expire", &v) == PH_OK)
		snprintf(set->expire, sizeof(set->expire), "%llu",
			 (unsigned long long)(v / 86400));
}
