/* core/log.c - one line per event to stderr or syslog. Each line is
 * written with a single write() so lines from several processes sharing
 * stderr never interleave. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define PH_LOG_LINE_MAX 2048

static struct {
	int use_syslog;
	enum ph_log_level min_level;
	char ident[64];
} log_state = {0, PH_LOG_INFO, "posthornd"};

static const char *const log_level_names[] = {"debug", "info", "notice",
					      "warning", "error"};

void ph__log_init(const char *target, enum ph_log_level min_level,
		  const char *ident)
{
	int want_syslog = target != NULL && strcmp(target, "syslog") == 0;

	if (log_state.use_syslog && !want_syslog)
		closelog();
	log_state.use_syslog = want_syslog;
	log_state.min_level = min_level;
	snprintf(log_state.ident, sizeof(log_state.ident), "%s",
		 ident != NULL ? ident : "posthornd");
	if (want_syslog)
		openlog("posthornd", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

int ph__log_level_parse(const char *name)
{
	for (size_t i = 0;
	     i < sizeof(log_level_names) / sizeof(*log_level_names); i++) {
		if (strcasecmp(name, log_level_names[i]) == 0)
			return (int)i;
	}
	if (strcasecmp(name, "warn") == 0)
		return PH_LOG_WARNING;
	return -1;
}

int ph__log_enabled(enum ph_log_level level)
{
	return level >= log_state.min_level;
}

void ph__vlog(enum ph_log_level level, const char *prefix, const char *fmt,
	      va_list ap)
{
	static const int syslog_prio[] = {LOG_DEBUG, LOG_INFO, LOG_NOTICE,
					  LOG_WARNING, LOG_ERR};
	char line[PH_LOG_LINE_MAX];
	size_t len = 0, start;
	int saved_errno = errno, n;

	if (!ph__log_enabled(level))
		return;
	if ((unsigned)level > PH_LOG_ERROR)
		level = PH_LOG_ERROR;
	if (!log_state.use_syslog) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(
		    line + len, sizeof(line) - len,
		    ".%03ldZ posthornd[%ld] %s: %s: ", ts.tv_nsec / 1000000,
		    (long)getpid(), log_state.ident, log_level_names[level]);
	} else {
		n = snprintf(line, sizeof(line), "%s: ", log_state.ident);
	}
	if (n > 0)
		len += (size_t)n;
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	start = len;
	if (prefix != NULL) {
		n = snprintf(line + len, sizeof(line) - len, "%s: ", prefix);
		if (n > 0)
			len += (size_t)n;
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
	}
	errno = saved_errno;
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n > 0)
		len += (size_t)n;
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	/* One event, one line: neutralise control characters a client may
	 * have smuggled into a logged value. */
	for (size_t i = start; i < len; i++) {
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	}
	if (log_state.use_syslog) {
		line[len] = '\0';
		syslog(syslog_prio[level], "%s", line);
	} else {
		line[len++] = '\n';
		while (write(STDERR_FILENO, line, len) < 0 && errno == EINTR)
			;
	}
	errno = saved_errno;
}

void ph__log(enum ph_log_level level, const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ph__vlog(level, prefix, fmt, ap);
	va_end(ap);
}
