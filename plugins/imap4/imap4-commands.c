/* imap4-commands.c - the command table: name, states, UID prefix. */
#include <strings.h>
#include "imap4-private.h"

#define ANY	 IMAP_STATE_ANY
#define NOTAUTH	 IMAP_STATE_NOTAUTH
#define AUTHED	 (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define SELECTED IMAP_STATE_SELECTED

static const struct imap_command commands[] = {
    {"CAPABILITY", ANY, imap_cmd_capability, 0},
    {"NOOP", ANY, imap_cmd_noop, 0},
    {"IDLE", AUTHED, imap_cmd_idle, 0},
    {"LOGOUT", ANY, imap_cmd_logout, 0},
    {"ID", ANY, imap_cmd_id, 0},
    {"STARTTLS", NOTAUTH, imap_cmd_starttls, 0},
    {"LOGIN", NOTAUTH, imap_cmd_login, 0},
    {"AUTHENTICATE", NOTAUTH, imap_cmd_authenticate, 0},
    {"ENABLE", AUTHED, imap_cmd_enable, 0},
    {"NAMESPACE", AUTHED, imap_cmd_namespace, 0},
    {"SELECT", AUTHED, imap_cmd_select, 0},
    {"EXAMINE", AUTHED, imap_cmd_select, 0},
    {"CREATE", AUTHED, imap_cmd_create, 0},
    {"DELETE", AUTHED, imap_cmd_delete, 0},
    {"RENAME", AUTHED, imap_cmd_rename, 0},
    {"SUBSCRIBE", AUTHED, imap_cmd_subscribe, 0},
    {"UNSUBSCRIBE", AUTHED, imap_cmd_unsubscribe, 0},
    {"LIST", AUTHED, imap_cmd_list, 0},
    {"LSUB", AUTHED, imap_cmd_lsub, 0},
    {"STATUS", AUTHED, imap_cmd_status, 0},
    {"APPEND", AUTHED, imap_cmd_append, 0},
    {"CHECK", SELECTED, imap_cmd_check, 0},
    {"CLOSE", SELECTED, imap_cmd_close, 0},
    {"UNSELECT", SELECTED, imap_cmd_unselect, 0},
    {"EXPUNGE", SELECTED, imap_cmd_expunge, 1},
    {"SEARCH", SELECTED, imap_cmd_search, 1},
    {"FETCH", SELECTED, imap_cmd_fetch, 1},
    {"STORE", SELECTED, imap_cmd_store, 1},
    {"COPY", SELECTED, imap_cmd_copy, 1},
    {"MOVE", SELECTED, imap_cmd_move, 1},
};

const struct imap_command *imap_command_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}
