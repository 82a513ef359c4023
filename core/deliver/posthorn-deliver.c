/* posthorn-deliver - local delivery: reads one message on stdin and
 * stores it in a user's INBOX (or -m FOLDER) through the storage plugin
 * the configuration names, exiting 0 only once the message is durable
 * (the storage fsyncs the file and cur/ before append_commit returns,
 * unless its `fsync` setting is off).
 *
 *   posthorn-deliver [-c CONFIG] [-m FOLDER] [-d MAILDIR] USER
 *
 * The user record comes from the [auth] chain's lookup(), run in-process
 * (PH_EUNKNOWN falls through to the next plugin); -d MAILDIR skips the
 * lookup and delivers into that Maildir. Run as root, it switches to the
 * record's uid/gid before touching mail. Exit codes follow sysexits.h,
 * the contract with MTAs: 0 delivered, 64 usage, 67 unknown user, 75
 * temporary failure (retry later), 78 configuration, 70 internal. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <posthorn/posthorn.h>
#include "api.h"
#include "config.h"
#include "log.h"
#include "plugins.h"
#include "user.h"

#define DEFAULT_CONFIG "/etc/posthorn/posthorn.ini"
#define DELIVER_CHUNK  65536

struct deliver {
	const char *config_path;
	const char *folder;
	const char *maildir;
	const char *user_name;
	struct ph__config *cfg;
	struct ph__plugin_set plugins;
	ph_user *user;
	const struct ph_storage_ops *ops;
	void *storage;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: posthorn-deliver [-c FILE] [-m FOLDER] [-d MAILDIR] "
		"USER < message\n"
		"  -c FILE     configuration (default " DEFAULT_CONFIG ")\n"
		"  -m FOLDER   deliver into FOLDER (INBOX when it does not "
		"exist)\n"
		"  -d MAILDIR  deliver into this Maildir, no user lookup\n");
}

/* PH_* code of a storage or auth failure -> sysexits code. */
static int exit_code(int ret)
{
	switch (ret) {
	case PH_OK:
		return EX_OK;
	case PH_EUNKNOWN:
	case PH_ENOTFOUND:
		return EX_NOUSER;
	case PH_EINVAL:
	case PH_EPERM:
		return EX_NOPERM;
	case PH_EINTERNAL:
	case PH_EABI:
		return EX_SOFTWARE;
	default: /* ETEMP, EIO, ENOMEM, ENOQUOTA, EINUSE...: retry later */
		return EX_TEMPFAIL;
	}
}

static int deliver_load(struct deliver *d)
{
	char *error = NULL;
	int ret;

	d->cfg = ph__config_load(d->config_path, &error);
	if (d->cfg == NULL) {
		ph__log_error("%s", error ? error : "cannot load the config");
		free(error);
		return EX_CONFIG;
	}
	ph__log_init("stderr", d->cfg->log_level, "deliver");
	if (d->cfg->storage_plugin == NULL) {
		ph__log_error("%s: no [storage] plugin configured",
			      d->config_path);
		return EX_CONFIG;
	}
	ret = ph__plugin_set_add(&d->plugins, d->cfg, d->cfg->storage_plugin,
				 PH_PLUGIN_STORAGE, &error);
	for (size_t i = 0; ret == PH_OK && d->maildir == NULL &&
			   i < d->cfg->auth_plugin_count;
	     i++)
		ret = ph__plugin_set_add(&d->plugins, d->cfg,
					 d->cfg->auth_plugins[i],
					 PH_PLUGIN_AUTH, &error);
	if (ret == PH_OK && d->maildir == NULL)
		ret = ph__plugin_set_init(&d->plugins, PH_PLUGIN_AUTH, d->cfg,
					  &error);
	if (ret < 0) {
		ph__log_error("%s", error ? error : "cannot load plugins");
		free(error);
		return EX_CONFIG;
	}
	return EX_OK;
}

/* Fills d->user from the auth chain (or -d). */
static int deliver_lookup(struct deliver *d)
{
	struct ph_auth_request req = PH_AUTH_REQUEST_INIT;

	if ((d->user = ph__user_create()) == NULL)
		return EX_TEMPFAIL;
	if (d->maildir != NULL) {
		if (ph__user_set(d->user, "user", d->user_name) < 0 ||
		    ph__user_set(d->user, "mail", d->maildir) < 0)
			return EX_USAGE;
		return EX_OK;
	}
	req.user.data = d->user_name;
	req.user.len = strlen(d->user_name);
	req.service = "deliver";
	req.remote_ip = "";
	req.local_ip = "";
	for (size_t i = 0; i < d->plugins.count; i++) {
		struct ph__plugin *p = d->plugins.items[i];
		const struct ph_auth_ops *ops = p->desc->ops;
		const char *error = NULL;
		int ret;

		if (p->desc->kind != PH_PLUGIN_AUTH || ops->lookup == NULL)
			continue;
		ph__api_set_current(p->name);
		ret = ops->lookup(p->state, &req, d->user, &error);
		ph__api_set_current(NULL);
		if (ret == PH_EUNKNOWN)
			continue;
		if (ret < 0) {
			ph__log_error("lookup of %s in %s failed: %s",
				      d->user_name, p->name,
				      error ? error : "temporary failure");
			return EX_TEMPFAIL;
		}
		if (ph__user_get(d->user, "user") == NULL)
			ph__user_set(d->user, "user", d->user_name);
		return EX_OK;
	}
	ph__log_error("unknown user %s", d->user_name);
	return EX_NOUSER;
}

