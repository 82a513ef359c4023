/* core/auth-proto.c - encoding and strict decoding of auth messages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "auth-proto.h"
#include "sasl-scram.h"

struct proto_writer {
	unsigned char *buf;
	size_t pos;
	int overflow;
};

static void proto_put(struct proto_writer *w, const void *data, size_t len)
{
	if (w->overflow || len > PH__AUTH_MSG_MAX - w->pos) {
		w->overflow = 1;
		return;
	}
	if (len > 0)
		memcpy(w->buf + w->pos, data, len);
	w->pos += len;
}

static void proto_put_u32(struct proto_writer *w, uint32_t v)
{
	proto_put(w, &v, sizeof(v));
}

static void proto_put_str(struct proto_writer *w, struct ph_str s, size_t max)
{
	if (s.len > max) {
		w->overflow = 1;
		return;
	}
	proto_put_u32(w, (uint32_t)s.len);
	proto_put(w, s.data, s.len);
	proto_put(w, "", 1);
}

static int proto_finish(struct proto_writer *w, uint32_t type, uint32_t id)
{
	struct ph__auth_msg_hdr hdr;

	if (w->overflow)
		return PH_ETOOBIG;
	hdr.type = type;
	hdr.len = (uint32_t)(w->pos - sizeof(hdr));
	hdr.request_id = id;
	memcpy(w->buf, &hdr, sizeof(hdr));
	return (int)w->pos;
}

/* EXTERNAL_VERIFY's one encoding: no password, scheme or cbind, a
 * listener, 1..8 non-empty certificates within the byte limit. Returns
 * non-zero when `req` breaks it. */
static int proto_external_bad(const struct ph__auth_request_msg *req)
{
	size_t i, total = 0;

	if (req->password.len != 0 || req->scheme.len != 0 ||
	    req->cbind.len != 0 || req->listener.len == 0 ||
	    req->listener.len > PH__AUTH_MAX_FIELD ||
	    memchr(req->listener.data, '\0', req->listener.len) != NULL ||
	    req->chain_count == 0 || req->chain_count > PH__AUTH_MAX_CHAIN)
		return 1;
	for (i = 0; i < req->chain_count; i++) {
		if (req->chain[i].len == 0 ||
		    req->chain[i].len > PH__AUTH_MAX_CHAIN_BYTES - total)
			return 1;
		total += req->chain[i].len;
	}
	return 0;
}

int ph__auth_encode_request(unsigned char *buf,
			    const struct ph__auth_request_msg *req)
{
	struct proto_writer w = {buf, sizeof(struct ph__auth_msg_hdr), 0};

	proto_put_u32(&w, req->secured ? 1 : 0);
	proto_put_str(&w, req->service, PH__AUTH_MAX_FIELD);
	proto_put_str(&w, req->user, PH__AUTH_MAX_USER);
	proto_put_str(&w, req->password, PH__AUTH_MAX_PASSWORD);
	proto_put_str(&w, req->scheme, PH__AUTH_MAX_FIELD);
	proto_put_str(&w, req->remote_ip, PH__AUTH_MAX_FIELD);
	proto_put_str(&w, req->local_ip, PH__AUTH_MAX_FIELD);
	if (req->type == PH__AUTH_MSG_EXTERNAL_VERIFY) {
		if (proto_external_bad(req))
			return PH_EINVAL;
		proto_put_str(&w, req->listener, PH__AUTH_MAX_FIELD);
		proto_put_u32(&w, (uint32_t)req->chain_count);
		for (size_t i = 0; i < req->chain_count; i++)
			proto_put_str(&w, req->chain[i],
				      PH__AUTH_MAX_CHAIN_BYTES);
	} else if (req->listener.len > 0 || req->chain_count > 0) {
		return PH_EINVAL;
	} else if (req->cbind.len > 0) {
		proto_put_str(&w, req->cbind, PH__AUTH_MAX_CBIND);
	}
	return proto_finish(&w, req->type, req->request_id);
}

int ph__auth_encode_reply(unsigned char *buf,
			  const struct ph__auth_reply_msg *reply)
{
	struct proto_writer w = {buf, sizeof(struct ph__auth_msg_hdr), 0};

	proto_put(&w, &reply->result, sizeof(reply->result));
	proto_put_u32(&w, reply->delay_ms);
	proto_put_str(&w, reply->message, PH__AUTH_MAX_MESSAGE);
	proto_put_str(&w, reply->record, PH__AUTH_MAX_RECORD);
	if (reply->ticket.len > 0) {
		/* one encoding: a ticket only with success, exact length */
		if (reply->ticket.len != PH__AUTH_TICKET_LEN ||
		    reply->result != PH_OK)
			return PH_EINVAL;
		proto_put_str(&w, reply->ticket, PH__AUTH_TICKET_LEN);
	}
	return proto_finish(&w, PH__AUTH_MSG_REPLY, reply->request_id);
}

struct proto_reader {
	const unsigned char *buf;
	size_t pos, len;
	int bad;
};

