/* imap4-esearch.c - ESEARCH (RFC 4731): SEARCH RETURN options and the
 * ESEARCH response. SAVE (SEARCHRES, RFC 5182) is not offered. */
#include <string.h>
#include <strings.h>
#include "imap4-esearch.h"

static const struct {
	const char *name;
	unsigned bit;
} options[] = {
    {"MIN", IMAP_ESEARCH_MIN},
    {"MAX", IMAP_ESEARCH_MAX},
    {"ALL", IMAP_ESEARCH_ALL},
    {"COUNT", IMAP_ESEARCH_COUNT},
};

int imap_esearch_arg(struct imap_client *c, const char *tag,
		     const struct imap_arg **args, struct imap_esearch *es)
{
	const struct imap_arg *list = *args, *o;

	memset(es, 0, sizeof(*es));
	imap_str_init(&es->all, 0);
	if (list == NULL || !ARG_IS(c, list, "RETURN"))
		return 0;
	list = ARG_NEXT(c, list);
	if (list == NULL || list->type != IMAP_ARG_LIST) {
		imap_tagged(c, tag, "BAD", "RETURN needs a list");
		return -1;
	}
	for (o = imap_arg_child(c->parser, list); o != NULL;
	     o = ARG_NEXT(c, o)) {
		size_t i;

		for (i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
			if (o->type == IMAP_ARG_ATOM &&
			    strcasecmp(ARG_STR(c, o), options[i].name) == 0)
				break;
		}
		if (i == sizeof(options) / sizeof(options[0])) {
			imap_tagged(c, tag, "BAD", "Unknown RETURN option");
			return -1;
		}
		es->ret |= options[i].bit;
	}
	if (es->ret == 0)
		es->ret = IMAP_ESEARCH_ALL; /* RETURN () means ALL */
	*args = ARG_NEXT(c, list);
	return 0;
}

static void flush_run(struct imap_esearch *es)
{
	if (es->run_lo == 0)
		return;
	if (es->all.len > 0)
		imap_str_appendc(&es->all, ',');
	if (es->run_lo == es->run_hi)
		imap_str_printf(&es->all, "%u", es->run_lo);
	else
		imap_str_printf(&es->all, "%u:%u", es->run_lo, es->run_hi);
	es->run_lo = es->run_hi = 0;
}

void imap_esearch_add(struct imap_esearch *es, uint32_t n)
{
	if (es->count++ == 0)
		es->min = n;
	es->max = n;
	if (!(es->ret & IMAP_ESEARCH_ALL))
		return;
	if (es->run_lo != 0 && n == es->run_hi + 1) {
		es->run_hi = n;
		return;
	}
	flush_run(es);
	es->run_lo = es->run_hi = n;
}

void imap_esearch_write(struct imap_client *c, const char *tag,
			struct imap_esearch *es, int uid)
{
	struct imap_str *out = &c->out;

	flush_run(es);
	imap_str_printf(out, "* ESEARCH (TAG \"%s\")%s", tag,
			uid ? " UID" : "");
	if (es->count > 0 && (es->ret & IMAP_ESEARCH_MIN))
		imap_str_printf(out, " MIN %u", es->min);
	if (es->count > 0 && (es->ret & IMAP_ESEARCH_MAX))
		imap_str_printf(out, " MAX %u", es->max);
	if (es->ret & IMAP_ESEARCH_COUNT)
		imap_str_printf(out, " COUNT %u", es->count);
	if (es->count > 0 && (es->ret & IMAP_ESEARCH_ALL)) {
		imap_str_appends(out, " ALL ");
		imap_str_append(out, es->all.data, es->all.len);
	}
	if (es->all.failed)
		out->failed = 1;
	imap_str_appends(out, "\r\n");
	imap_client_flush(c);
	imap_esearch_free(es);
}

void imap_esearch_free(struct imap_esearch *es)
{
	imap_str_free(&es->all);
}
