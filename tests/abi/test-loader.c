/* The ABI check (ph__plugin_check) on descriptors in memory, and the
 * loader on real bad plugin files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/api.h"
#include "core/config.h"
#include "core/handoff.h"
#include "core/plugin-loader.h"
#include "core/plugins.h"
#include "cunit-main.h"

static int t_init(const struct ph_core_api *api, const ph_config *config,
		  void **state_r, const char **error_r)
{
	return PH_OK;
}
static int t_open(void *ps, ph_conn *conn, void **cs)
{
	return PH_OK;
}
static void t_input(void *cs)
{
}
static void t_closed(void *cs)
{
}

static const struct ph_protocol_ops t_ops = {
    PH_PROTOCOL_OPS_INIT,
    .conn_open = t_open,
    .conn_input = t_input,
    .conn_closed = t_closed,
};

static struct ph_plugin good(void)
{
	struct ph_plugin p = {
	    PH_PLUGIN_INIT, .kind = PH_PLUGIN_PROTOCOL,
	    .name = "t",    .init = t_init,
	    .ops = &t_ops,
	};
	return p;
}

static char err[512];

static int check(const struct ph_plugin *p)
{
	err[0] = '\0';
	return ph__plugin_check(p, "t", PH_PLUGIN_PROTOCOL, err, sizeof(err));
}

static void test_check_good(void)
{
	struct ph_plugin p = good();

	CU_ASSERT_EQUAL(check(&p), PH_OK);
}

/* "ABI M.N" as the loader writes it. */
static const char *abi_str(int major, int minor)
{
	static char buf[4][32];
	static unsigned next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "ABI %d.%d", major, minor);
	return b;
}
#define CORE_ABI abi_str(PH_ABI_MAJOR, PH_ABI_MINOR)

static void test_check_major(void)
{
	struct ph_plugin p = good();

	p.abi_major = 2;
	CU_ASSERT_EQUAL(check(&p), PH_EABI);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, abi_str(2, PH_ABI_MINOR)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, CORE_ABI));
	p.abi_major = 0;
	CU_ASSERT_EQUAL(check(&p), PH_EABI);
}

static void test_check_minor(void)
{
	struct ph_plugin p = good();

	p.abi_minor = PH_ABI_MINOR + 1;
	CU_ASSERT_EQUAL(check(&p), PH_EABI);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, abi_str(1, PH_ABI_MINOR + 1)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, CORE_ABI));
}

static void test_check_size(void)
{
	struct ph_plugin p = good();

	p.struct_size = 4;
	CU_ASSERT_EQUAL(check(&p), PH_EINVAL);
	p.struct_size = offsetof(struct ph_plugin, ops);
	CU_ASSERT_EQUAL(check(&p), PH_EINVAL);
	/* A bigger descriptor (newer field we don't know) with an older
	 * minor is fine. */
	p.struct_size = sizeof(p) + 8;
	CU_ASSERT_EQUAL(check(&p), PH_OK);
}

static void test_check_kind_name(void)
{
	struct ph_plugin p = good();

	p.kind = PH_PLUGIN_STORAGE;
	CU_ASSERT_EQUAL(check(&p), PH_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "storage"));
	p = good();
	p.name = "other";
	CU_ASSERT_EQUAL(check(&p), PH_EINVAL);
	p.name = NULL;
	CU_ASSERT_EQUAL(check(&p), PH_EINVAL);
	CU_ASSERT_EQUAL(
	    ph__plugin_check(NULL, "t", PH_PLUGIN_PROTOCOL, err, sizeof(err)),
	    PH_EINVAL);
}

static void test_check_ops(void)
{
	struct ph_plugin p = good();
	struct ph_protocol_ops small = t_ops, partial = t_ops;

	p.init = NULL;
	CU_ASSERT_EQUAL(check(&p), PH_EINVAL);
	p = good();
	p.ops = NULL;
	CU_ASSERT_EQUAL(check(&p), PH_EINVAL);
	small.struct_size = 8;
	p.ops = &small;
	CU_ASSERT_EQUAL(check(&p), PH_EINVAL);
	partial.conn_input = NULL;
	p.ops = &partial;
	CU_ASSERT_EQUAL(check(&p), PH_EINVAL);
}

static char *load_error(const char *dir, const char *name)
{
	char *e = NULL;
	struct ph__plugin *p =
	    ph__plugin_load(dir, name, PH_PLUGIN_PROTOCOL, &e);

	CU_ASSERT_PTR_NULL(p);
	ph__plugin_unload(&p);
	CU_ASSERT_PTR_NOT_NULL(e);
	if (e != NULL)
		printf("\n    refused: %s", e);
	return e;
}

