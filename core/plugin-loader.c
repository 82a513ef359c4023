/* core/plugin-loader.c - dlopen(), the ABI check, init/fini. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "log.h"
#include "plugin-loader.h"

static const char *kind_name(enum ph_plugin_kind kind)
{
	switch (kind) {
	case PH_PLUGIN_PROTOCOL:
		return "protocol";
	case PH_PLUGIN_STORAGE:
		return "storage";
	case PH_PLUGIN_AUTH:
		return "auth";
	}
	return "unknown";
}

/* Size of the kind's ops table in ABI 1.0: a plugin's table may be larger
 * (newer minor of ours), never smaller. */
static size_t ops_min_size(enum ph_plugin_kind kind)
{
	switch (kind) {
	case PH_PLUGIN_PROTOCOL:
		/* 1.1 appended conn_resume; readers check struct_size. */
		return offsetof(struct ph_protocol_ops, conn_resume);
	case PH_PLUGIN_STORAGE:
		return sizeof(struct ph_storage_ops);
	case PH_PLUGIN_AUTH:
		return sizeof(struct ph_auth_ops);
	}
	return 0;
}

int ph__plugin_check(const struct ph_plugin *desc, const char *name,
		     enum ph_plugin_kind kind, char *err, size_t err_size)
{
	const char *what = name != NULL ? name : "?";

	if (desc == NULL) {
		snprintf(err, err_size, "plugin '%s': no descriptor", what);
		return PH_EINVAL;
	}
	if (desc->struct_size < offsetof(struct ph_plugin, kind)) {
		snprintf(err, err_size,
			 "plugin '%s': descriptor of %u bytes is too small to "
			 "hold an ABI version",
			 what, (unsigned)desc->struct_size);
		return PH_EINVAL;
	}
	if (desc->abi_major != PH_ABI_MAJOR) {
		snprintf(err, err_size,
			 "plugin '%s' was built for ABI %u.%u but this core "
			 "provides ABI %d.%d (the major version must match)",
			 what, desc->abi_major, desc->abi_minor, PH_ABI_MAJOR,
			 PH_ABI_MINOR);
		return PH_EABI;
	}
	if (desc->abi_minor > PH_ABI_MINOR) {
		snprintf(err, err_size,
			 "plugin '%s' was built for ABI %u.%u, newer than this "
			 "core's ABI %d.%d (upgrade posthornd)",
			 what, desc->abi_major, desc->abi_minor, PH_ABI_MAJOR,
			 PH_ABI_MINOR);
		return PH_EABI;
	}
	if (desc->struct_size < sizeof(struct ph_plugin)) {
		snprintf(err, err_size,
			 "plugin '%s' (ABI %u.%u): descriptor of %u bytes is "
			 "smaller than ABI %d.%d's %zu",
			 what, desc->abi_major, desc->abi_minor,
			 (unsigned)desc->struct_size, PH_ABI_MAJOR,
			 PH_ABI_MINOR, sizeof(struct ph_plugin));
		return PH_EINVAL;
	}
	if (desc->kind != kind) {
		snprintf(err, err_size,
			 "plugin '%s' is a %s plugin, expected a %s plugin",
			 what, kind_name(desc->kind), kind_name(kind));
		return PH_EINVAL;
	}
	if (desc->name == NULL || name == NULL ||
	    strcmp(desc->name, name) != 0) {
		snprintf(err, err_size,
			 "plugin file '%s' declares the name '%s' (names must "
			 "equal file names)",
			 what, desc->name != NULL ? desc->name : "(null)");
		return PH_EINVAL;
	}
	if (desc->init == NULL || desc->ops == NULL) {
		snprintf(err, err_size, "plugin '%s': descriptor lacks %s",
			 what, desc->init == NULL ? "init" : "ops");
		return PH_EINVAL;
	}
	if (*(const uint32_t *)desc->ops < ops_min_size(kind)) {
		snprintf(err, err_size,
			 "plugin '%s' (ABI %u.%u): %s ops table of %u bytes "
			 "is smaller than ABI %d.%d's %zu",
			 what, desc->abi_major, desc->abi_minor,
			 kind_name(kind), *(const uint32_t *)desc->ops,
			 PH_ABI_MAJOR, PH_ABI_MINOR, ops_min_size(kind));
		return PH_EINVAL;
	}
	if (kind == PH_PLUGIN_PROTOCOL) {
		const struct ph_protocol_ops *ops = desc->ops;

		if (ops->conn_open == NULL || ops->conn_input == NULL ||
		    ops->conn_closed == NULL) {
			snprintf(err, err_size,
				 "plugin '%s': protocol ops need conn_open, "
				 "conn_input and conn_closed",
				 what);
			return PH_EINVAL;
		}
	}
	return PH_OK;
}

static int name_is_safe(const char *name)
{
	if (name[0] == '\0' || name[0] == '.' || name[0] == '-')
		return 0;
	for (const char *p = name; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		      *p == '.'))
			return 0;
	}
	return 1;
}

