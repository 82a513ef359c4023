/* imap4-str.c - growable strings and IMAP string forms. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap4-str.h"

void imap_str_init(struct imap_str *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
}

void imap_str_free(struct imap_str *s)
{
	free(s->data);
	s->data = NULL;
	s->len = s->cap = 0;
}

void imap_str_truncate(struct imap_str *s, size_t len)
{
	if (len < s->len) {
		s->len = len;
		s->data[len] = '\0';
	}
}

static int str_reserve(struct imap_str *s, size_t more)
{
	size_t need, cap;
	char *nd;

	if (s->failed)
		return -1;
	if (more > SIZE_MAX / 2 - s->len ||
	    (s->max != 0 && s->len + more > s->max)) {
		s->failed = 1;
		return -1;
	}
	need = s->len + more + 1;
	if (need <= s->cap)
		return 0;
	cap = s->cap != 0 ? s->cap : 128;
	while (cap < need)
		cap *= 2;
	nd = realloc(s->data, cap);
	if (nd == NULL) {
		s->failed = 1;
		return -1;
	}
	s->data = nd;
	s->cap = cap;
	return 0;
}

void imap_str_append(struct imap_str *s, const void *data, size_t len)
{
	if (str_reserve(s, len) < 0)
		return;
	if (len > 0)
		memcpy(s->data + s->len, data, len);
	s->len += len;
	s->data[s->len] = '\0';
}

void imap_str_appends(struct imap_str *s, const char *cstr)
{
	imap_str_append(s, cstr, strlen(cstr));
}

void imap_str_appendc(struct imap_str *s, char c)
{
	imap_str_append(s, &c, 1);
}

void imap_str_printf(struct imap_str *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || str_reserve(s, (size_t)n) < 0) {
		s->failed = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(s->data + s->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->len += (size_t)n;
}

int imap_str_quotable(const char *data, size_t len)
{
	size_t i;

	if (len > 4096)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80)
			return 0;
	}
	return 1;
}

void imap_str_append_string(struct imap_str *s, const char *data, size_t len)
{
	size_t i, start = 0;

	if (!imap_str_quotable(data, len)) {
		imap_str_printf(s, "{%zu}\r\n", len);
		imap_str_append(s, data, len);
		return;
	}
	imap_str_appendc(s, '"');
	for (i = 0; i < len; i++) {
		if (data[i] == '"' || data[i] == '\\') {
			imap_str_append(s, data + start, i - start);
			imap_str_appendc(s, '\\');
			start = i;
		}
	}
	imap_str_append(s, data + start, len - start);
	imap_str_appendc(s, '"');
}

void imap_str_append_nstring(struct imap_str *s, const char *data, size_t len)
{
	if (data == NULL)
		imap_str_appends(s, "NIL");
	else
		imap_str_append_string(s, data, len);
}

static int is_atom(const char *data, size_t len)
{
	size_t i;

	if (len == 0 || (len == 3 && strncasecmp(data, "NIL", 3) == 0))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){\"\\%*]", c) != NULL)
			return 0;
	}
	return 1;
}

void imap_str_append_astring(struct imap_str *s, const char *data, size_t len)
{
	if (is_atom(data, len))
		imap_str_append(s, data, len);
	else
		imap_str_append_string(s, data, len);
}