static void proto_get(struct proto_reader *r, void *out, size_t len)
{
	if (r->bad || len > r->len - r->pos) {
		r->bad = 1;
		memset(out, 0, len);
		return;
	}
	memcpy(out, r->buf + r->pos, len);
	r->pos += len;
}

/* A string with its terminating NUL; NUL-free unless `binary`. */
static struct ph_str proto_get_str(struct proto_reader *r, size_t max,
				   int binary)
{
	struct ph_str s = {"", 0};
	uint32_t len;

	proto_get(r, &len, sizeof(len));
	if (r->bad || len > max || len >= r->len - r->pos ||
	    r->buf[r->pos + len] != '\0' ||
	    (!binary && memchr(r->buf + r->pos, '\0', len) != NULL)) {
		r->bad = 1;
		return s;
	}
	s.data = (const char *)r->buf + r->pos;
	s.len = len;
	r->pos += (size_t)len + 1;
	return s;
}

static int proto_header(struct proto_reader *r, struct ph__auth_msg_hdr *hdr)
{
	proto_get(r, hdr, sizeof(*hdr));
	if (r->bad || r->len > PH__AUTH_MSG_MAX ||
	    hdr->len != r->len - sizeof(*hdr))
		return PH_EINVAL;
	return PH_OK;
}

int ph__auth_decode_request(unsigned char *buf, size_t len,
			    struct ph__auth_request_msg *req_r)
{
	struct proto_reader r = {buf, 0, len, 0};
	struct ph__auth_msg_hdr hdr;
	uint32_t secured;

	memset(req_r, 0, sizeof(*req_r));
	if (proto_header(&r, &hdr) < 0)
		return PH_EINVAL;
	req_r->type = hdr.type;
	req_r->request_id = hdr.request_id;
	proto_get(&r, &secured, sizeof(secured));
	if (secured > 1)
		r.bad = 1;
	req_r->secured = secured != 0;
	req_r->service = proto_get_str(&r, PH__AUTH_MAX_FIELD, 0);
	req_r->user = proto_get_str(&r, PH__AUTH_MAX_USER, 0);
	req_r->password = proto_get_str(&r, PH__AUTH_MAX_PASSWORD, 1);
	req_r->scheme = proto_get_str(&r, PH__AUTH_MAX_FIELD, 0);
	req_r->remote_ip = proto_get_str(&r, PH__AUTH_MAX_FIELD, 0);
	req_r->local_ip = proto_get_str(&r, PH__AUTH_MAX_FIELD, 0);
	req_r->cbind.data = "";
	req_r->listener.data = "";
	if (!r.bad && hdr.type == PH__AUTH_MSG_EXTERNAL_VERIFY) {
		uint32_t count = 0;

		req_r->listener = proto_get_str(&r, PH__AUTH_MAX_FIELD, 0);
		proto_get(&r, &count, sizeof(count));
		if (count > PH__AUTH_MAX_CHAIN)
			r.bad = 1;
		for (uint32_t i = 0; !r.bad && i < count; i++)
			req_r->chain[i] =
			    proto_get_str(&r, PH__AUTH_MAX_CHAIN_BYTES, 1);
		req_r->chain_count = r.bad ? 0 : count;
		if (!r.bad && proto_external_bad(req_r))
			r.bad = 1;
	} else if (!r.bad && r.pos < r.len) {
		/* present only when non-empty: one encoding per message */
		req_r->cbind = proto_get_str(&r, PH__AUTH_MAX_CBIND, 1);
		if (req_r->cbind.len == 0)
			r.bad = 1;
	}
	return r.bad || r.pos != r.len ? PH_EINVAL : PH_OK;
}

int ph__auth_decode_reply(unsigned char *buf, size_t len,
			  struct ph__auth_reply_msg *reply_r)
{
	struct proto_reader r = {buf, 0, len, 0};
	struct ph__auth_msg_hdr hdr;

	memset(reply_r, 0, sizeof(*reply_r));
	if (proto_header(&r, &hdr) < 0 || hdr.type != PH__AUTH_MSG_REPLY)
		return PH_EINVAL;
	reply_r->request_id = hdr.request_id;
	proto_get(&r, &reply_r->result, sizeof(reply_r->result));
	proto_get(&r, &reply_r->delay_ms, sizeof(reply_r->delay_ms));
	reply_r->message = proto_get_str(&r, PH__AUTH_MAX_MESSAGE, 0);
	reply_r->record = proto_get_str(&r, PH__AUTH_MAX_RECORD, 0);
	reply_r->ticket.data = "";
	if (!r.bad && r.pos < r.len) {
		/* present only in a success, with exactly its length */
		reply_r->ticket = proto_get_str(&r, PH__AUTH_TICKET_LEN, 1);
		if (reply_r->ticket.len != PH__AUTH_TICKET_LEN ||
		    reply_r->result != PH_OK)
			r.bad = 1;
	}
	return r.bad || r.pos != r.len ? PH_EINVAL : PH_OK;
}

int ph__auth_encode_attach(unsigned char *buf)
{
	struct proto_writer w = {buf, sizeof(struct ph__auth_msg_hdr), 0};

	return proto_finish(&w, PH__AUTH_MSG_ATTACH, 0);
}

