/* imap4-parser.c - the streaming command parser (see imap4-parser.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap4-parser.h"

const struct imap_parser_limits imap_parser_default_limits = {
    .max_line = 64000,
    .max_literal = 65536,
    .max_command = 256 * 1024,
    .max_stream = 1024u * 1024 * 1024,
    .max_depth = 32,
    .max_args = 10000,
    .max_nonsync = (size_t)-1,
};

enum parser_state {
	ST_START = 0, /* nothing of this command yet */
	ST_TAG,
	ST_CMD_START,
	ST_CMD,
	ST_ARG_START, /* at the start of a token (after SP or '(') */
	ST_BETWEEN,   /* after a token: SP, ')' or end of line */
	ST_ATOM,
	ST_QUOTED,
	ST_QUOTED_ESC,
	ST_LIT_LEN,
	ST_LIT_PLUS,
	ST_LIT_END,  /* after '}': only the line end may follow */
	ST_LIT_WAIT, /* IMAP_EV_LITERAL returned, literal_begin() due */
	ST_LIT_DATA,
	ST_SKIP, /* error seen: drop the rest of the line */
	ST_DONE, /* command or error returned; reset on next feed */
	ST_DEAD, /* unrecoverable: caller closes */
};

/* Recognises "{digits}" / "{digits+}" at the end of a line. */
enum tail_state { T_NONE, T_BRACE, T_DIGITS, T_PLUS, T_SYNC, T_NONSYNC };

struct imap_parser {
	struct imap_parser_limits lim;
	enum parser_state state;
	enum tail_state tail;
	int cr;
	size_t line_len;

	char *buf;
	size_t buf_len, buf_cap;
	uint32_t tag_off, tag_len;
	uint32_t cmd_off, cmd_len;

	struct imap_arg *args;
	unsigned nargs, args_cap;
	unsigned *stack; /* open lists; stack[0] = root (index 0) */
	unsigned *last;	 /* last child per depth */
	unsigned depth;
	unsigned cur; /* argument being read */
	int bracket;

	uint64_t lit_size, lit_left;
	int lit_overflow, lit_nonsync, lit_stream;

	const char *err;
	int err_toobig;
};

struct imap_parser *imap_parser_create(const struct imap_parser_limits *lim)
{
	struct imap_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->lim = lim != NULL ? *lim : imap_parser_default_limits;
	if (p->lim.max_depth == 0)
		p->lim.max_depth = 1;
	p->stack = calloc(p->lim.max_depth + 1, sizeof(*p->stack));
	p->last = calloc(p->lim.max_depth + 1, sizeof(*p->last));
	if (p->stack == NULL || p->last == NULL) {
		imap_parser_destroy(&p);
		return NULL;
	}
	imap_parser_reset(p);
	return p;
}

void imap_parser_destroy(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;

	if (p == NULL)
		return;
	free(p->buf);
	free(p->args);
	free(p->stack);
	free(p->last);
	free(p);
	*pp = NULL;
}

static void parser_clear_command(struct imap_parser *p)
{
	p->buf_len = 0;
	p->tag_len = p->cmd_len = 0;
	p->nargs = 0;
	p->depth = 0;
	p->err = NULL;
	p->err_toobig = 0;
	p->line_len = 0;
	p->tail = T_NONE;
	p->cr = 0;
	p->bracket = 0;
	p->lit_left = 0;
}

void imap_parser_reset(struct imap_parser *p)
{
	parser_clear_command(p);
	p->state = ST_START;
}

int imap_parser_must_close(const struct imap_parser *p)
{
	return p->state == ST_DEAD;
}

int imap_parser_in_literal(const struct imap_parser *p)
{
	return p->state == ST_LIT_DATA;
}

uint64_t imap_parser_literal_left(const struct imap_parser *p)
{
	return p->state == ST_LIT_DATA ? p->lit_left : 0;
}

static void parser_error(struct imap_parser *p, const char *msg, int toobig)
{
	if (p->err == NULL) {
		p->err = msg;
		p->err_toobig = toobig;
	}
	p->state = ST_SKIP;
}

