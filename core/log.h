/* core/log.h - the daemon's logger: stderr or syslog, levels, one line per
 * event. Every process (master, workers, auth service) uses it. */
#ifndef PH_CORE_LOG_H
#define PH_CORE_LOG_H

#include <stdarg.h>
#include <posthorn/core.h>

/* target: "stderr" or "syslog". ident: process role shown in each line
 * ("master", "worker 2", "auth"). Safe to call again (reload, fork). */
void ph__log_init(const char *target, enum ph_log_level min_level,
		  const char *ident);
/* Parses "debug|info|notice|warning|error"; returns -1 when unknown. */
int ph__log_level_parse(const char *name);
int ph__log_enabled(enum ph_log_level level);
/* `prefix` may be NULL; otherwise printed as "prefix: " before the text. */
void ph__log(enum ph_log_level level, const char *prefix, const char *fmt,
	     ...) PH_PRINTF(3, 4);
void ph__vlog(enum ph_log_level level, const char *prefix, const char *fmt,
	      va_list ap) PH_PRINTF(3, 0);

#define ph__log_error(...) ph__log(PH_LOG_ERROR, NULL, __VA_ARGS__)
#define ph__log_warning(...) ph__log(PH_LOG_WARNING, NULL, __VA_ARGS__)
#define ph__log_info(...) ph__log(PH_LOG_INFO, NULL, __VA_ARGS__)
#define ph__log_debug(...) ph__log(PH_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
