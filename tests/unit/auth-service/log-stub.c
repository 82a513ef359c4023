/* Stand-in for core/log.c while it does not exist: lines to stderr. */
#include <stdio.h>
#include "log.h"

void ph__log(enum ph_log_level level, const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ph__vlog(level, prefix, fmt, ap);
	va_end(ap);
}

void ph__vlog(enum ph_log_level level, const char *prefix, const char *fmt,
	      va_list ap)
{
	if (prefix != NULL)
		fprintf(stderr, "%s: ", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}
