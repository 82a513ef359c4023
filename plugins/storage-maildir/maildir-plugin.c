/* maildir-plugin.c - the storage-maildir descriptor: settings table,
 * init/fini and the ops table. The work is in the other maildir-*.c. */
#include "maildir-private.h"

#include <stdlib.h>
#include <string.h>

const struct ph_core_api *maildir_api;

static const char *const separator_values[] = {"/", ".", NULL};

static const struct ph_setting_def maildir_settings[] = {
    {.key = "root",
     .type = PH_SETTING_STRING,
     .help = "Maildir of a user when the user record has no `mail` "
	     "field: a path template with %u (user name), %n (local "
	     "part), %d (domain), %% (a percent sign); created 0700 on "
	     "first login. Example: /var/vmail/%d/%n/Maildir"},
    {.key = "separator",
     .type = PH_SETTING_ENUM,
     .default_value = "/",
     .enum_values = separator_values,
     .help = "hierarchy separator of mailbox names: '/' (a '.' inside "
	     "a name is stored as %2E on disk) or '.' (then '/' is "
	     "refused in names)"},
    {.key = "special_use_folders",
     .type = PH_SETTING_STRING,
     .default_value = "Sent:\\Sent Drafts:\\Drafts Trash:\\Trash "
		      "Junk:\\Junk Archive:\\Archive",
     .help = "mailboxes created at a user's first login with their "
	     "RFC 6154 attribute, as space-separated NAME:\\Attr items; "
	     "empty for none"},
    {.key = "expunge_horizon",
     .type = PH_SETTING_UINT,
     .default_value = "10000",
     .help = "expunged UIDs remembered per mailbox, with their modseq, "
	     "for QRESYNC; older ones make VANISHED (EARLIER) fall back "
	     "to a full resync"},
    {.key = "fsync",
     .type = PH_SETTING_BOOL,
     .default_value = "yes",
     .help = "fsync message files, cur/ and the index before reporting "
	     "success; 'no' trades durability on power loss for speed"},
    {0},
};

static int maildir_init(const struct ph_core_api *api, const ph_config *cfg,
			void **state_r, const char **error_r)
{
	struct maildir_storage *st;
	const char *v;
	uint64_t n;

	if (!PH_API_HAS(api, storage_get)) {
		*error_r = "core API too old";
		return PH_EABI;
	}
	maildir_api = api;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		*error_r = "out of memory";
		return PH_ENOMEM;
	}
	v = api->config_get(cfg, "root");
	st->set.root = v ? strdup(v) : NULL;
	v = api->config_get(cfg, "separator");
	st->set.separator = v && strcmp(v, ".") == 0 ? '.' : '/';
	v = api->config_get(cfg, "special_use_folders");
	st->set.special_use = v && *v ? strdup(v) : NULL;
	st->set.expunge_horizon =
	    api->config_get_uint(cfg, "expunge_horizon", &n) == PH_OK &&
		    n < UINT32_MAX
		? (uint32_t)n
		: 10000;
	st->set.fsync =
	    api->config_get_uint(cfg, "fsync", &n) != PH_OK || n != 0;
	maildir_index_horizon = st->set.expunge_horizon;
	*state_r = st;
	return PH_OK;
}

static void maildir_fini(void *state)
{
	struct maildir_storage *st = state;

	if (st == NULL)
		return;
	free(st->set.root);
	free(st->set.special_use);
	free(st);
}

static const struct ph_storage_ops maildir_ops = {
    PH_STORAGE_OPS_INIT,
    .user_open = maildir_user_open,
    .user_close = maildir_user_close,
    .mailbox_separator = maildir_mailbox_separator,
    .mailbox_list = maildir_mailbox_list,
    .mailbox_create = maildir_mailbox_create,
    .mailbox_delete = maildir_mailbox_delete,
    .mailbox_rename = maildir_mailbox_rename,
    .mailbox_subscribe = maildir_mailbox_subscribe,
    .mailbox_status = maildir_mailbox_status,
    .mailbox_open = maildir_mailbox_open,
    .mailbox_close = maildir_mailbox_close,
    .mailbox_get_status = maildir_mailbox_get_status,
    .mailbox_sync = maildir_view_sync,
    .mailbox_watch_fd = maildir_mailbox_watch_fd,
    .mailbox_lock = maildir_mailbox_lock,
    .message_count = maildir_message_count,
    .message_info = maildir_message_info,
    .message_uid_range = maildir_message_uid_range,
    .message_open = maildir_message_open,
    .message_close = maildir_message_close,
    .cache_get = maildir_cache_get_op,
    .cache_set = maildir_cache_set_op,
    .keyword_index = maildir_keyword_index,
    .keyword_name = maildir_keyword_name,
    .messages_store = maildir_messages_store,
    .messages_expunge = maildir_messages_expunge,
    .messages_copy = maildir_messages_copy,
    .mailbox_expunged_since = maildir_mailbox_expunged_since,
    .append_begin = maildir_append_begin,
    .append_write = maildir_append_write,
    .append_commit = maildir_append_commit,
    .append_abort = maildir_append_abort,
    .append_commit_all = maildir_append_commit_all,
};

PH_EXPORT const struct ph_plugin posthorn_plugin = {
    PH_PLUGIN_INIT,
    .kind = PH_PLUGIN_STORAGE,
    .name = "storage-maildir",
    .version = "0.1.0",
    .description = "Maildir++ storage with a binary index",
    .settings = maildir_settings,
    .init = maildir_init,
    .fini = maildir_fini,
    .ops = &maildir_ops,
};
