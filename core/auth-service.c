/* core/auth-service.c - entry of the auth service process: loads the
 * [auth] plugin chain, then serves workers (auth-server.c). */
#include <stdlib.h>
#include <unistd.h>
#include "api.h"
#include "auth-external.h"
#include "auth-server.h"
#include "auth-service.h"
#include "auth-ticket.h"
#include "log.h"
#include "plugin-loader.h"

/* Penalty settings, when the [auth] section defines them (keys the core
 * validates: penalty_base, penalty_max, penalty_window as times,
 * lockout_failures and penalty_entries as numbers); defaults otherwise. */
static void service_penalty(const struct ph__config *cfg,
			    struct ph__auth_penalty_params *p)
{
	const ph_config *sec = ph__config_section(cfg, "auth");
	uint64_t v;

	if (sec == NULL)
		return;
	if (ph__config_get_uint(sec, "penalty_base", &v) == PH_OK && v <= 3600)
		p->base_delay_ms = (unsigned)v * 1000;
	if (ph__config_get_uint(sec, "penalty_max", &v) == PH_OK && v <= 3600)
		p->max_delay_ms = (unsigned)v * 1000;
	if (ph__config_get_uint(sec, "penalty_window", &v) == PH_OK && v > 0)
		p->window = (double)v;
	if (ph__config_get_uint(sec, "lockout_failures", &v) == PH_OK &&
	    v <= UINT32_MAX)
		p->lockout_failures = (unsigned)v;
	if (ph__config_get_uint(sec, "penalty_entries", &v) == PH_OK && v > 0 &&
	    v <= 1u << 24)
		p->max_entries = (size_t)v;
}

/* [auth] session_ticket_ttl (validated by the core: 1s to 10m). */
static double service_ticket_ttl(const struct ph__config *cfg)
{
	const ph_config *sec = ph__config_section(cfg, "auth");
	uint64_t v;

	if (sec != NULL &&
	    ph__config_get_uint(sec, "session_ticket_ttl", &v) == PH_OK &&
	    v > 0 && v <= 600)
		return (double)v;
	return PH__AUTH_TICKET_TTL;
}

static void service_close_fds(int *fds, size_t fd_count, int listen_fd,
			      int master_fd)
{
	size_t i;

	for (i = 0; i < fd_count; i++)
		close(fds[i]);
	if (listen_fd >= 0)
		close(listen_fd);
	if (master_fd >= 0)
		close(master_fd);
}

int ph__auth_service_run(const struct ph__config *cfg, int *fds,
			 size_t fd_count, int listen_fd, int master_fd)
{
	struct ph__auth_server_params params = {
	    .threads = cfg->auth_workers > 0 ? cfg->auth_workers : 4,
	    .penalty = PH__AUTH_PENALTY_DEFAULTS,
	};
	struct ph__plugin **plugins;
	struct ph__auth_backend *chain;
	struct ph__auth_external *external = NULL;
	size_t i, n = cfg->auth_plugin_count;
	int status = 1;

	ph__log_init(cfg->log_target, cfg->log_level, "auth");
	service_penalty(cfg, &params.penalty);
	params.ticket_ttl = service_ticket_ttl(cfg);
	external = ph__auth_external_from_config(cfg);
	params.external = external;
	plugins = calloc(n > 0 ? n : 1, sizeof(*plugins));
	chain = calloc(n > 0 ? n : 1, sizeof(*chain));
	if (plugins == NULL || chain == NULL) {
		ph__log_error("auth: out of memory");
		service_close_fds(fds, fd_count, listen_fd, master_fd);
		goto out;
	}
	if (n == 0)
		ph__log_warning("auth: no [auth] plugins: every login fails");
	for (i = 0; i < n; i++) {
		const char *name = cfg->auth_plugins[i];
		char *error = NULL;

		plugins[i] = ph__plugin_load(cfg->plugin_dir, name,
					     PH_PLUGIN_AUTH, &error);
		if (plugins[i] == NULL ||
		    ph__plugin_init(plugins[i], ph__api(),
				    ph__config_section(cfg, name),
				    &error) < 0) {
			ph__log_error("auth: plugin %s: %s", name,
				      error != NULL ? error : "failed");
			free(error);
			service_close_fds(fds, fd_count, listen_fd, master_fd);
			goto out;
		}
		chain[i].name = name;
		chain[i].ops = plugins[i]->desc->ops;
		chain[i].state = plugins[i]->state;
	}
	status = ph__auth_server_run(chain, n, &params, fds, fd_count,
				     listen_fd, master_fd);
out:
	for (i = 0; plugins != NULL && i < n; i++)
		ph__plugin_unload(&plugins[i]);
	free(plugins);
	free(chain);
	ph__auth_external_destroy(&external);
	return status;
}
