/* pop3-reply.c - single-line responses. */
#include <stdarg.h>
#include <stdio.h>
#include "pop3-private.h"

/* Response lines stay well under RFC 2449's 512 octets. */
#define POP3_REPLY_MAX 512

static void pop3_reply_v(struct pop3_conn *pc, const char *prefix,
			 const char *code, int clean, const char *fmt,
			 va_list ap)
{
	char buf[POP3_REPLY_MAX];
	size_t start, len;
	int n;

	if (code != NULL)
		n = snprintf(buf, sizeof(buf), "%s[%s] ", prefix, code);
	else
		n = snprintf(buf, sizeof(buf), "%s", prefix);
	start = (size_t)n;
	/* Callers va_start `ap`; the analyzer does not follow va_list
	 * parameters. */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	n = vsnprintf(buf + start, sizeof(buf) - start - 2, fmt, ap);
	if (n < 0)
		n = 0;
	len = start + (size_t)n;
	if (len > sizeof(buf) - 3)
		len = sizeof(buf) - 3;
	if (clean) {
		for (size_t i = start; i < len; i++)
			if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
				buf[i] = ' ';
	}
	buf[len++] = '\r';
	buf[len++] = '\n';
	pc->api->conn_write(pc->conn, buf, len);
}

void pop3_reply_ok(struct pop3_conn *pc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pop3_reply_v(pc, "+OK ", NULL, 1, fmt, ap);
	va_end(ap);
}

void pop3_reply_err(struct pop3_conn *pc, const char *code, const char *fmt,
		    ...)
{
	va_list ap;

	va_start(ap, fmt);
	pop3_reply_v(pc, "-ERR ", code, 1, fmt, ap);
	va_end(ap);
}

void pop3_reply_line(struct pop3_conn *pc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pop3_reply_v(pc, "", NULL, 0, fmt, ap);
	va_end(ap);
}

const char *pop3_reply_code(int error)
{
	switch (error) {
	case PH_EINUSE:
		return "IN-USE";
	case PH_EAUTH:
	case PH_EUNKNOWN:
		return "AUTH";
	case PH_EPERM:
	case PH_ENOTSUP:
	case PH_ENOQUOTA:
		return "SYS/PERM";
	default:
		return "SYS/TEMP";
	}
}