/* As root, become the record's uid/gid before touching mail. */
static int deliver_drop_privileges(struct deliver *d)
{
	const char *uid_s = ph__user_get(d->user, "uid");
	const char *gid_s = ph__user_get(d->user, "gid");
	char *end;
	long uid, gid;

	if (geteuid() != 0 || uid_s == NULL || *uid_s == '\0')
		return EX_OK;
	uid = strtol(uid_s, &end, 10);
	if (*end != '\0' || uid <= 0)
		return EX_OK; /* no usable uid: stay (config decides) */
	gid = gid_s ? strtol(gid_s, &end, 10) : -1;
	if (gid <= 0 || *end != '\0')
		gid = uid;
	if (setgroups(0, NULL) < 0 ||
	    setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0 ||
	    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0) {
		ph__log_error("cannot switch to uid %ld: %s", uid,
			      strerror(errno));
		return EX_TEMPFAIL;
	}
	return EX_OK;
}

/* Streams stdin into the append; drops an mbox "From " envelope line. */
static int deliver_copy(struct deliver *d, ph_append *ap, const char **error)
{
	static char buf[DELIVER_CHUNK];
	bool first = true;
	ssize_t n;

	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
		const char *p = buf;
		int ret;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error = "cannot read the message";
			return PH_ETEMP;
		}
		if (first && n >= 5 && memcmp(buf, "From ", 5) == 0) {
			const char *nl = memchr(buf, '\n', (size_t)n);

			if (nl != NULL) {
				n -= nl + 1 - buf;
				p = nl + 1;
			}
		}
		first = false;
		ret = d->ops->append_write(ap, p, (size_t)n, error);
		if (ret < 0)
			return ret;
	}
	return PH_OK;
}

static int deliver_store(struct deliver *d)
{
	struct ph_append_request req = PH_APPEND_REQUEST_INIT;
	struct ph__plugin *sp =
	    ph__plugin_set_find(&d->plugins, d->cfg->storage_plugin);
	const char *error = NULL, *folder = d->folder;
	ph_mail_user *mu = NULL;
	ph_append *ap = NULL;
	uint32_t uid = 0, uidv = 0;
	char *err = NULL;
	int ret;

	ret = ph__plugin_set_init(&d->plugins, PH_PLUGIN_STORAGE, d->cfg, &err);
	if (ret < 0) {
		ph__log_error("%s", err ? err : "storage init failed");
		free(err);
		return EX_CONFIG;
	}
	d->ops = sp->desc->ops;
	d->storage = sp->state;
	ph__api_set_storage(d->ops, d->storage);
	ph__api_set_current(sp->name);
	ret = d->ops->user_open(d->storage, d->user, &mu, &error);
	if (ret < 0) {
		ph__log_error("%s: %s", d->user_name, error);
		return exit_code(ret == PH_EINVAL ? PH_ETEMP : ret);
	}
	ret = d->ops->append_begin(mu, folder, &req, &ap, &error);
	if ((ret == PH_ENOTFOUND || ret == PH_EINVAL) &&
	    strcmp(folder, "INBOX") != 0) {
		ph__log_info("%s: folder %s: %s; delivering to INBOX",
			     d->user_name, folder, error);
		folder = "INBOX";
		ret = d->ops->append_begin(mu, folder, &req, &ap, &error);
	}
	if (ret == PH_OK) {
		ret = deliver_copy(d, ap, &error);
		if (ret < 0)
			d->ops->append_abort(&ap);
		else
			ret = d->ops->append_commit(&ap, &uidv, &uid, &error);
	}
	if (ret < 0)
		ph__log_error("%s: delivery to %s failed: %s", d->user_name,
			      folder, error ? error : "error");
	else
		ph__log_info("%s: delivered to %s, uid %u", d->user_name,
			     folder, uid);
	d->ops->user_close(&mu);
	return ret == PH_ENOTFOUND ? EX_TEMPFAIL : exit_code(ret);
}

int main(int argc, char **argv)
{
	struct deliver d = {.config_path = DEFAULT_CONFIG, .folder = "INBOX"};
	int opt, rc;

	ph__log_init("stderr", PH_LOG_INFO, "deliver");
	while ((opt = getopt(argc, argv, "c:m:d:h")) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'm':
			d.folder = optarg;
			break;
		case 'd':
			d.maildir = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind + 1 != argc || argv[optind][0] == '\0') {
		usage(stderr);
		return EX_USAGE;
	}
	d.user_name = argv[optind];
	if ((rc = deliver_load(&d)) == EX_OK &&
	    (rc = deliver_lookup(&d)) == EX_OK &&
	    (rc = deliver_drop_privileges(&d)) == EX_OK)
		rc = deliver_store(&d);
	ph__user_destroy(&d.user);
	ph__plugin_set_clear(&d.plugins);
	ph__config_free(&d.cfg);
	return rc;
}