int ph__auth_decode_attach(const unsigned char *buf, size_t len)
{
	struct proto_reader r = {buf, 0, len, 0};
	struct ph__auth_msg_hdr hdr;

	if (proto_header(&r, &hdr) < 0 || hdr.type != PH__AUTH_MSG_ATTACH ||
	    hdr.request_id != 0 || hdr.len != 0)
		return PH_EINVAL;
	return PH_OK;
}

int ph__auth_encode_hello(unsigned char *buf, struct ph_str schemes)
{
	struct proto_writer w = {buf, sizeof(struct ph__auth_msg_hdr), 0};

	proto_put_str(&w, schemes, PH__AUTH_MAX_FIELD);
	return proto_finish(&w, PH__AUTH_MSG_HELLO, 0);
}

int ph__auth_decode_hello(unsigned char *buf, size_t len,
			  struct ph_str *schemes_r)
{
	struct proto_reader r = {buf, 0, len, 0};
	struct ph__auth_msg_hdr hdr;

	if (proto_header(&r, &hdr) < 0 || hdr.type != PH__AUTH_MSG_HELLO)
		return PH_EINVAL;
	*schemes_r = proto_get_str(&r, PH__AUTH_MAX_FIELD, 0);
	return r.bad || r.pos != r.len ? PH_EINVAL : PH_OK;
}

uint32_t ph__auth_msg_type(const unsigned char *buf, size_t len)
{
	struct ph__auth_msg_hdr hdr;

	if (len < sizeof(hdr))
		return 0;
	memcpy(&hdr, buf, sizeof(hdr));
	return hdr.type;
}

struct ph__auth_outq_msg {
	struct ph__auth_outq_msg *next;
	size_t len;
	unsigned char data[];
};

static int outq_send_one(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return 1;
	return PH_ECLOSED;
}

int ph__auth_outq_flush(struct ph__auth_outq *q, int fd)
{
	struct ph__auth_outq_msg *m;
	int ret;

	while ((m = q->head) != NULL) {
		ret = outq_send_one(fd, m->data, m->len);
		if (ret != 0)
			return ret;
		q->head = m->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->count--;
		free(m);
	}
	return 0;
}

int ph__auth_outq_send(struct ph__auth_outq *q, int fd, const void *buf,
		       size_t len)
{
	struct ph__auth_outq_msg *m;
	int ret = 1;

	if (q->head == NULL) {
		ret = outq_send_one(fd, buf, len);
		if (ret <= 0)
			return ret;
	}
	if (q->count >= PH__AUTH_OUTQ_MAX)
		return PH_ETOOBIG;
	m = malloc(sizeof(*m) + len);
	if (m == NULL)
		return PH_ENOMEM;
	m->next = NULL;
	m->len = len;
	memcpy(m->data, buf, len);
	if (q->tail != NULL)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->count++;
	return 1;
}

void ph__auth_outq_clear(struct ph__auth_outq *q)
{
	struct ph__auth_outq_msg *m, *next;

	for (m = q->head; m != NULL; m = next) {
		next = m->next;
		free(m);
	}
	q->head = q->tail = NULL;
	q->count = 0;
}

int ph__auth_cbind_encode(unsigned char *buf, int advertised,
			  const struct ph__sasl_cbind *types, size_t count)
{
	size_t pos = 2, i, n;

	buf[0] = advertised ? 1 : 0;
	buf[1] = (unsigned char)count;
	for (i = 0; i < count; i++) {
		n = strlen(types[i].type);
		if (n == 0 || n >= 64 || types[i].len > 255 ||
		    pos + 2 + n + types[i].len > PH__AUTH_MAX_CBIND)
			return PH_ETOOBIG;
		buf[pos++] = (unsigned char)n;
		memcpy(buf + pos, types[i].type, n);
		pos += n;
		buf[pos++] = (unsigned char)types[i].len;
		memcpy(buf + pos, types[i].data, types[i].len);
		pos += types[i].len;
	}
	return (int)pos;
}

int ph__auth_cbind_decode(struct ph_str data, int *advertised_r,
			  struct ph__sasl_cbind *types_r, char (*names_r)[64],
			  size_t max)
{
	const unsigned char *p = (const unsigned char *)data.data;
	size_t pos = 2, i, count, n;

	*advertised_r = 0;
	if (data.len == 0)
		return 0;
	if (data.len < 2 || p[0] > 1 || p[1] > max)
		return PH_EINVAL;
	*advertised_r = p[0];
	count = p[1];
	for (i = 0; i < count; i++) {
		if (pos >= data.len || (n = p[pos]) == 0 || n >= 64 ||
		    n + 2 > data.len - pos ||
		    memchr(p + pos + 1, '\0', n) != NULL)
			return PH_EINVAL;
		memcpy(names_r[i], p + pos + 1, n);
		names_r[i][n] = '\0';
		pos += 1 + n;
		n = p[pos++];
		if (n > data.len - pos)
			return PH_EINVAL;
		types_r[i].type = names_r[i];
		types_r[i].data = p + pos;
		types_r[i].len = n;
		pos += n;
	}
	return pos == data.len ? (int)count : PH_EINVAL;
}
