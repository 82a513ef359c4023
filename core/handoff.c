/* core/handoff.c - the session policy and the handoff message codec
 * (pure: no I/O, so both are unit-tested and fuzzed directly). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth-proto.h"
#include "handoff.h"

struct writer {
	unsigned char *buf;
	size_t pos;
	int overflow;
};

static void put(struct writer *w, const void *data, size_t len)
{
	if (w->overflow || len > PH__HANDOFF_MSG_MAX - w->pos) {
		w->overflow = 1;
		return;
	}
	if (len > 0)
		memcpy(w->buf + w->pos, data, len);
	w->pos += len;
}

static void put_u32(struct writer *w, uint32_t v)
{
	put(w, &v, sizeof(v));
}

static void put_str(struct writer *w, struct ph_str s, size_t max)
{
	if (s.len > max || (s.len > 0 && s.data == NULL)) {
		w->overflow = 1;
		return;
	}
	put_u32(w, (uint32_t)s.len);
	put(w, s.data, s.len);
	put(w, "", 1);
}

int ph__handoff_encode(unsigned char *buf, const struct ph__handoff_msg *m)
{
	struct writer w = {buf, sizeof(struct ph__auth_msg_hdr), 0};
	struct ph__auth_msg_hdr hdr;

	put_u32(&w, m->flags);
	put_u32(&w, m->peer_port);
	put_u32(&w, m->local_port);
	put_str(&w, m->listener, PH__HANDOFF_MAX_NAME);
	put_str(&w, m->protocol, PH__HANDOFF_MAX_NAME);
	put_str(&w, m->session_id, PH__HANDOFF_MAX_NAME);
	put_str(&w, m->peer_ip, PH__HANDOFF_MAX_NAME);
	put_str(&w, m->local_ip, PH__HANDOFF_MAX_NAME);
	put_str(&w, m->tls_version, PH__HANDOFF_MAX_NAME);
	put_str(&w, m->tls_cipher, PH__HANDOFF_MAX_NAME);
	put_str(&w, m->user, PH__HANDOFF_MAX_RECORD);
	if (m->ticket.len != 0 && m->ticket.len != PH__AUTH_TICKET_LEN)
		w.overflow = 1;
	put_str(&w, m->ticket, PH__AUTH_TICKET_LEN);
	put_str(&w, m->state, PH__HANDOFF_MAX_STATE);
	put_str(&w, m->input, PH__HANDOFF_MAX_INPUT);
	if (w.overflow)
		return PH_ETOOBIG;
	hdr.type = PH__HANDOFF_MSG_SESSION;
	hdr.len = (uint32_t)(w.pos - sizeof(hdr));
	hdr.request_id = 0;
	memcpy(buf, &hdr, sizeof(hdr));
	return (int)w.pos;
}

struct reader {
	unsigned char *buf;
	size_t pos, len;
	int bad;
};

static uint32_t get_u32(struct reader *r)
{
	uint32_t v = 0;

	if (r->bad || r->len - r->pos < sizeof(v)) {
		r->bad = 1;
		return 0;
	}
	memcpy(&v, r->buf + r->pos, sizeof(v));
	r->pos += sizeof(v);
	return v;
}

/* `text`: a C string, no NUL inside. */
static struct ph_str get_str(struct reader *r, size_t max, int text)
{
	struct ph_str s = {"", 0};
	uint32_t n = get_u32(r);

	if (r->bad || n > max || r->len - r->pos < (size_t)n + 1 ||
	    r->buf[r->pos + n] != '\0' ||
	    (text && memchr(r->buf + r->pos, '\0', n) != NULL)) {
		r->bad = 1;
		return s;
	}
	s.data = (const char *)r->buf + r->pos;
	s.len = n;
	r->pos += (size_t)n + 1;
	return s;
}