static int buf_reserve(struct imap_parser *p, size_t more)
{
	size_t need = p->buf_len + more;
	size_t cap;
	char *nb;

	if (need > p->lim.max_command + 64) /* tag and name ride along */
		return -1;
	if (need <= p->buf_cap)
		return 0;
	cap = p->buf_cap != 0 ? p->buf_cap : 256;
	while (cap < need)
		cap *= 2;
	nb = realloc(p->buf, cap);
	if (nb == NULL)
		return -1;
	p->buf = nb;
	p->buf_cap = cap;
	return 0;
}

static int buf_putc(struct imap_parser *p, char c)
{
	if (buf_reserve(p, 1) < 0) {
		parser_error(p, "Command too long", 1);
		return -1;
	}
	p->buf[p->buf_len++] = c;
	return 0;
}

/* Adds an argument under the innermost open list. */
static int arg_add(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_arg *a;
	unsigned parent = p->stack[p->depth];

	if (p->nargs > p->lim.max_args) {
		parser_error(p, "Too many arguments", 1);
		return -1;
	}
	if (p->nargs == p->args_cap) {
		unsigned cap = p->args_cap != 0 ? p->args_cap * 2 : 32;
		struct imap_arg *na = realloc(p->args, cap * sizeof(*na));

		if (na == NULL) {
			parser_error(p, "Out of memory", 1);
			return -1;
		}
		p->args = na;
		p->args_cap = cap;
	}
	a = &p->args[p->nargs];
	memset(a, 0, sizeof(*a));
	a->type = (uint8_t)type;
	a->off = (uint32_t)p->buf_len;
	if (p->nargs > 0) {
		p->args[parent].count++;
		if (p->last[p->depth] != 0)
			p->args[p->last[p->depth]].next = p->nargs;
		p->last[p->depth] = p->nargs;
	}
	p->cur = p->nargs++;
	return 0;
}

static void begin_arguments(struct imap_parser *p)
{
	p->nargs = 0;
	p->depth = 0;
	p->stack[0] = 0;
	p->last[0] = 0;
	(void)arg_add(p, IMAP_ARG_LIST); /* the root: cannot fail */
}

static int string_end(struct imap_parser *p)
{
	if (buf_putc(p, '\0') < 0)
		return -1;
	p->args[p->cur].len = (uint32_t)(p->buf_len - 1 - p->args[p->cur].off);
	p->state = ST_BETWEEN;
	return 0;
}

static int is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return c != '(' && c != ')' && c != '{' && c != '"';
}