static char *fmt_error(const char *fmt, ...) PH_PRINTF(1, 2);
static char *fmt_error(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* The file each handle was loaded from: the dynamic linker hands back an
 * already loaded object for a known path, even when the file was replaced
 * since (a plugin upgrade followed by SIGHUP). */
struct loaded_file {
	void *dl;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	unsigned refs;
};

static struct loaded_file loaded_files[64];

static struct loaded_file *loaded_find(void *dl)
{
	for (size_t i = 0; i < sizeof(loaded_files) / sizeof(*loaded_files);
	     i++) {
		if (loaded_files[i].dl == dl && dl != NULL)
			return &loaded_files[i];
	}
	return NULL;
}

static void loaded_note(void *dl, const struct stat *st)
{
	struct loaded_file *f = loaded_find(dl);

	for (size_t i = 0;
	     f == NULL && i < sizeof(loaded_files) / sizeof(*loaded_files);
	     i++) {
		if (loaded_files[i].dl == NULL)
			f = &loaded_files[i];
	}
	if (f == NULL)
		return;
	if (f->dl != dl) {
		f->dl = dl;
		f->dev = st->st_dev;
		f->ino = st->st_ino;
		f->mtime = st->st_mtim;
		f->refs = 0;
	}
	f->refs++;
}

static void loaded_forget(void *dl)
{
	struct loaded_file *f = loaded_find(dl);

	if (f != NULL && --f->refs == 0)
		memset(f, 0, sizeof(*f));
}

/* dlopen()s `path`; when an older version of the file is still loaded
 * under that name, loads the new file through a uniquely named symlink
 * so it is mapped afresh. */
static void *plugin_dlopen(const char *path, const struct stat *st)
{
	void *old = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
	struct loaded_file *f = old != NULL ? loaded_find(old) : NULL;
	char dir[] = "/tmp/posthorn-plugin-XXXXXX", alias[512];
	void *dl;

	if (old != NULL)
		dlclose(old); /* drop the NOLOAD reference */
	if (old == NULL || f == NULL ||
	    (f->dev == st->st_dev && f->ino == st->st_ino &&
	     f->mtime.tv_sec == st->st_mtim.tv_sec &&
	     f->mtime.tv_nsec == st->st_mtim.tv_nsec)) {
		dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	} else {
		char *real = realpath(path, NULL);

		if (real == NULL || mkdtemp(dir) == NULL) {
			free(real);
			return dlopen(path, RTLD_NOW | RTLD_LOCAL);
		}
		snprintf(alias, sizeof(alias), "%s/%s", dir,
			 strrchr(real, '/') + 1);
		dl = symlink(real, alias) == 0
			 ? dlopen(alias, RTLD_NOW | RTLD_LOCAL)
			 : dlopen(path, RTLD_NOW | RTLD_LOCAL);
		unlink(alias);
		rmdir(dir);
		free(real);
	}
	if (dl != NULL)
		loaded_note(dl, st);
	return dl;
}

struct ph__plugin *ph__plugin_load(const char *dir, const char *name,
				   enum ph_plugin_kind kind, char **error_r)
{
	struct ph__plugin *p;
	struct stat st;
	char err[512];

	*error_r = NULL;
	if (!name_is_safe(name)) {
		*error_r = fmt_error("bad plugin name '%s'", name);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL || asprintf(&p->path, "%s/%s.so", dir, name) < 0 ||
	    (p->name = strdup(name)) == NULL) {
		if (p != NULL)
			free(p->path);
		free(p);
		*error_r = strdup("out of memory");
		return NULL;
	}
	if (stat(p->path, &st) < 0) {
		*error_r =
		    fmt_error("cannot load %s plugin '%s': %s: %s",
			      kind_name(kind), name, p->path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_r = fmt_error("refusing plugin %s: not a regular file",
				     p->path);
		goto fail;
	}
	if ((st.st_mode & S_IWOTH) != 0) {
		*error_r = fmt_error("refusing plugin %s: the file is "
				     "world-writable (mode %03o)",
				     p->path, (unsigned)(st.st_mode & 0777));
		goto fail;
	}
	p->dl = plugin_dlopen(p->path, &st);
	if (p->dl == NULL) {
		*error_r =
		    fmt_error("cannot load plugin %s: %s", p->path, dlerror());
		goto fail;
	}
	p->desc = dlsym(p->dl, PH_PLUGIN_SYMBOL);
	if (p->desc == NULL) {
		*error_r = fmt_error("refusing plugin %s: it does not export "
				     "'%s' (core ABI %d.%d)",
				     p->path, PH_PLUGIN_SYMBOL, PH_ABI_MAJOR,
				     PH_ABI_MINOR);
		goto fail;
	}
	if (ph__plugin_check(p->desc, name, kind, err, sizeof(err)) < 0) {
		*error_r = fmt_error("refusing plugin %s: %s", p->path, err);
		goto fail;
	}
	return p;
fail:
	if (*error_r == NULL)
		*error_r = strdup("out of memory");
	ph__plugin_unload(&p);
	return NULL;
}

int ph__plugin_init(struct ph__plugin *p, const struct ph_core_api *api,
		    const ph_config *section, char **error_r)
{
	const char *err = NULL, *prev;
	int ret;

	*error_r = NULL;
	prev = ph__api_set_current(p->name);
	ret = p->desc->init(api, section, &p->state, &err);
	ph__api_set_current(prev);
	if (ret < 0) {
		*error_r =
		    fmt_error("plugin '%s' failed to initialise: %s", p->name,
			      err != NULL ? err : ph__strerror(ret));
		return ret;
	}
	p->initialised = 1;
	return PH_OK;
}

void ph__plugin_unload(struct ph__plugin **pp)
{
	struct ph__plugin *p = *pp;

	if (p == NULL)
		return;
	*pp = NULL;
	if (p->initialised && p->desc != NULL && p->desc->fini != NULL) {
		const char *prev = ph__api_set_current(p->name);

		p->desc->fini(p->state);
		ph__api_set_current(prev);
	}
	if (p->dl != NULL) {
		loaded_forget(p->dl);
		dlclose(p->dl);
	}
	free(p->name);
	free(p->path);
	free(p);
}