static void test_load_good(void)
{
	char *e = NULL;
	struct ph__plugin *p = ph__plugin_load(PH_ABI_PLUGIN_DIR, "abi-good",
					       PH_PLUGIN_PROTOCOL, &e);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NULL(e);
	CU_ASSERT_EQUAL(ph__plugin_init(p, ph__api(), NULL, &e), PH_OK);
	CU_ASSERT(p->initialised);
	ph__plugin_unload(&p);
	CU_ASSERT_PTR_NULL(p);
}

/* A plugin built against ABI 1.0 (its ops table ends before
 * conn_resume) keeps loading in a 1.2 core, and the core sees that it
 * cannot resume sessions. */
static void test_load_v10(void)
{
	char *e = NULL;
	struct ph__plugin *p = ph__plugin_load(PH_ABI_PLUGIN_DIR, "abi-v10",
					       PH_PLUGIN_PROTOCOL, &e);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NULL(e);
	CU_ASSERT_EQUAL(p->desc->abi_minor, 0);
	CU_ASSERT_FALSE(ph__protocol_can_resume(p->desc->ops));
	CU_ASSERT_EQUAL(ph__plugin_init(p, ph__api(), NULL, &e), PH_OK);
	ph__plugin_unload(&p);
	p = ph__plugin_load(PH_ABI_PLUGIN_DIR, "abi-good", PH_PLUGIN_PROTOCOL,
			    &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_TRUE(ph__protocol_can_resume(p->desc->ops));
	CU_ASSERT_TRUE(ph__protocol_can_answer_failure(p->desc->ops));
	ph__plugin_unload(&p);
}

/* A plugin built against ABI 1.1 (its ops table ends before
 * conn_handoff_failed) keeps loading in a 1.2 core: it resumes sessions,
 * and the core knows it cannot ask it to answer a failed one. */
static void test_load_v11(void)
{
	char *e = NULL;
	struct ph__plugin *p = ph__plugin_load(PH_ABI_PLUGIN_DIR, "abi-v11",
					       PH_PLUGIN_PROTOCOL, &e);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NULL(e);
	CU_ASSERT_EQUAL(p->desc->abi_minor, 1);
	CU_ASSERT_TRUE(ph__protocol_can_resume(p->desc->ops));
	CU_ASSERT_FALSE(ph__protocol_can_answer_failure(p->desc->ops));
	CU_ASSERT_EQUAL(ph__plugin_init(p, ph__api(), NULL, &e), PH_OK);
	ph__plugin_unload(&p);
}

static void test_load_major(void)
{
	char *e = load_error(PH_ABI_PLUGIN_DIR, "abi-bad-major");

	CU_ASSERT_PTR_NOT_NULL(e != NULL ? strstr(e, abi_str(2, PH_ABI_MINOR))
					 : NULL);
	CU_ASSERT_PTR_NOT_NULL(e != NULL ? strstr(e, CORE_ABI) : NULL);
	free(e);
}

static void test_load_minor(void)
{
	char *e = load_error(PH_ABI_PLUGIN_DIR, "abi-bad-minor");

	CU_ASSERT_PTR_NOT_NULL(
	    e != NULL ? strstr(e, abi_str(1, PH_ABI_MINOR + 3)) : NULL);
	CU_ASSERT_PTR_NOT_NULL(e != NULL ? strstr(e, CORE_ABI) : NULL);
	free(e);
}

static void test_load_nosym(void)
{
	char *e = load_error(PH_ABI_PLUGIN_DIR, "abi-bad-nosym");

	CU_ASSERT_PTR_NOT_NULL(
	    e != NULL ? strstr(e, "does not export 'posthorn_plugin'") : NULL);
	free(e);
}

static void test_load_wrong_name(void)
{
	char *e = load_error(PH_ABI_PLUGIN_DIR, "abi-bad-name");

	CU_ASSERT_PTR_NOT_NULL(e != NULL ? strstr(e, "declares the name "
						     "'abi-good'")
					 : NULL);
	free(e);
}

static void test_load_missing(void)
{
	char *e = load_error(PH_ABI_PLUGIN_DIR, "abi-nonexistent");

	free(e);
	e = load_error(PH_ABI_PLUGIN_DIR, "../abi-good");
	CU_ASSERT_PTR_NOT_NULL(e != NULL ? strstr(e, "bad plugin name") : NULL);
	free(e);
}

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char buf[8192];
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
}

