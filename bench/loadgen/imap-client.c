/* IMAP4rev1 client state machine for the login, imap-mixed and imap-idle
 * scenarios.  One command is in flight at a time (as real clients mostly
 * do); responses are read line by line and literals ({n}) are skipped by
 * count, never buffered, with limits on their size and number. */
#include "loadgen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum imap_phase {
	IP_GREETING,
	IP_STARTTLS,
	IP_LOGIN,
	IP_CAPABILITY,
	IP_SELECT,
	IP_FETCH_HEADERS, /* the session's opening header fetch */
	IP_OP,		  /* one weighted imap-mixed operation */
	IP_APPEND_WAIT,	  /* APPEND sent, waiting for "+" */
	IP_IDLE_WAIT,	  /* IDLE sent, waiting for "+" */
	IP_IDLE,	  /* holding */
	IP_LOGOUT,
};

#define HEADER_FIELDS "(From To Cc Subject Date Message-ID Content-Type)"

static int imap_cmd(struct lg_slot *s, int phase, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int imap_cmd(struct lg_slot *s, int phase, const char *fmt, ...)
{
	struct lg_imap_state *im = &s->u.imap;
	char buf[512];
	va_list ap;
	int n, m;

	im->phase = phase;
	im->tag++;
	n = snprintf(buf, sizeof(buf), "a%u ", im->tag);
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= sizeof(buf) - 2)
		return -1;
	n += m;
	buf[n++] = '\r';
	buf[n++] = '\n';
	if (lg.opt.scenario != LG_SC_LOGIN)
		s->op_start = ev_now(lg.loop);
	return lg_conn_send(s, buf, (size_t)n);
}

static int imap_login(struct lg_slot *s)
{
	char user[128];

	lg_user_name(s->user, user, sizeof(user));
	return imap_cmd(s, IP_LOGIN, "LOGIN \"%s\" \"%s\"", user,
			lg.opt.password);
}

static int imap_select(struct lg_slot *s)
{
	return imap_cmd(s, IP_SELECT, "SELECT INBOX");
}

/* The header list a client shows: the newest 20 messages. */
static int imap_fetch_headers(struct lg_slot *s, int phase)
{
	uint32_t n = s->u.imap.exists;

	if (n == 0)
		return imap_cmd(s, phase, "NOOP");
	return imap_cmd(s, phase,
			"FETCH %u:%u (UID RFC822.SIZE FLAGS "
			"BODY.PEEK[HEADER.FIELDS " HEADER_FIELDS "])",
			n > 20 ? n - 19 : 1, n);
}

static int imap_mixed_op(struct lg_slot *s)
{
	struct lg_imap_state *im = &s->u.imap;
	uint32_t seq = im->exists ? 1 + (uint32_t)rand() % im->exists : 0;

	im->op = lg_mixed_pick_op();
	if (seq == 0 && im->op != LG_OP_APPEND)
		im->op = LG_OP_NOOP;
	im->fetching_body = false;
	im->body = 0;
	switch (im->op) {
	case LG_OP_FETCH_BODY:
		im->fetching_body = true;
		return imap_cmd(s, IP_OP, "FETCH %u (UID BODY.PEEK[])", seq);
	case LG_OP_FETCH_HEADERS:
		return imap_fetch_headers(s, IP_OP);
	case LG_OP_STORE_FLAGS:
		return imap_cmd(s, IP_OP, "STORE %u %cFLAGS (\\Flagged)", seq,
				rand() % 2 ? '+' : '-');
	case LG_OP_APPEND:
		/* Appended copies carry \Deleted so EXPUNGE removes only
		   them and the mailbox stays the size bench/run made. */
		return imap_cmd(s, IP_APPEND_WAIT,
				"APPEND INBOX (\\Seen \\Deleted) {%zu}",
				lg.append_len);
	case LG_OP_EXPUNGE:
		return imap_cmd(s, IP_OP, "EXPUNGE");
	default:
		return imap_cmd(s, IP_OP, "NOOP");
	}
}

static int imap_after_login(struct lg_slot *s)
{
	switch (lg.opt.scenario) {
	case LG_SC_IMAP_MIXED:
		return imap_select(s);
	case LG_SC_IMAP_IDLE:
		if (s->u.imap.have_idle)
			return imap_select(s);
		return imap_cmd(s, IP_CAPABILITY, "CAPABILITY");
	default:
		return imap_cmd(s, IP_LOGOUT, "LOGOUT");
	}
}

