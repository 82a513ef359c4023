/* ABI 1.0, 1.1 and 1.2 layout locks: a change to any of these offsets or sizes
 * breaks every plugin built before it, so it must fail the build. Checked for
 * LP64 (x86_64, aarch64), the platforms Posthorn ships for. */
#include <stddef.h>
#include <stdint.h>
#include <posthorn/posthorn.h>

#define LOCK_OFF(type, field, off)                                             \
	_Static_assert(offsetof(struct type, field) == (off),                  \
		       #type "." #field " moved")
#define LOCK_SIZE(type, size)                                                  \
	_Static_assert(sizeof(struct type) == (size), #type " changed size")

_Static_assert(PH_ABI_MAJOR == 1 && PH_ABI_MINOR == 2, "ABI version");
_Static_assert(PH_OK == 0 && PH_AGAIN == -1 && PH_ETOOBIG == -4 &&
		   PH_EABI == -17 && PH_EINTERNAL == -18,
	       "result codes are ABI");
_Static_assert(PH_PLUGIN_PROTOCOL == 1 && PH_PLUGIN_STORAGE == 2 &&
		   PH_PLUGIN_AUTH == 3,
	       "plugin kinds are ABI");
_Static_assert(PH_TLS_NONE == 0 && PH_TLS_IMPLICIT == 2, "tls modes");
_Static_assert(PH_GOODBYE_TIMEOUT == 1 && PH_GOODBYE_SHUTDOWN == 2,
	       "goodbye reasons");

#if UINTPTR_MAX == UINT64_MAX
LOCK_OFF(ph_str, data, 0);
LOCK_OFF(ph_str, len, 8);
LOCK_SIZE(ph_str, 16);

LOCK_OFF(ph_plugin, struct_size, 0);
LOCK_OFF(ph_plugin, abi_major, 4);
LOCK_OFF(ph_plugin, abi_minor, 6);
LOCK_OFF(ph_plugin, kind, 8);
LOCK_OFF(ph_plugin, name, 16);
LOCK_OFF(ph_plugin, version, 24);
LOCK_OFF(ph_plugin, description, 32);
LOCK_OFF(ph_plugin, settings, 40);
LOCK_OFF(ph_plugin, init, 48);
LOCK_OFF(ph_plugin, fini, 56);
LOCK_OFF(ph_plugin, ops, 64);
LOCK_SIZE(ph_plugin, 72);

LOCK_OFF(ph_setting_def, key, 0);
LOCK_OFF(ph_setting_def, type, 8);
LOCK_OFF(ph_setting_def, default_value, 16);
LOCK_OFF(ph_setting_def, enum_values, 24);
LOCK_OFF(ph_setting_def, listener, 32);
LOCK_OFF(ph_setting_def, help, 40);
LOCK_SIZE(ph_setting_def, 48);

LOCK_OFF(ph_core_api, struct_size, 0);
LOCK_OFF(ph_core_api, abi_major, 4);
LOCK_OFF(ph_core_api, abi_minor, 6);
LOCK_OFF(ph_core_api, core_version, 8);
LOCK_OFF(ph_core_api, log, 16);
LOCK_OFF(ph_core_api, conn_log, 24);
LOCK_OFF(ph_core_api, strerror, 32);
LOCK_OFF(ph_core_api, config_get, 40);
LOCK_OFF(ph_core_api, config_get_uint, 48);
LOCK_OFF(ph_core_api, timer_add, 56);
LOCK_OFF(ph_core_api, timer_remove, 64);
LOCK_OFF(ph_core_api, io_add, 72);
LOCK_OFF(ph_core_api, io_remove, 80);
LOCK_OFF(ph_core_api, conn_read_line, 88);
LOCK_OFF(ph_core_api, conn_read_bytes, 96);
LOCK_OFF(ph_core_api, conn_write, 104);
LOCK_OFF(ph_core_api, conn_printf, 112);
LOCK_OFF(ph_core_api, conn_write_file, 120);
LOCK_OFF(ph_core_api, conn_output_pending, 128);
LOCK_OFF(ph_core_api, conn_output_lowat, 136);
LOCK_OFF(ph_core_api, conn_close, 144);
LOCK_OFF(ph_core_api, conn_starttls, 152);
LOCK_OFF(ph_core_api, conn_info, 160);
LOCK_OFF(ph_core_api, conn_set_idle_timeout, 168);
LOCK_OFF(ph_core_api, conn_config, 176);
LOCK_OFF(ph_core_api, auth_plain, 184);
LOCK_OFF(ph_core_api, sasl_mechanisms, 192);
LOCK_OFF(ph_core_api, sasl_start, 200);
LOCK_OFF(ph_core_api, sasl_continue, 208);
LOCK_OFF(ph_core_api, user_get, 216);
LOCK_OFF(ph_core_api, user_set, 224);
LOCK_OFF(ph_core_api, storage_get, 232);
/* ABI 1.1: appended after the 1.0 table, which keeps its size. */
LOCK_OFF(ph_core_api, session_handoff, 240);
LOCK_SIZE(ph_core_api, 248);

LOCK_OFF(ph_conn_info, struct_size, 0);
LOCK_OFF(ph_conn_info, session_id, 8);
LOCK_OFF(ph_conn_info, listener, 16);
LOCK_OFF(ph_conn_info, peer_ip, 24);
LOCK_OFF(ph_conn_info, peer_port, 32);
LOCK_OFF(ph_conn_info, local_ip, 40);
LOCK_OFF(ph_conn_info, local_port, 48);
LOCK_OFF(ph_conn_info, tls, 52);
LOCK_OFF(ph_conn_info, tls_mode, 56);
LOCK_OFF(ph_conn_info, tls_version, 64);
LOCK_OFF(ph_conn_info, tls_cipher, 72);
LOCK_OFF(ph_conn_info, allow_plaintext, 80);
LOCK_SIZE(ph_conn_info, 88);

LOCK_OFF(ph_protocol_ops, struct_size, 0);
LOCK_OFF(ph_protocol_ops, conn_open, 8);
LOCK_OFF(ph_protocol_ops, conn_input, 16);
LOCK_OFF(ph_protocol_ops, conn_output_ready, 24);
LOCK_OFF(ph_protocol_ops, conn_goodbye, 32);
LOCK_OFF(ph_protocol_ops, conn_closed, 40);
LOCK_OFF(ph_protocol_ops, conn_resume, 48); /* ABI 1.1 */
LOCK_OFF(ph_protocol_ops, conn_handoff_failed, 56); /* ABI 1.2 */
LOCK_SIZE(ph_protocol_ops, 64);

LOCK_OFF(ph_auth_request, struct_size, 0);
LOCK_OFF(ph_auth_request, user, 8);
LOCK_OFF(ph_auth_request, password, 24);
LOCK_OFF(ph_auth_request, service, 40);
LOCK_OFF(ph_auth_request, remote_ip, 48);
LOCK_OFF(ph_auth_request, local_ip, 56);
LOCK_OFF(ph_auth_request, secured, 64);
LOCK_SIZE(ph_auth_request, 72);

LOCK_OFF(ph_auth_ops, struct_size, 0);
LOCK_OFF(ph_auth_ops, thread_safe, 4);
LOCK_OFF(ph_auth_ops, verify_plain, 8);
LOCK_OFF(ph_auth_ops, lookup, 16);
LOCK_OFF(ph_auth_ops, credential_schemes, 24);
LOCK_OFF(ph_auth_ops, lookup_credentials, 32);
LOCK_SIZE(ph_auth_ops, 40);

LOCK_OFF(ph_storage_ops, struct_size, 0);
LOCK_OFF(ph_storage_ops, user_open, 8);
LOCK_OFF(ph_storage_ops, mailbox_list, 32);
LOCK_OFF(ph_storage_ops, mailbox_open, 80);
LOCK_OFF(ph_storage_ops, message_count, 128);
LOCK_OFF(ph_storage_ops, cache_get, 168);
LOCK_OFF(ph_storage_ops, messages_store, 200);
LOCK_OFF(ph_storage_ops, append_begin, 232);
LOCK_OFF(ph_storage_ops, append_abort, 256);
LOCK_OFF(ph_storage_ops, append_commit_all, 264); /* ABI 1.2 */
LOCK_SIZE(ph_storage_ops, 272);

LOCK_OFF(ph_mailbox_status, struct_size, 0);
LOCK_OFF(ph_mailbox_status, messages, 4);
LOCK_OFF(ph_mailbox_status, uidvalidity, 20);
LOCK_OFF(ph_mailbox_status, highestmodseq, 32);
LOCK_OFF(ph_mailbox_status, size, 40);
LOCK_OFF(ph_mailbox_status, readonly, 48);
LOCK_OFF(ph_mailbox_status, keywords_creatable, 52);
LOCK_SIZE(ph_mailbox_status, 56);

LOCK_OFF(ph_message_info, struct_size, 0);
LOCK_OFF(ph_message_info, uid, 4);
LOCK_OFF(ph_message_info, flags, 8);
LOCK_OFF(ph_message_info, keywords, 16);
LOCK_OFF(ph_message_info, modseq, 24);
LOCK_OFF(ph_message_info, internal_date, 32);
LOCK_OFF(ph_message_info, internal_tz, 40);
LOCK_OFF(ph_message_info, size, 48);
LOCK_OFF(ph_message_info, physical_size, 56);
LOCK_OFF(ph_message_info, expunged, 64);
LOCK_OFF(ph_message_info, omit, 72); /* ABI 1.2, past the 1.0 padding */
LOCK_SIZE(ph_message_info, 80);

LOCK_OFF(ph_message_body, struct_size, 0);
LOCK_OFF(ph_message_body, fd, 4);
LOCK_OFF(ph_message_body, offset, 8);
LOCK_OFF(ph_message_body, length, 16);
LOCK_OFF(ph_message_body, crlf, 24);
LOCK_SIZE(ph_message_body, 32);
#endif

_Static_assert(PH_SESSION_STATE_MAX == 4096, "session state limit is ABI");

/* A 1.0 plugin's tables end where 1.1 appended: PH_HAS_FIELD must say no
 * for the new entries when given the 1.0 sizes, yes for the 1.1 ones. */
int main(void)
{
	struct ph_core_api api10 = {.struct_size = 240};
	struct ph_core_api api11 = {.struct_size = sizeof(struct ph_core_api)};
	struct ph_protocol_ops ops10 = {.struct_size = 48};
	struct ph_protocol_ops ops11 = {PH_PROTOCOL_OPS_INIT};
	struct ph_message_info info11 = {.struct_size = 72};
	struct ph_message_info info12 = PH_MESSAGE_INFO_INIT;

	if (PH_API_HAS(&api10, session_handoff) ||
	    !PH_API_HAS(&api10, storage_get) ||
	    !PH_API_HAS(&api11, session_handoff))
		return 1;
	if (PH_HAS_FIELD(&ops10, conn_resume) ||
	    !PH_HAS_FIELD(&ops11, conn_resume))
		return 1;
	if (PH_HAS_FIELD(&info11, omit) || !PH_HAS_FIELD(&info12, omit))
		return 1;
	return 0;
}