static int is_bracket_char(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

static void tail_update(struct imap_parser *p, unsigned char c)
{
	enum tail_state t = p->tail;

	if (c == '{')
		t = T_BRACE;
	else if (c >= '0' && c <= '9' && (t == T_BRACE || t == T_DIGITS))
		t = T_DIGITS;
	else if (c == '+' && t == T_DIGITS)
		t = T_PLUS;
	else if (c == '}' && t == T_DIGITS)
		t = T_SYNC;
	else if (c == '}' && t == T_PLUS)
		t = T_NONSYNC;
	else if (c == '\r' && (t == T_SYNC || t == T_NONSYNC))
		;
	else
		t = T_NONE;
	p->tail = t;
}

static enum imap_event_type emit_error(struct imap_parser *p,
				       struct imap_event *ev)
{
	ev->type = IMAP_EV_ERROR;
	ev->error = p->err != NULL ? p->err : "Syntax error";
	ev->toobig = p->err_toobig;
	ev->close = p->tail == T_NONSYNC;
	ev->tag = p->tag_len > 0 ? p->buf + p->tag_off : NULL;
	p->state = ev->close ? ST_DEAD : ST_DONE;
	return IMAP_EV_ERROR;
}

/* End of a line in a token-level state. */
static enum imap_event_type line_end(struct imap_parser *p,
				     struct imap_event *ev)
{
	switch (p->state) {
	case ST_START:
		parser_error(p, "Empty command line", 0);
		return emit_error(p, ev);
	case ST_TAG:
	case ST_CMD_START:
		parser_error(p, "Missing command", 0);
		return emit_error(p, ev);
	case ST_CMD:
		if (buf_putc(p, '\0') < 0)
			return emit_error(p, ev);
		p->cmd_len = (uint32_t)(p->buf_len - 1 - p->cmd_off);
		begin_arguments(p);
		break;
	case ST_ATOM:
		if (p->bracket) {
			parser_error(p, "Missing ']'", 0);
			return emit_error(p, ev);
		}
		if (string_end(p) < 0)
			return emit_error(p, ev);
		break;
	case ST_ARG_START:
	case ST_BETWEEN:
		break;
	case ST_QUOTED:
	case ST_QUOTED_ESC:
		parser_error(p, "Missing '\"'", 0);
		return emit_error(p, ev);
	case ST_LIT_END:
		goto literal;
	default:
		parser_error(p, "Syntax error in literal", 0);
		return emit_error(p, ev);
	}
	if (p->depth > 0) {
		parser_error(p, "Missing ')'", 0);
		return emit_error(p, ev);
	}
	ev->type = IMAP_EV_COMMAND;
	ev->tag = p->buf + p->tag_off;
	p->state = ST_DONE;
	return IMAP_EV_COMMAND;

literal:
	if (p->lit_overflow) {
		parser_error(p, "Literal too large", 1);
		return emit_error(p, ev);
	}
	ev->type = IMAP_EV_LITERAL;
	ev->tag = p->buf + p->tag_off;
	ev->literal_size = p->lit_size;
	ev->literal_sync = !p->lit_nonsync;
	p->state = ST_LIT_WAIT;
	p->line_len = 0;
	p->tail = T_NONE;
	return IMAP_EV_LITERAL;
}

int imap_parser_literal_begin(struct imap_parser *p, enum imap_literal_mode m)
{
	int ret = PH_OK;

	if (p->state != ST_LIT_WAIT)
		return PH_EINVAL;
	if (m == IMAP_LITERAL_REJECT)
		ret = PH_EPERM;
	else if (p->lit_nonsync && p->lit_size > p->lim.max_nonsync)
		ret = PH_ETOOBIG;
	else if (m == IMAP_LITERAL_STREAM && p->lit_size > p->lim.max_stream)
		ret = PH_ETOOBIG;
	else if (m == IMAP_LITERAL_BUFFER &&
		 (p->lit_size > p->lim.max_literal ||
		  p->buf_len + p->lit_size + 1 > p->lim.max_command))
		ret = PH_ETOOBIG;
	else if (arg_add(p, m == IMAP_LITERAL_STREAM ? IMAP_ARG_LITERAL_STREAMED
						     : IMAP_ARG_LITERAL) < 0)
		ret = PH_ETOOBIG;
	if (ret < 0) {
		p->state = p->lit_nonsync ? ST_DEAD : ST_DONE;
		return ret;
	}
	p->lit_stream = m == IMAP_LITERAL_STREAM;
	p->lit_left = p->lit_size;
	p->args[p->cur].size = p->lit_size;
	if (!p->lit_stream && buf_reserve(p, (size_t)p->lit_size + 1) < 0) {
		p->state = p->lit_nonsync ? ST_DEAD : ST_DONE;
		return PH_ETOOBIG;
	}
	p->state = ST_LIT_DATA;
	if (p->lit_left == 0) {
		if (!p->lit_stream)
			(void)string_end(p); /* reserved above */
		p->state = ST_BETWEEN;
	}
	return PH_OK;
}

/* Literal bytes: copy into the buffer, or hand out for streaming. */
static enum imap_event_type literal_data(struct imap_parser *p,
					 const char *data, size_t len,
					 size_t *used_r, struct imap_event *ev)
{
	size_t n = len < p->lit_left ? len : (size_t)p->lit_left;

	*used_r = n;
	p->lit_left -= n;
	if (p->lit_stream) {
		ev->type = IMAP_EV_LITERAL_DATA;
		ev->tag = p->buf + p->tag_off;
		ev->data = data;
		ev->data_len = n;
		ev->literal_left = p->lit_left;
		if (p->lit_left == 0)
			p->state = ST_BETWEEN;
		return IMAP_EV_LITERAL_DATA;
	}
	memcpy(p->buf + p->buf_len, data, n);
	p->buf_len += n;
	if (p->lit_left == 0) {
		p->buf[p->buf_len++] = '\0'; /* reserved in literal_begin */
		p->args[p->cur].len =
		    (uint32_t)(p->buf_len - 1 - p->args[p->cur].off);
		p->state = ST_BETWEEN;
	}
	return IMAP_EV_NONE;
}

/* One byte of a line (not LF, not a literal byte). */
static void line_byte(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case ST_START:
		p->tag_off = (uint32_t)p->buf_len;
		p->state = ST_TAG;
		/* fall through */
	case ST_TAG:
		if (c == ' ' && p->buf_len > p->tag_off) {
			if (buf_putc(p, '\0') < 0)
				return;
			p->tag_len = (uint32_t)(p->buf_len - 1 - p->tag_off);
			p->state = ST_CMD_START;
		} else if ((is_atom_char(c) && c != '+') || c == ']') {
			(void)buf_putc(p, (char)c);
		} else {
			parser_error(p, "Invalid tag", 0);
		}
		return;
	case ST_CMD_START:
		p->cmd_off = (uint32_t)p->buf_len;
		p->state = ST_CMD;
		/* fall through */
	case ST_CMD:
		if (c == ' ' && p->buf_len > p->cmd_off) {
			if (buf_putc(p, '\0') < 0)
				return;
			p->cmd_len = (uint32_t)(p->buf_len - 1 - p->cmd_off);
			begin_arguments(p);
			p->state = ST_ARG_START;
		} else if (is_atom_char(c)) {
			(void)buf_putc(p, (char)c);
		} else {
			parser_error(p, "Invalid command name", 0);
		}
		return;
	case ST_BETWEEN:
		if (c == ' ') {
			p->state = ST_ARG_START;
			return;
		}
		if (c != ')') {
			parser_error(p, "Missing space between arguments", 0);
			return;
		}
		/* fall through */
	case ST_ARG_START:
		if (c == ' ')
			return; /* tolerate doubled spaces */
		if (c == '(') {
			if (p->depth >= p->lim.max_depth) {
				parser_error(p, "Too deep nesting", 1);
				return;
			}
			if (arg_add(p, IMAP_ARG_LIST) < 0)
				return;
			p->stack[++p->depth] = p->cur;
			p->last[p->depth] = 0;
			return;
		}
		if (c == ')') {
			if (p->depth == 0) {
				parser_error(p, "Unexpected ')'", 0);
				return;
			}
			p->depth--;
			p->state = ST_BETWEEN;
			return;
		}
		if (c == '"') {
			if (arg_add(p, IMAP_ARG_QUOTED) == 0)
				p->state = ST_QUOTED;
			return;
		}
		if (c == '{') {
			p->lit_size = 0;
			p->lit_overflow = 0;
			p->lit_nonsync = 0;
			p->state = ST_LIT_LEN;
			return;
		}
		if (!is_atom_char(c) && c != '[') {
			parser_error(p, "Invalid characters in atom", 0);
			return;
		}
		if (arg_add(p, IMAP_ARG_ATOM) < 0)
			return;
		p->bracket = 0;
		p->state = ST_ATOM;
		/* fall through */
	case ST_ATOM:
		if (p->bracket) {
			if (!is_bracket_char(c)) {
				parser_error(p, "Invalid characters in atom",
					     0);
				return;
			}
			if (c == ']')
				p->bracket = 0;
			(void)buf_putc(p, (char)c);
			return;
		}
		if (c == '[') {
			p->bracket = 1;
			(void)buf_putc(p, (char)c);
			return;
		}
		if (c == ' ' || c == ')') {
			if (string_end(p) < 0)
				return;
			line_byte(p, c); /* ST_BETWEEN handles it */
			return;
		}
		if (!is_atom_char(c)) {
			parser_error(p, "Invalid characters in atom", 0);
			return;
		}
		(void)buf_putc(p, (char)c);
		return;
	case ST_QUOTED:
		if (c == '"') {
			(void)string_end(p);
		} else if (c == '\\') {
			p->state = ST_QUOTED_ESC;
		} else if (c == '\0' || c == '\r') {
			parser_error(p, "Invalid characters in quoted string",
				     0);
		} else {
			(void)buf_putc(p, (char)c);
		}
		return;
	case ST_QUOTED_ESC:
		if (c != '"' && c != '\\') {
			parser_error(p, "Invalid escape in quoted string", 0);
			return;
		}
		if (buf_putc(p, (char)c) == 0)
			p->state = ST_QUOTED;
		return;
	case ST_LIT_LEN:
		if (c >= '0' && c <= '9') {
			if (p->lit_size > (UINT64_MAX - 9) / 10)
				p->lit_overflow = 1;
			else
				p->lit_size = p->lit_size * 10 + (c - '0');
			p->lit_nonsync = -1; /* digits seen */
			return;
		}
		if (p->lit_nonsync != -1) {
			parser_error(p, "Invalid literal size", 0);
			return;
		}
		if (c == '+') {
			p->lit_nonsync = 1;
			p->state = ST_LIT_PLUS;
			return;
		}
		p->lit_nonsync = 0;
		/* fall through */
	case ST_LIT_PLUS:
		if (c != '}') {
			parser_error(p, "Invalid literal size", 0);
			return;
		}
		p->state = ST_LIT_END;
		return;
	case ST_LIT_END:
		parser_error(p, "Literal must end the line", 0);
		return;
	default:
		return;
	}
}