/* The command of the current phase completed with OK. */
static int imap_ok(struct lg_slot *s)
{
	struct lg_imap_state *im = &s->u.imap;
	bool m = lg_measuring();

	if (m)
		lg.st.ops++;
	if (im->phase != IP_LOGIN || lg.opt.scenario == LG_SC_LOGIN)
		lg_record_latency(s);
	switch (im->phase) {
	case IP_STARTTLS:
		return lg_conn_starttls(s);
	case IP_LOGIN:
		if (m)
			lg.st.logins++;
		return imap_after_login(s);
	case IP_CAPABILITY:
		return imap_select(s);
	case IP_SELECT:
		if (lg.opt.scenario == LG_SC_IMAP_MIXED)
			return imap_fetch_headers(s, IP_FETCH_HEADERS);
		lg.st.server_has_idle = im->have_idle;
		if (!im->have_idle) {
			im->phase = IP_IDLE; /* hold a selected session */
			lg_conn_touch(s);
			return 0;
		}
		return imap_cmd(s, IP_IDLE_WAIT, "IDLE");
	case IP_FETCH_HEADERS:
		im->ops_left = lg.opt.mixed_ops;
		return imap_mixed_op(s);
	case IP_OP:
		if (im->fetching_body && m) {
			lg.st.messages++;
			lg.st.bytes += im->body;
		}
		if (--im->ops_left > 0)
			return imap_mixed_op(s);
		return imap_cmd(s, IP_LOGOUT, "LOGOUT");
	case IP_LOGOUT:
		lg_session_done(s);
		return 1;
	default:
		lg_session_fail(s, true, "unexpected tagged OK");
		return -1;
	}
}

static bool has_word(const char *line, size_t len, const char *word)
{
	size_t wl = strlen(word), i;

	for (i = 0; i + wl <= len; i++)
		if (strncasecmp(line + i, word, wl) == 0 &&
		    (i + wl == len || line[i + wl] == ' ' ||
		     line[i + wl] == ']'))
			return true;
	return false;
}

static void imap_notified(struct lg_slot *s)
{
	struct lg_imap_state *im = &s->u.imap;
	uint64_t seq = lg.user_delivery_seq ? lg.user_delivery_seq[s->user] : 0;

	if (seq <= im->seen_delivery)
		return;
	im->seen_delivery = seq;
	lg_samples_add(&lg.notify_lat,
		       ev_time() - lg.user_delivery_time[s->user]);
	lg.st.notifications++;
}

static int imap_untagged(struct lg_slot *s, const char *line, size_t len)
{
	struct lg_imap_state *im = &s->u.imap;
	char *end;
	unsigned long n;

	if (im->phase == IP_GREETING) {
		if (len >= 4 && strncmp(line, "* OK", 4) == 0) {
			if (lg.opt.tls == LG_TLS_STARTTLS)
				return imap_cmd(s, IP_STARTTLS, "STARTTLS");
			return imap_login(s);
		}
		lg_session_fail(s, true, "bad greeting: %.*s", (int)len, line);
		return -1;
	}
	if (len >= 5 && strncmp(line, "* BYE", 5) == 0) {
		if (im->phase == IP_LOGOUT)
			return 0;
		lg_session_fail(s, true, "%.*s", (int)len, line);
		return -1;
	}
	if (len > 2 && line[2] >= '0' && line[2] <= '9') {
		n = strtoul(line + 2, &end, 10);
		if ((size_t)(end - line) + 7 <= len &&
		    strncmp(end, " EXISTS", 7) == 0) {
			if (im->phase == IP_IDLE && n > im->exists)
				imap_notified(s);
			im->exists = (uint32_t)n;
		} else if ((size_t)(end - line) + 8 <= len &&
			   strncmp(end, " EXPUNGE", 8) == 0 && im->exists > 0) {
			im->exists--;
		}
	}
	return 0;
}

