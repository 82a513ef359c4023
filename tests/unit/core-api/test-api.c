/* The core API table outside a worker: versions, strerror, loop entries,
 * config lookups, storage_get, user records, connection entries given no
 * connection. */
#include <string.h>
#include <unistd.h>

#include "core/api.h"
#include "cunit-main.h"

static const struct ph_core_api *api;

static void test_header(void)
{
	api = ph__api();
	CU_ASSERT_EQUAL(api->struct_size, sizeof(struct ph_core_api));
	CU_ASSERT_EQUAL(api->abi_major, PH_ABI_MAJOR);
	CU_ASSERT_EQUAL(api->abi_minor, PH_ABI_MINOR);
	CU_ASSERT_PTR_NOT_NULL(api->core_version);
	CU_ASSERT(PH_API_HAS(api, storage_get));
	/* Every entry is filled. */
	for (size_t off = offsetof(struct ph_core_api, log);
	     off < sizeof(struct ph_core_api); off += sizeof(void *))
		CU_ASSERT_PTR_NOT_NULL(
		    *(void *const *)((const char *)api + off));
}

static void test_strerror(void)
{
	for (int code = PH_OK; code >= PH_EINTERNAL; code--) {
		const char *s = api->strerror(code);

		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT(strlen(s) > 0);
	}
	CU_ASSERT_STRING_EQUAL(api->strerror(PH_ENOTFOUND), "not found");
	CU_ASSERT_PTR_NOT_NULL(api->strerror(-9999));
}

static int fired, io_fired;

static void on_timer(void *ctx)
{
	fired++;
	if (fired == 3)
		ev_break(ph__api_loop(), EVBREAK_ALL);
}

static void on_io(void *ctx, int fd, int revents)
{
	char c;

	io_fired = revents;
	CU_ASSERT_EQUAL(read(fd, &c, 1), 1);
	ev_break(ph__api_loop(), EVBREAK_ALL);
}

static void test_loop(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	ph_timer *t;
	ph_io *io;
	int fds[2];

	CU_ASSERT_PTR_NULL(api->timer_add(1, 0, on_timer, NULL)); /* no loop */
	ph__api_set_loop(loop);
	t = api->timer_add(0.01, 1, on_timer, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	ev_run(loop, 0);
	CU_ASSERT_EQUAL(fired, 3);
	api->timer_remove(&t);
	CU_ASSERT_PTR_NULL(t);
	api->timer_remove(&t); /* NULL is a no-op */

	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	io = api->io_add(fds[0], PH_IO_READ, on_io, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(io);
	CU_ASSERT_EQUAL(write(fds[1], "x", 1), 1);
	ev_run(loop, 0);
	CU_ASSERT_EQUAL(io_fired, PH_IO_READ);
	api->io_remove(&io);
	CU_ASSERT_PTR_NULL(io);
	CU_ASSERT_PTR_NULL(api->io_add(-1, PH_IO_READ, on_io, NULL));
	CU_ASSERT_PTR_NULL(api->io_add(fds[0], 0, on_io, NULL));
	close(fds[0]);
	close(fds[1]);
	ph__api_set_loop(NULL);
	ev_loop_destroy(loop);
}

static void test_storage_get(void)
{
	const struct ph_storage_ops *ops = (void *)1;
	static const struct ph_storage_ops fake = {PH_STORAGE_OPS_INIT};
	void *state = (void *)1;
	int x;

	CU_ASSERT_EQUAL(api->storage_get(&ops, &state), PH_ENOTFOUND);
	CU_ASSERT_PTR_NULL(ops);
	ph__api_set_storage(&fake, &x);
	CU_ASSERT_EQUAL(api->storage_get(&ops, &state), PH_OK);
	CU_ASSERT_PTR_EQUAL(ops, &fake);
	CU_ASSERT_PTR_EQUAL(state, &x);
	ph__api_set_storage(NULL, NULL);
}

static void test_config_null(void)
{
	uint64_t v = 7;

	CU_ASSERT_PTR_NULL(api->config_get(NULL, "x"));
	CU_ASSERT_EQUAL(api->config_get_uint(NULL, "x", &v), PH_ENOTFOUND);
	CU_ASSERT_EQUAL(v, 0);
}

static void test_conn_entries_without_conn(void)
{
	struct ph_str s;
	struct ph_conn_info info = PH_CONN_INFO_INIT;

	CU_ASSERT_EQUAL(api->conn_read_line(NULL, 10, &s), PH_EINVAL);
	CU_ASSERT_EQUAL(api->conn_write(NULL, "x", 1), PH_EINVAL);
	CU_ASSERT_EQUAL(api->conn_info(NULL, &info), PH_EINVAL);
	CU_ASSERT_EQUAL(api->conn_starttls(NULL), PH_EINVAL);
	CU_ASSERT_PTR_NULL(api->conn_config(NULL));
	CU_ASSERT_EQUAL(api->conn_output_pending(NULL), 0);
	api->conn_close(NULL);
	api->conn_set_idle_timeout(NULL, 5);
	CU_ASSERT_STRING_EQUAL(api->sasl_mechanisms(NULL), "");
}

static void test_log_prefix(void)
{
	const char *prev = ph__api_set_current("myplugin");

	CU_ASSERT_STRING_EQUAL(ph__api_current(), "myplugin");
	api->log(PH_LOG_DEBUG, "not shown at the default level %d", 1);
	CU_ASSERT_STRING_EQUAL(ph__api_set_current(prev), "myplugin");
	CU_ASSERT_PTR_EQUAL(ph__api_current(), prev);
}

static CU_TestInfo tests[] = {
    {"table header", test_header},
    {"strerror", test_strerror},
    {"timers and io", test_loop},
    {"storage_get", test_storage_get},
    {"config lookups with NULL", test_config_null},
    {"connection entries without a connection", test_conn_entries_without_conn},
    {"current plugin for log prefixes", test_log_prefix},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"api", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

PH_CUNIT_MAIN(suites)