enum imap_event_type imap_parser_feed(struct imap_parser *p, const char *data,
				      size_t len, size_t *consumed_r,
				      struct imap_event *ev)
{
	size_t i = 0;

	memset(ev, 0, sizeof(*ev));
	*consumed_r = 0;
	if (p->state == ST_DONE)
		imap_parser_reset(p);
	if (p->state == ST_DEAD || p->state == ST_LIT_WAIT) {
		ev->type = IMAP_EV_ERROR;
		ev->error = "Protocol state error";
		ev->close = 1;
		p->state = ST_DEAD;
		return IMAP_EV_ERROR;
	}
	while (i < len) {
		unsigned char c = (unsigned char)data[i];

		if (p->state == ST_LIT_DATA) {
			size_t used;
			enum imap_event_type t =
			    literal_data(p, data + i, len - i, &used, ev);

			i += used;
			if (t != IMAP_EV_NONE) {
				*consumed_r = i;
				return t;
			}
			continue;
		}
		i++;
		if (c == '\n') {
			enum imap_event_type t;

			p->cr = 0;
			if (p->state == ST_SKIP)
				t = emit_error(p, ev);
			else
				t = line_end(p, ev);
			*consumed_r = i;
			return t;
		}
		if (p->cr) {
			p->cr = 0;
			parser_error(p, "CR without LF", 0);
		}
		tail_update(p, c);
		if (c == '\r') {
			p->cr = 1;
			continue;
		}
		if (++p->line_len > p->lim.max_line)
			parser_error(p, "Command line too long", 1);
		if (p->state != ST_SKIP)
			line_byte(p, c);
	}
	*consumed_r = i;
	return IMAP_EV_NONE;
}