int ph__handoff_decode(unsigned char *buf, size_t len,
		       struct ph__handoff_msg *m)
{
	struct reader r = {buf, sizeof(struct ph__auth_msg_hdr), len, 0};
	struct ph__auth_msg_hdr hdr;
	uint32_t peer_port, local_port;

	memset(m, 0, sizeof(*m));
	if (len < sizeof(hdr) || len > PH__HANDOFF_MSG_MAX)
		return PH_EINVAL;
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.type != PH__HANDOFF_MSG_SESSION || hdr.request_id != 0 ||
	    hdr.len != len - sizeof(hdr))
		return PH_EINVAL;
	m->flags = get_u32(&r);
	peer_port = get_u32(&r);
	local_port = get_u32(&r);
	m->listener = get_str(&r, PH__HANDOFF_MAX_NAME, 1);
	m->protocol = get_str(&r, PH__HANDOFF_MAX_NAME, 1);
	m->session_id = get_str(&r, PH__HANDOFF_MAX_NAME, 1);
	m->peer_ip = get_str(&r, PH__HANDOFF_MAX_NAME, 1);
	m->local_ip = get_str(&r, PH__HANDOFF_MAX_NAME, 1);
	m->tls_version = get_str(&r, PH__HANDOFF_MAX_NAME, 1);
	m->tls_cipher = get_str(&r, PH__HANDOFF_MAX_NAME, 1);
	m->user = get_str(&r, PH__HANDOFF_MAX_RECORD, 1);
	m->ticket = get_str(&r, PH__AUTH_TICKET_LEN, 0);
	m->state = get_str(&r, PH__HANDOFF_MAX_STATE, 0);
	m->input = get_str(&r, PH__HANDOFF_MAX_INPUT, 0);
	if (r.bad || r.pos != len || (m->flags & ~PH__HANDOFF_TLS) != 0 ||
	    peer_port > 65535 || local_port > 65535 || m->listener.len == 0 ||
	    m->protocol.len == 0 || m->user.len == 0 ||
	    (m->ticket.len != 0 && m->ticket.len != PH__AUTH_TICKET_LEN)) {
		memset(m, 0, sizeof(*m));
		return PH_EINVAL;
	}
	m->peer_port = (uint16_t)peer_port;
	m->local_port = (uint16_t)local_port;
	return PH_OK;
}

/* A decimal id without sign, spaces or overflow (uid_t is 32 bits). */
static int parse_id(const char *s, unsigned long *v_r)
{
	unsigned long v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 10)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v >= UINT32_MAX) /* (uid_t)-1 means "no change" to setresuid */
		return -1;
	*v_r = v;
	return 0;
}

enum ph__session_decision ph__session_decide(const struct ph__session_policy *p,
					     const char *uid, const char *gid,
					     uid_t *uid_r, gid_t *gid_r,
					     const char **why_r)
{
	unsigned long u, g;

	*why_r = NULL;
	if (uid == NULL || *uid == '\0')
		return PH__SESSION_STAY; /* virtual user */
	if (parse_id(uid, &u) < 0) {
		*why_r = "the user record's uid is not a number";
		return PH__SESSION_REFUSE;
	}
	if ((uid_t)u == p->euid)
		return PH__SESSION_STAY;
	if (u == 0) {
		*why_r = "logins with uid 0 are not permitted";
		return PH__SESSION_REFUSE;
	}
	if (u < p->first_valid_uid) {
		*why_r = "uid below [auth] first_valid_uid";
		return PH__SESSION_REFUSE;
	}
	if (gid == NULL || parse_id(gid, &g) < 0 || g == 0) {
		*why_r = "the user record has no usable gid";
		return PH__SESSION_REFUSE;
	}
	if (!p->master_root || !p->have_channel) {
		*why_r = "the user needs its own uid but the master does not "
			 "run as root";
		return PH__SESSION_REFUSE;
	}
	if (!p->can_resume) {
		*why_r = "the user needs its own uid but the protocol plugin "
			 "cannot resume sessions (ABI 1.0)";
		return PH__SESSION_REFUSE;
	}
	*uid_r = (uid_t)u;
	*gid_r = (gid_t)g;
	return PH__SESSION_HANDOFF;
}

