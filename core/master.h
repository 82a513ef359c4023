/* core/master.h - the supervising process: binds listeners, forks the auth
 * service and the workers, restarts crashed workers, reloads on SIGHUP,
 * stops gracefully on SIGTERM/SIGINT. */
#ifndef PH_CORE_MASTER_H
#define PH_CORE_MASTER_H

/* Loads `config_path` and runs until stopped; returns the exit status. */
int ph__master_run(const char *config_path);

/* Loads and checks a configuration as the daemon would (plugins, TLS
 * files, user) without serving. 0 or 1; the effective config is printed
 * to stdout, errors as "FILE:LINE: ..." to stderr. */
int ph__master_check(const char *config_path);

#endif