const char *imap_parser_tag(const struct imap_parser *p)
{
	return p->tag_len > 0 ? p->buf + p->tag_off : NULL;
}

const char *imap_parser_command(const struct imap_parser *p)
{
	return p->cmd_len > 0 ? p->buf + p->cmd_off : NULL;
}

const struct imap_arg *imap_parser_root(const struct imap_parser *p)
{
	return p->nargs > 0 ? &p->args[0] : NULL;
}

const struct imap_arg *imap_arg_child(const struct imap_parser *p,
				      const struct imap_arg *list)
{
	if (list == NULL || list->type != IMAP_ARG_LIST || list->count == 0)
		return NULL;
	return list + 1;
}

const struct imap_arg *imap_arg_next(const struct imap_parser *p,
				     const struct imap_arg *arg)
{
	if (arg == NULL || arg->next == 0)
		return NULL;
	return &p->args[arg->next];
}

const struct imap_arg *imap_arg_nth(const struct imap_parser *p,
				    const struct imap_arg *list, unsigned n)
{
	const struct imap_arg *a = imap_arg_child(p, list);

	while (a != NULL && n-- > 0)
		a = imap_arg_next(p, a);
	return a;
}

const char *imap_arg_str(const struct imap_parser *p,
			 const struct imap_arg *arg)
{
	if (!imap_arg_is_string(arg))
		return NULL;
	return p->buf + arg->off;
}

int imap_arg_is_string(const struct imap_arg *arg)
{
	return arg != NULL &&
	       (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_QUOTED ||
		arg->type == IMAP_ARG_LITERAL);
}

int imap_arg_atom_is(const struct imap_parser *p, const struct imap_arg *arg,
		     const char *word)
{
	return arg != NULL && arg->type == IMAP_ARG_ATOM &&
	       strcasecmp(p->buf + arg->off, word) == 0;
}