int ph__protocol_can_resume(const struct ph_protocol_ops *ops)
{
	return ops != NULL && PH_HAS_FIELD(ops, conn_resume) &&
	       ops->conn_resume != NULL;
}

int ph__protocol_can_answer_failure(const struct ph_protocol_ops *ops)
{
	return ops != NULL && PH_HAS_FIELD(ops, conn_handoff_failed) &&
	       ops->conn_handoff_failed != NULL;
}

int ph__handoff_encode_result(unsigned char *buf, size_t size, int result,
			      struct ph_str session_id)
{
	struct ph__auth_msg_hdr hdr;
	size_t len = sizeof(hdr) + 4 + 4 + session_id.len + 1;
	int32_t r = result;
	uint32_t n = (uint32_t)session_id.len;

	if (session_id.len > PH__HANDOFF_MAX_NAME || len > size ||
	    (session_id.len > 0 && session_id.data == NULL))
		return PH_ETOOBIG;
	hdr.type = PH__HANDOFF_MSG_RESULT;
	hdr.len = (uint32_t)(len - sizeof(hdr));
	hdr.request_id = 0;
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &r, 4);
	memcpy(buf + sizeof(hdr) + 4, &n, 4);
	if (n > 0)
		memcpy(buf + sizeof(hdr) + 8, session_id.data, n);
	buf[len - 1] = '\0';
	return (int)len;
}

int ph__handoff_decode_result(unsigned char *buf, size_t len, int *result_r,
			      struct ph_str *session_id_r)
{
	struct reader r = {buf, sizeof(struct ph__auth_msg_hdr), len, 0};
	struct ph__auth_msg_hdr hdr;
	int32_t result;

	if (len < sizeof(hdr) + 4 || len > PH__HANDOFF_RESULT_MAX)
		return PH_EINVAL;
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.type != PH__HANDOFF_MSG_RESULT || hdr.request_id != 0 ||
	    hdr.len != len - sizeof(hdr))
		return PH_EINVAL;
	memcpy(&result, buf + r.pos, 4);
	r.pos += 4;
	*session_id_r = get_str(&r, PH__HANDOFF_MAX_NAME, 1);
	if (r.bad || r.pos != len || result > 0 || result < PH_EINTERNAL)
		return PH_EINVAL;
	*result_r = result;
	return PH_OK;
}

size_t ph__session_status_format(char *buf, int ok, const char *why)
{
	int n;

	if (ok)
		n = snprintf(buf, PH__SESSION_STATUS_MAX, "ok\n");
	else
		n = snprintf(buf, PH__SESSION_STATUS_MAX, "fail: %.*s\n",
			     PH__SESSION_STATUS_MAX - 8,
			     why != NULL && *why != '\0' ? why : "unknown");
	return n < 0 ? 0 : (size_t)n;
}

int ph__session_status_parse(const char *buf, size_t len, char *why_r,
			     size_t why_size)
{
	static const char fail[] = "fail: ";
	size_t n = 0;

	if (why_size > 0)
		why_r[0] = '\0';
	if (len == 3 && memcmp(buf, "ok\n", 3) == 0)
		return 1;
	if (len < sizeof(fail) || len > PH__SESSION_STATUS_MAX ||
	    memcmp(buf, fail, sizeof(fail) - 1) != 0 || buf[len - 1] != '\n')
		return PH_EINVAL;
	/* The child may already run as the user: its words are text for
	 * the log, nothing more. */
	for (size_t i = sizeof(fail) - 1; i < len - 1 && n + 1 < why_size;
	     i++) {
		unsigned char ch = (unsigned char)buf[i];

		why_r[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	if (why_size > 0)
		why_r[n] = '\0';
	return 0;
}
