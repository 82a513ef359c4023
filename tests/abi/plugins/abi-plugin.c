/* One source, several deliberately good or bad descriptors selected at
 * build time (see tests/abi/CMakeLists.txt):
 *   ABI_GOOD        a valid protocol plugin named ABI_NAME
 *   ABI_MAJOR_OFF   built for ABI major + 1
 *   ABI_MINOR_OFF   built for a minor newer than the core's
 *   ABI_NO_SYMBOL   exports no posthorn_plugin at all
 *   ABI_WRONG_NAME  declares a name other than its file name
 *   ABI_VERSION2    abi-good with version "2" (an upgraded file)
 *   ABI_V10         built as an ABI 1.0 plugin: minor 0, an ops table
 *                   that ends before the 1.1 conn_resume
 *   ABI_V11         built as an ABI 1.1 plugin: minor 1, an ops table
 *                   that ends before the 1.2 conn_handoff_failed */
#include <posthorn/posthorn.h>

static int abi_init(const struct ph_core_api *api, const ph_config *config,
		    void **state_r, const char **error_r)
{
	*state_r = NULL;
	return PH_OK;
}

static int abi_open(void *ps, ph_conn *conn, void **cs)
{
	return PH_EINVAL;
}

static void abi_input(void *cs)
{
}

static void abi_closed(void *cs)
{
}

#if !defined(ABI_V10) && !defined(ABI_V11)
static void abi_handoff_failed(void *ps, ph_conn *conn, const void *state,
			       size_t len)
{
}
#endif

#ifndef ABI_V10
static int abi_resume(void *ps, ph_conn *conn, const ph_user *user,
		      const void *state, size_t len, void **cs)
{
	return PH_EINVAL;
}
#endif

static const struct ph_protocol_ops abi_ops = {
#if defined(ABI_V10)
    .struct_size = 48, /* sizeof(struct ph_protocol_ops) in ABI 1.0 */
#elif defined(ABI_V11)
    .struct_size = 56, /* sizeof(struct ph_protocol_ops) in ABI 1.1 */
    .conn_resume = abi_resume,
#else
    PH_PROTOCOL_OPS_INIT,
    .conn_resume = abi_resume,
    .conn_handoff_failed = abi_handoff_failed,
#endif
    .conn_open = abi_open,
    .conn_input = abi_input,
    .conn_closed = abi_closed,
};

#ifdef ABI_NO_SYMBOL
PH_EXPORT const struct ph_plugin posthorn_plugin_typo = {
#else
PH_EXPORT const struct ph_plugin posthorn_plugin = {
#endif
    PH_PLUGIN_INIT,
#ifdef ABI_MAJOR_OFF
    .abi_major = PH_ABI_MAJOR + 1,
#endif
#ifdef ABI_V10
    .abi_minor = 0,
#endif
#ifdef ABI_V11
    .abi_minor = 1,
#endif
#ifdef ABI_MINOR_OFF
    .abi_minor = PH_ABI_MINOR + 3,
#endif
    .kind = PH_PLUGIN_PROTOCOL,
#if defined(ABI_WRONG_NAME) || defined(ABI_VERSION2)
    .name = "abi-good",
#else
    .name = ABI_NAME,
#endif
#ifdef ABI_VERSION2
    .version = "2",
#else
    .version = "1",
#endif
    .init = abi_init,
    .ops = &abi_ops,
};
