/* POP3 client state machine for the login and pop3-download scenarios:
 * greeting, (STLS), USER, PASS, then QUIT (login) or UIDL, RETR 1..n, QUIT
 * (download).  Multi-line responses are read line by line up to the lone
 * "." with the same line limit as every response. */
#include "loadgen.h"

#include <stdio.h>
#include <string.h>

enum pop3_phase {
	PP_GREETING,
	PP_STLS,
	PP_USER,
	PP_PASS,
	PP_UIDL,
	PP_RETR,
	PP_QUIT,
};

static int pop3_cmd(struct lg_slot *s, int phase, const char *cmd,
		    const char *arg)
{
	s->u.pop3.phase = phase;
	if (lg.opt.scenario != LG_SC_LOGIN)
		s->op_start = ev_now(lg.loop);
	return lg_conn_printf(s, "%s%s%s\r\n", cmd, arg ? " " : "",
			      arg ? arg : "");
}

static int pop3_retr_next(struct lg_slot *s)
{
	struct lg_pop3_state *p = &s->u.pop3;
	char n[16];

	if (p->next > p->count)
		return pop3_cmd(s, PP_QUIT, "QUIT", NULL);
	snprintf(n, sizeof(n), "%u", p->next++);
	p->body = 0;
	return pop3_cmd(s, PP_RETR, "RETR", n);
}

/* A +OK (single line, or the end of a multi-line response). */
static int pop3_ok(struct lg_slot *s)
{
	struct lg_pop3_state *p = &s->u.pop3;
	char user[128];
	bool m = lg_measuring();

	if (p->phase != PP_GREETING && m)
		lg.st.ops++;
	if (p->phase != PP_GREETING &&
	    (p->phase != PP_PASS || lg.opt.scenario == LG_SC_LOGIN))
		lg_record_latency(s);
	switch (p->phase) {
	case PP_GREETING:
		if (lg.opt.tls == LG_TLS_STARTTLS)
			return pop3_cmd(s, PP_STLS, "STLS", NULL);
		lg_user_name(s->user, user, sizeof(user));
		return pop3_cmd(s, PP_USER, "USER", user);
	case PP_STLS:
		return lg_conn_starttls(s);
	case PP_USER:
		return pop3_cmd(s, PP_PASS, "PASS", lg.opt.password);
	case PP_PASS:
		if (m)
			lg.st.logins++;
		if (lg.opt.scenario == LG_SC_LOGIN)
			return pop3_cmd(s, PP_QUIT, "QUIT", NULL);
		return pop3_cmd(s, PP_UIDL, "UIDL", NULL);
	case PP_UIDL:
		p->next = 1;
		return pop3_retr_next(s);
	case PP_RETR:
		if (m) {
			lg.st.messages++;
			lg.st.bytes += p->body;
		}
		return pop3_retr_next(s);
	case PP_QUIT:
		lg_session_done(s);
		return 1;
	default:
		return -1;
	}
}

static int pop3_input(struct lg_slot *s)
{
	struct lg_pop3_state *p = &s->u.pop3;

	while (s->c.fd >= 0) {
		const char *line;
		size_t len;
		int r = lg_conn_line(s, &line, &len);

		if (r == 0)
			return 0;
		if (r < 0) {
			lg_session_fail(s, true, "response line too long");
			return -1;
		}
		if (p->multiline) {
			if (len == 1 && line[0] == '.') {
				p->multiline = false;
				r = pop3_ok(s);
			} else if (p->phase == PP_UIDL) {
				if (++p->count > 10000000) {
					lg_session_fail(s, true,
							"UIDL: too long");
					return -1;
				}
			} else {
				p->body += len + 2;
			}
		} else if (len >= 3 && memcmp(line, "+OK", 3) == 0) {
			if (p->phase == PP_UIDL || p->phase == PP_RETR)
				p->multiline = true;
			else
				r = pop3_ok(s);
		} else {
			lg_session_fail(s, true, "%.*s", (int)len, line);
			return -1;
		}
		if (r < 0) {
			if (s->c.fd >= 0)
				lg_session_fail(s, false, "send/STLS failed");
			return -1;
		}
	}
	return 0;
}

static void pop3_connected(struct lg_slot *s)
{
	memset(&s->u.pop3, 0, sizeof(s->u.pop3));
	s->u.pop3.phase = PP_GREETING;
}

static void pop3_tls_ready(struct lg_slot *s)
{
	char user[128];

	lg_user_name(s->user, user, sizeof(user));
	if (pop3_cmd(s, PP_USER, "USER", user) < 0)
		lg_session_fail(s, false, "send failed");
}

const struct lg_client_ops lg_pop3_client = {
    .connected = pop3_connected,
    .input = pop3_input,
    .tls_ready = pop3_tls_ready,
    .eof = NULL,
};