static int imap_continuation(struct lg_slot *s)
{
	struct lg_imap_state *im = &s->u.imap;

	if (im->phase == IP_APPEND_WAIT) {
		im->phase = IP_OP;
		if (lg_conn_send(s, lg.append_msg, lg.append_len) < 0 ||
		    lg_conn_send(s, "\r\n", 2) < 0)
			return -1;
		return 0;
	}
	if (im->phase == IP_IDLE_WAIT) {
		im->phase = IP_IDLE;
		lg_conn_touch(s); /* stops the timeout */
		return 0;
	}
	lg_session_fail(s, true, "unexpected continuation request");
	return -1;
}

/* The first line of a response. */
static int imap_response(struct lg_slot *s, const char *line, size_t len)
{
	struct lg_imap_state *im = &s->u.imap;
	char tag[16];
	int tl;

	/* CAPABILITY response, or the response code of greeting/LOGIN. */
	if (has_word(line, len, "IDLE") && has_word(line, len, "IMAP4rev1"))
		im->have_idle = true;
	if (len >= 2 && line[0] == '*' && line[1] == ' ')
		return imap_untagged(s, line, len);
	if (len >= 1 && line[0] == '+')
		return imap_continuation(s);
	tl = snprintf(tag, sizeof(tag), "a%u ", im->tag);
	if (len >= (size_t)tl && memcmp(line, tag, (size_t)tl) == 0) {
		if (len >= (size_t)tl + 2 &&
		    strncasecmp(line + tl, "OK", 2) == 0)
			return imap_ok(s);
		lg_session_fail(s, true, "%.*s", (int)len, line);
		return -1;
	}
	lg_session_fail(s, true, "unexpected: %.*s", (int)len, line);
	return -1;
}

/* "{123}" at the end of a line announces a literal; returns its size,
   0 if there is none, < 0 if it is malformed or over the limit. */
static int64_t imap_literal_size(const char *line, size_t len)
{
	uint64_t n = 0;
	size_t i;

	if (len < 3 || line[len - 1] != '}')
		return 0;
	i = len - 1;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
		i--;
	if (i == 0 || line[i - 1] != '{' || i == len - 1)
		return 0;
	if (len - 1 - i > 10) /* more than 10 digits: over any limit */
		return -1;
	for (; i < len - 1; i++)
		n = n * 10 + (uint64_t)(line[i] - '0');
	return n > LG_MAX_LITERAL ? -1 : (int64_t)n;
}

static int imap_input(struct lg_slot *s)
{
	struct lg_imap_state *im = &s->u.imap;

	while (s->c.fd >= 0) {
		const char *line;
		size_t len;
		int64_t lit;
		int r;

		if (im->lit_left > 0) {
			size_t n = lg_conn_skip(s, im->lit_left);
			im->lit_left -= n;
			if (im->fetching_body)
				im->body += n;
			if (im->lit_left > 0)
				return 0;
		}
		r = lg_conn_line(s, &line, &len);
		if (r == 0)
			return 0;
		if (r < 0) {
			lg_session_fail(s, true, "response line too long");
			return -1;
		}
		lit = imap_literal_size(line, len);
		if (lit < 0 || (lit > 0 && ++im->literals > LG_MAX_LITERALS)) {
			lg_session_fail(s, true, "literal over the limits");
			return -1;
		}
		if (!im->in_cont) {
			r = imap_response(s, line, len);
			if (r < 0 && s->c.fd >= 0)
				lg_session_fail(s, false,
						"send/STARTTLS failed");
			if (r != 0)
				return r < 0 ? -1 : 0;
		}
		im->lit_left = (uint64_t)lit;
		im->in_cont = lit > 0;
		if (lit == 0)
			im->literals = 0;
	}
	return 0;
}

static void imap_connected(struct lg_slot *s)
{
	memset(&s->u.imap, 0, sizeof(s->u.imap));
	if (lg.user_delivery_seq != NULL)
		s->u.imap.seen_delivery = lg.user_delivery_seq[s->user];
	s->u.imap.phase = IP_GREETING;
}

static void imap_tls_ready(struct lg_slot *s)
{
	if (imap_login(s) < 0)
		lg_session_fail(s, false, "send failed");
}

bool lg_imap_idling(const struct lg_slot *s)
{
	return s->active && s->ops == &lg_imap_client &&
	       s->u.imap.phase == IP_IDLE;
}

const struct lg_client_ops lg_imap_client = {
    .connected = imap_connected,
    .input = imap_input,
    .tls_ready = imap_tls_ready,
    .eof = NULL,
};