static void test_load_world_writable(void)
{
	char dir[] = "/tmp/ph-abi-XXXXXX", path[256], *e = NULL;
	struct ph__plugin *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/abi-good.so", dir);
	copy_file(PH_ABI_PLUGIN_DIR "/abi-good.so", path);
	chmod(path, 0755);
	p = ph__plugin_load(dir, "abi-good", PH_PLUGIN_PROTOCOL, &e);
	CU_ASSERT_PTR_NOT_NULL(p); /* the copy itself is fine */
	ph__plugin_unload(&p);
	free(e);
	chmod(path, 0666);
	e = load_error(dir, "abi-good");
	CU_ASSERT_PTR_NOT_NULL(e != NULL ? strstr(e, "world-writable") : NULL);
	free(e);
	unlink(path);
	rmdir(dir);
}

/* A plugin file replaced on disk while the old one is loaded (upgrade,
 * then SIGHUP): the new load maps the new file; an unchanged file gives
 * the loaded object again. */
static void test_reload_replaced_file(void)
{
	char dir[] = "/tmp/ph-abi-XXXXXX", path[256], *e = NULL;
	struct ph__plugin *a, *b, *c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/abi-good.so", dir);
	copy_file(PH_ABI_PLUGIN_DIR "/abi-good.so", path);
	chmod(path, 0755);
	a = ph__plugin_load(dir, "abi-good", PH_PLUGIN_PROTOCOL, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_STRING_EQUAL(a->desc->version, "1");
	b = ph__plugin_load(dir, "abi-good", PH_PLUGIN_PROTOCOL, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_EQUAL(a->desc, b->desc);
	/* Replace the file the way installers do: new inode, rename. */
	char tmp[300];

	snprintf(tmp, sizeof(tmp), "%s/new.so", dir);
	copy_file(PH_ABI_PLUGIN_DIR "/abi-v2.so", tmp);
	chmod(tmp, 0755);
	CU_ASSERT_EQUAL(rename(tmp, path), 0);
	c = ph__plugin_load(dir, "abi-good", PH_PLUGIN_PROTOCOL, &e);
	if (c == NULL)
		printf("\n    error: %s", e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->desc->version, "2");
	CU_ASSERT_STRING_EQUAL(a->desc->version, "1");
	ph__plugin_unload(&a);
	ph__plugin_unload(&b);
	ph__plugin_unload(&c);
	unlink(path);
	rmdir(dir);
}

static void test_duplicate_name(void)
{
	char path[] = "/tmp/ph-abi-cfg-XXXXXX", *e = NULL;
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct ph__plugin_set set = {0};
	struct ph__config *cfg;

	fprintf(f, "[core]\nplugin_dir = %s\n", PH_ABI_PLUGIN_DIR);
	fclose(f);
	cfg = ph__config_load(path, &e);
	unlink(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(
	    ph__plugin_set_add(&set, cfg, "abi-good", PH_PLUGIN_PROTOCOL, &e),
	    PH_OK);
	CU_ASSERT_EQUAL(
	    ph__plugin_set_add(&set, cfg, "abi-good", PH_PLUGIN_PROTOCOL, &e),
	    PH_EEXISTS);
	CU_ASSERT_PTR_NOT_NULL(e != NULL ? strstr(e, "already loaded") : NULL);
	if (e != NULL)
		printf("\n    refused: %s", e);
	free(e);
	CU_ASSERT_EQUAL(set.count, 1);
	ph__plugin_set_clear(&set);
	ph__config_free(&cfg);
}

static CU_TestInfo tests[] = {
    {"check: good descriptor", test_check_good},
    {"check: other major", test_check_major},
    {"check: newer minor", test_check_minor},
    {"check: struct_size", test_check_size},
    {"check: kind and name", test_check_kind_name},
    {"check: init and ops", test_check_ops},
    {"load: good plugin", test_load_good},
    {"load: ABI 1.0 plugin in a 1.2 core", test_load_v10},
    {"load: ABI 1.1 plugin in a 1.2 core", test_load_v11},
    {"load: wrong major", test_load_major},
    {"load: newer minor", test_load_minor},
    {"load: missing symbol", test_load_nosym},
    {"load: name differs from file", test_load_wrong_name},
    {"load: missing file, bad name", test_load_missing},
    {"load: world-writable file", test_load_world_writable},
    {"load: duplicate name", test_duplicate_name},
    {"load: file replaced while loaded", test_reload_replaced_file},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"abi", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

PH_CUNIT_MAIN(suites)
