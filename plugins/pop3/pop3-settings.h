/* pop3-settings.h - the plugin's INI keys ([pop3] and listener
 * sections). */
#ifndef POP3_SETTINGS_H
#define POP3_SETTINGS_H

#include <posthorn/posthorn.h>

extern const struct ph_setting_def pop3_setting_defs[];

struct pop3_settings {
	unsigned idle_timeout; /* seconds; RFC 1939 wants >= 10 minutes */
	int mark_seen;	       /* RETR sets \Seen */
	int implementation;    /* advertise IMPLEMENTATION in CAPA */
	char expire[24];       /* CAPA EXPIRE value, "" = not advertised */
	int64_t login_delay;   /* CAPA LOGIN-DELAY seconds, -1 = none */
};

/* Reads the settings a connection sees (values the core validated). */
void pop3_settings_load(const struct ph_core_api *api, const ph_config *cfg,
			struct pop3_settings *set);

#endif
