/* core/login.c - per-connection authentication: the plaintext policy,
 * SASL framing (base64, "*" cancel, size limits) and the request to the
 * auth service. Every callback runs from the loop, never from inside the
 * call that started it (a zero timer defers local answers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "auth-proto.h"
#include "login.h"
#include "sasl-scram.h"
#include "tls.h"
#include "user-extra.h"

/* base64 of PH_SASL_MAX_RESPONSE bytes */
#define LOGIN_MAX_B64 ((PH_SASL_MAX_RESPONSE + 2) / 3 * 4)

enum login_state {
	LOGIN_IDLE,
	LOGIN_PLAIN,	   /* auth_plain() waiting for the service */
	LOGIN_SASL_CLIENT, /* waiting for sasl_continue() */
	LOGIN_SASL_VERIFY, /* SASL credentials with the service */
};

struct ph__login {
	struct ev_loop *loop;
	struct ph__auth_client *client;
	char *service, *remote_ip, *local_ip, *listener;
	int secured, allow_plaintext;
	SSL *ssl;	     /* borrowed, once TLS is up */
	char *cert_username; /* "cn" | "email" */
	enum login_state state;
	int request_id;
	ph_user *user;
	/* the session ticket that came with `user` (or `pending`) */
	unsigned char ticket[PH__AUTH_TICKET_LEN];
	int has_ticket;

	ph_auth_done_fn *plain_cb;
	struct ph__sasl *sasl; /* PLAIN, LOGIN, EXTERNAL */
	/* SCRAM runs in the auth service (the secret never comes here);
	 * the login relays the client's messages */
	const char *scram; /* mechanism name while relaying, else NULL */
	int scram_step;	   /* 0: client-first next, 1: client-final */
	char scram_session[16];
	unsigned char cbind[PH__AUTH_MAX_CBIND];
	size_t cbind_len;
	ph_user
	    *pending;	/* SCRAM: the record, until the client's last answer */
	int final_sent; /* SCRAM: server-final sent as a challenge */
	char mechs[96];
	ph_sasl_fn *sasl_cb;
	void *ctx;

	/* An answer computed locally, delivered by `defer` from the loop. */
	ev_timer defer;
	int defer_plain; /* 1: plain_cb(result), 0: sasl_cb(status) */
	int defer_code;
	char *defer_data;
	size_t defer_len;
};

static const char LOGIN_FAILED[] = "Authentication failed";
static const char LOGIN_TEMPFAIL[] = "Temporary authentication failure";

static void login_defer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ph__login *l = w->data;
	/* Ours now: the callback may start the next step (which queues new
	 * data) or destroy the login; nothing touches `l` after it. */
	char *owned = l->defer_data;
	struct ph_str data = {owned != NULL ? owned : "", l->defer_len};
	int code = l->defer_code;

	l->defer_data = NULL;
	l->defer_len = 0;
	if (l->defer_plain) {
		l->state = LOGIN_IDLE;
		l->plain_cb(l->ctx, code, NULL, data.data);
	} else {
		if (code != PH_SASL_CHALLENGE)
			l->state = LOGIN_IDLE;
		l->sasl_cb(l->ctx, (enum ph_sasl_status)code, data,
			   code == PH_SASL_SUCCESS ? l->user : NULL);
	}
	free(owned);
}

/* Queues an answer; data is copied (NUL-terminated). */
static void login_defer(struct ph__login *l, int plain, int code,
			const char *data, size_t len)
{
	free(l->defer_data);
	l->defer_data = malloc(len + 1);
	if (l->defer_data != NULL) {
		memcpy(l->defer_data, data, len);
		l->defer_data[len] = '\0';
	}
	l->defer_len = l->defer_data != NULL ? len : 0;
	l->defer_plain = plain;
	l->defer_code = code;
	ev_timer_stop(l->loop, &l->defer);
	ev_timer_set(&l->defer, 0., 0.);
	ev_timer_start(l->loop, &l->defer);
}

static void login_defer_msg(struct ph__login *l, int plain, int code,
			    const char *msg)
{
	login_defer(l, plain, code, msg, strlen(msg));
}

static char *login_strdup(const char *s)
{
	return strdup(s != NULL ? s : "");
}

struct ph__login *ph__login_create(struct ev_loop *loop,
				   struct ph__auth_client *client,
				   const struct ph__login_params *params)
{
	struct ph__login *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->loop = loop;
	l->client = client;
	l->service = login_strdup(params->service);
	l->remote_ip = login_strdup(params->remote_ip);
	l->local_ip = login_strdup(params->local_ip);
	l->listener = login_strdup(params->listener);
	l->cert_username = strdup(
	    params->cert_username != NULL ? params->cert_username : "cn");
	l->secured = params->secured;
	l->allow_plaintext = params->allow_plaintext;
	ev_timer_init(&l->defer, login_defer_cb, 0., 0.);
	l->defer.data = l;
	if (l->service == NULL || l->remote_ip == NULL || l->local_ip == NULL ||
	    l->listener == NULL || l->cert_username == NULL) {
		ph__login_destroy(&l);
		return NULL;
	}
	return l;
}

void ph__login_destroy(struct ph__login **login)
{
	struct ph__login *l = *login;

	if (l == NULL)
		return;
	ev_timer_stop(l->loop, &l->defer);
	if (l->request_id > 0)
		ph__auth_client_cancel(l->client, l->request_id);
	ph__sasl_destroy(&l->sasl);
	ph__user_destroy(&l->user);
	ph__user_destroy(&l->pending);
	OPENSSL_cleanse(l->ticket, sizeof(l->ticket));
	free(l->defer_data);
	free(l->service);
	free(l->remote_ip);
	free(l->local_ip);
	free(l->listener);
	free(l->cert_username);
	free(l);
	*login = NULL;
}

void ph__login_set_secured(struct ph__login *login, int secured)
{
	login->secured = secured;
}

void ph__login_set_tls(struct ph__login *login, SSL *ssl)
{
	login->ssl = ssl;
	login->secured = ssl != NULL;
}

static int login_plaintext_ok(const struct ph__login *l)
{
	return l->secured || l->allow_plaintext;
}

/* SCRAM sends no password, so TLS does not matter; it needs every
 * auth plugin to hold SCRAM secrets (the service's hello says so). */
static int login_scram_ok(const struct ph__login *l)
{
	const char *p = ph__auth_client_schemes(l->client);
	size_t n = strlen("SCRAM-SHA-256");

	while ((p = strstr(p, "SCRAM-SHA-256")) != NULL) {
		if (p[n] == '\0' || p[n] == ' ')
			return 1;
		p += n;
	}
	return 0;
}

/* Channel-binding types in the order a client is best served. */
static const char *const login_cbind_types[] = {"tls-exporter",
						"tls-server-end-point"};
#define LOGIN_CBIND_COUNT (sizeof(login_cbind_types) / sizeof(char *))

/* The bindings this connection can provide now; data in bufs. */
static size_t login_cbind(const struct ph__login *l, struct ph__sasl_cbind *cb,
			  unsigned char (*bufs)[EVP_MAX_MD_SIZE])
{
	size_t i, n = 0;

	for (i = 0; l->ssl != NULL && i < LOGIN_CBIND_COUNT; i++) {
		int len = ph__tls_cbind(l->ssl, login_cbind_types[i], bufs[n]);

		if (len > 0) {
			cb[n].type = login_cbind_types[i];
			cb[n].data = bufs[n];
			cb[n].len = (size_t)len;
			n++;
		}
	}
	return n;
}

/* SCRAM-SHA-256-PLUS: SCRAM servable and a TLS channel to bind to. */
static int login_plus_ok(const struct ph__login *l)
{
	struct ph__sasl_cbind cb[LOGIN_CBIND_COUNT];
	unsigned char bufs[LOGIN_CBIND_COUNT][EVP_MAX_MD_SIZE];
	size_t n;

	if (l->ssl == NULL || !login_scram_ok(l))
		return 0;
	n = login_cbind(l, cb, bufs);
	OPENSSL_cleanse(bufs, sizeof(bufs));
	return n > 0;
}

/* The user a verified client certificate names, or NULL. */
static const char *login_cert_user(const struct ph__login *l, char *buf,
				   size_t size)
{
	return ph__tls_client_user(l->ssl, l->cert_username, buf, size);
}

const char *ph__login_mechanisms(struct ph__login *login)
{
	char name[PH__AUTH_MAX_USER + 1];
	int plain = login_plaintext_ok(login);

	/* EXTERNAL only once a verified client certificate names a user:
	 * RFC 4422 A.1 fails the exchange when the client "has not
	 * established its credentials via external means", so offering it
	 * otherwise only invites a round trip that cannot succeed (and
	 * clients that prefer EXTERNAL would pick it first). */
	snprintf(login->mechs, sizeof(login->mechs), "%s%s%s%s",
		 login_plus_ok(login) ? "SCRAM-SHA-256-PLUS " : "",
		 login_scram_ok(login) ? "SCRAM-SHA-256 " : "",
		 login_cert_user(login, name, sizeof(name)) != NULL
		     ? "EXTERNAL "
		     : "",
		 plain ? "PLAIN LOGIN" : "");
	/* no trailing blank */
	if (login->mechs[0] != '\0' &&
	    login->mechs[strlen(login->mechs) - 1] == ' ')
		login->mechs[strlen(login->mechs) - 1] = '\0';
	return login->mechs;
}

const ph_user *ph__login_user(const struct ph__login *login)
{
	return login->user;
}

const unsigned char *ph__login_ticket(const struct ph__login *login)
{
	return login->user != NULL && login->has_ticket ? login->ticket : NULL;
}

/* Keeps (or forgets) the ticket of the record being accepted. */
static void login_keep_ticket(struct ph__login *l, const unsigned char *ticket)
{
	l->has_ticket = ticket != NULL;
	if (ticket != NULL)
		memcpy(l->ticket, ticket, sizeof(l->ticket));
	else
		OPENSSL_cleanse(l->ticket, sizeof(l->ticket));
}

/* Maps a service answer to what a protocol shows. */
static int login_result(int result)
{
	if (result == PH_OK)
		return PH_OK;
	if (result == PH_EAUTH || result == PH_EUNKNOWN)
		return PH_EAUTH;
	return PH_ETEMP;
}

static void login_plain_reply(void *ctx, int result, ph_user *user,
			      const char *message, const unsigned char *ticket)
{
	struct ph__login *l = ctx;

	l->request_id = 0;
	l->state = LOGIN_IDLE;
	result = login_result(result);
	if (result == PH_OK) {
		l->user = user;
		login_keep_ticket(l, ticket);
		l->plain_cb(l->ctx, PH_OK, user, "Logged in");
		return;
	}
	ph__user_destroy(&user);
	l->plain_cb(l->ctx, result, NULL,
		    result == PH_EAUTH ? LOGIN_FAILED : LOGIN_TEMPFAIL);
}

static int login_query_chain(struct ph__login *l, const char *kind,
			     const char *user, struct ph_str password,
			     const char *scheme, const struct ph_str *chain,
			     size_t chain_count, ph__auth_reply_fn *reply)
{
	int scram_first = strcmp(kind, "scram-first") == 0;
	struct ph__auth_query q = {
	    .kind = kind,
	    .service = l->service,
	    .user = user,
	    .password = password.data,
	    .password_len = password.len,
	    .scheme = scheme,
	    .remote_ip = l->remote_ip,
	    .local_ip = l->local_ip,
	    .secured = l->secured,
	    .cbind = scram_first ? l->cbind : NULL,
	    .cbind_len = scram_first ? l->cbind_len : 0,
	    .listener = chain_count > 0 ? l->listener : NULL,
	    .chain = chain,
	    .chain_count = chain_count,
	};
	int id = ph__auth_client_request(l->client, &q, reply, l);

	if (id > 0)
		l->request_id = id;
	return id;
}

static int login_query(struct ph__login *l, const char *kind, const char *user,
		       struct ph_str password, const char *scheme,
		       ph__auth_reply_fn *reply)
{
	return login_query_chain(l, kind, user, password, scheme, NULL, 0,
				 reply);
}

static ph__auth_reply_fn login_sasl_reply;

/* EXTERNAL: the worker's verification only decided to offer it; the
 * auth service verifies the chain itself and names the user, so it can
 * vouch for the login (a session ticket for a system user). */
static int login_external(struct ph__login *l)
{
	struct ph_str chain[PH__AUTH_MAX_CHAIN];
	unsigned char *der = malloc(PH__AUTH_MAX_CHAIN_BYTES);
	int n = der != NULL
		    ? ph__tls_client_chain(l->ssl, chain, PH__AUTH_MAX_CHAIN,
					   der, PH__AUTH_MAX_CHAIN_BYTES)
		    : PH_ENOMEM;
	struct ph_str none = {"", 0};

	if (n > 0)
		n = login_query_chain(l, "external", ph__sasl_authzid(l->sasl),
				      none, NULL, chain, (size_t)n,
				      login_sasl_reply);
	free(der);
	return n;
}

static int login_send(struct ph__login *l, const char *user,
		      struct ph_str password, ph__auth_reply_fn *reply)
{
	return login_query(l, "plain", user, password, NULL, reply);
}

/* A name the service can carry: non-empty, no NUL, bounded. */
static int login_name_ok(struct ph_str user)
{
	return user.len > 0 && user.len <= PH__AUTH_MAX_USER &&
	       memchr(user.data, '\0', user.len) == NULL;
}

int ph__login_plain(struct ph__login *login, struct ph_str user,
		    struct ph_str password, ph_auth_done_fn *cb, void *ctx)
{
	char name[PH__AUTH_MAX_USER + 1];

	if (login->state != LOGIN_IDLE || login->user != NULL)
		return PH_EINUSE;
	if (!login_plaintext_ok(login))
		return PH_EPERM;
	login->plain_cb = cb;
	login->ctx = ctx;
	login->state = LOGIN_PLAIN;
	if (!login_name_ok(user) || password.len > PH__AUTH_MAX_PASSWORD) {
		login_defer_msg(login, 1, PH_EAUTH, LOGIN_FAILED);
		return PH_OK;
	}
	memcpy(name, user.data, user.len);
	name[user.len] = '\0';
	if (login_send(login, name, password, login_plain_reply) < 0)
		login_defer_msg(login, 1, PH_ETEMP, LOGIN_TEMPFAIL);
	return PH_OK;
}

static void login_sasl_end(struct ph__login *l, enum ph_sasl_status status,
			   const char *msg)
{
	ph__sasl_destroy(&l->sasl);
	l->scram = NULL;
	ph__user_destroy(&l->pending);
	login_defer_msg(l, 0, status, msg);
}

static void login_sasl_reply(void *ctx, int result, ph_user *user,
			     const char *message, const unsigned char *ticket)
{
	struct ph__login *l = ctx;
	struct ph_str empty = {"", 0};

	l->request_id = 0;
	l->state = LOGIN_IDLE;
	ph__sasl_destroy(&l->sasl);
	result = login_result(result);
	if (result == PH_OK) {
		l->user = user;
		login_keep_ticket(l, ticket);
		l->sasl_cb(l->ctx, PH_SASL_SUCCESS, empty, user);
		return;
	}
	ph__user_destroy(&user);
	if (result == PH_EAUTH)
		l->sasl_cb(l->ctx, PH_SASL_FAILURE, PH_STR_LIT(LOGIN_FAILED),
			   NULL);
	else
		l->sasl_cb(l->ctx, PH_SASL_TEMPFAIL, PH_STR_LIT(LOGIN_TEMPFAIL),
			   NULL);
}

/* Sends `raw` (server data) base64-encoded as the next challenge. */
static void login_challenge(struct ph__login *l, const char *raw, size_t len)
{
	char *b64;
	size_t b64_len;

	if (ph__base64_encode(raw, len, &b64, &b64_len) < 0) {
		login_sasl_end(l, PH_SASL_TEMPFAIL, LOGIN_TEMPFAIL);
		return;
	}
	l->state = LOGIN_SASL_CLIENT;
	login_defer(l, 0, PH_SASL_CHALLENGE, b64, b64_len);
	free(b64);
}

static void login_sasl_verify(struct ph__login *l)
{
	const char *authcid = ph__sasl_authcid(l->sasl);

	if (!login_name_ok((struct ph_str){authcid, strlen(authcid)}) ||
	    ph__sasl_password(l->sasl).len > PH__AUTH_MAX_PASSWORD) {
		login_sasl_end(l, PH_SASL_FAILURE, LOGIN_FAILED);
		return;
	}
	l->state = LOGIN_SASL_VERIFY;
	if (ph__sasl_is_external(l->sasl)) {
		int ret = login_external(l);

		/* a chain too long to relay cannot succeed: a failure */
		if (ret < 0)
			login_sasl_end(l,
				       ret == PH_ETOOBIG ? PH_SASL_FAILURE
							 : PH_SASL_TEMPFAIL,
				       ret == PH_ETOOBIG ? LOGIN_FAILED
							 : LOGIN_TEMPFAIL);
		return;
	}
	if (login_send(l, authcid, ph__sasl_password(l->sasl),
		       login_sasl_reply) < 0)
		login_sasl_end(l, PH_SASL_TEMPFAIL, LOGIN_TEMPFAIL);
}

/* Turns a local mechanism step's outcome into the next event. */
static void login_sasl_outcome(struct ph__login *l, int step, struct ph_str out)
{
	switch (step) {
	case PH__SASL_CHALLENGE:
		login_challenge(l, out.data, out.len);
		return;
	case PH__SASL_VERIFY:
		login_sasl_verify(l);
		return;
	default:
		login_sasl_end(l, PH_SASL_FAILURE,
			       out.len > 0 ? out.data : LOGIN_FAILED);
		return;
	}
}

/* The service's answer to a relayed SCRAM message. */
static void login_scram_reply(void *ctx, int result, ph_user *user,
			      const char *message, const unsigned char *ticket)
{
	struct ph__login *l = ctx;
	const char *session, *data;
	char *copy;

	l->request_id = 0;
	result = login_result(result);
	if (result != PH_OK) {
		ph__user_destroy(&user);
		/* a server-error value (e=...) or, at the first step, the
		 * mechanism's complaint tells the client what went wrong; a
		 * wrong proof and a lockout stay "failed" */
		if (result == PH_EAUTH &&
		    (strncmp(message, "e=", 2) == 0 ||
		     (l->scram_step == 0 &&
		      strcmp(message, "locked out") != 0)))
			login_sasl_end(l, PH_SASL_FAILURE, message);
		else if (result == PH_EAUTH)
			login_sasl_end(l, PH_SASL_FAILURE, LOGIN_FAILED);
		else
			login_sasl_end(l, PH_SASL_TEMPFAIL, LOGIN_TEMPFAIL);
		return;
	}
	if (l->scram_step == 0) {
		session = ph__user_get(user, "scram_session");
		data = ph__user_get(user, "scram_challenge");
		if (session == NULL || data == NULL ||
		    strlen(session) >= sizeof(l->scram_session)) {
			ph__user_destroy(&user);
			login_sasl_end(l, PH_SASL_TEMPFAIL, LOGIN_TEMPFAIL);
			return;
		}
		strcpy(l->scram_session, session);
		l->scram_step = 1;
		login_challenge(l, data, strlen(data));
		ph__user_destroy(&user);
		return;
	}
	data = ph__user_get(user, "scram_final");
	copy = data != NULL ? strdup(data) : NULL;
	if (copy == NULL) {
		ph__user_destroy(&user);
		login_sasl_end(l, PH_SASL_TEMPFAIL, LOGIN_TEMPFAIL);
		return;
	}
	/* the protocol never sees the mechanism's fields */
	ph__user_unset(user, "scram_final");
	l->pending = user;
	login_keep_ticket(l, ticket);
	l->scram = NULL;
	/* POP3 and IMAP carry no data with success (RFC 4422 3.6): the
	 * server-final message goes out as a last challenge, answered by an
	 * empty response */
	l->final_sent = 1;
	login_challenge(l, copy, strlen(copy));
	free(copy);
}

/* Relays one decoded SCRAM message to the service. */
static void login_scram_send(struct ph__login *l, struct ph_str msg)
{
	if (msg.len > PH__AUTH_MAX_PASSWORD) {
		login_sasl_end(l, PH_SASL_FAILURE, "Response too long");
		return;
	}
	l->state = LOGIN_SASL_VERIFY;
	if (login_query(l, l->scram_step == 0 ? "scram-first" : "scram-final",
			l->scram_step == 0 ? "" : l->scram_session, msg,
			l->scram, login_scram_reply) < 0)
		login_sasl_end(l, PH_SASL_TEMPFAIL, LOGIN_TEMPFAIL);
}

static void login_sasl_step(struct ph__login *l, const struct ph_str *resp)
{
	struct ph_str out;
	int step;

	if (l->scram != NULL) {
		if (resp == NULL) /* SCRAM is client-first: ask for it */
			login_challenge(l, "", 0);
		else
			login_scram_send(l, *resp);
		return;
	}
	step = ph__sasl_step(l->sasl, resp, &out);
	login_sasl_outcome(l, step, out);
}

/* Decodes a client response; returns 0, or -1 after ending the
 * exchange with BADINPUT. */
static int login_decode(struct ph__login *l, struct ph_str text,
			unsigned char **out_r, size_t *len_r)
{
	if (text.len > LOGIN_MAX_B64) {
		login_sasl_end(l, PH_SASL_BADINPUT, "Response too long");
		return -1;
	}
	if (ph__base64_decode(text.data, text.len, out_r, len_r) < 0) {
		login_sasl_end(l, PH_SASL_BADINPUT, "Invalid base64 data");
		return -1;
	}
	return 0;
}

static void login_sasl_feed(struct ph__login *l, struct ph_str text)
{
	unsigned char *raw;
	size_t raw_len;
	struct ph_str resp;

	if (login_decode(l, text, &raw, &raw_len) < 0)
		return;
	resp.data = (const char *)raw;
	resp.len = raw_len;
	login_sasl_step(l, &resp);
	explicit_bzero(raw, raw_len);
	free(raw);
}

static int login_is_scram(const char *mech)
{
	return strcasecmp(mech, "SCRAM-SHA-256") == 0 ||
	       strcasecmp(mech, "SCRAM-SHA-256-PLUS") == 0;
}

/* SCRAM needs the secrets in every plugin, -PLUS also a TLS channel;
 * the channel-binding state travels with the client-first message.
 * Returns 0, or -1 when not offered. */
static int login_scram_prepare(struct ph__login *l, const char *mech)
{
	struct ph__sasl_cbind cb[LOGIN_CBIND_COUNT];
	unsigned char bufs[LOGIN_CBIND_COUNT][EVP_MAX_MD_SIZE];
	size_t n;
	int plus = strcasecmp(mech, "SCRAM-SHA-256-PLUS") == 0, len;

	if (!login_scram_ok(l))
		return -1;
	n = login_cbind(l, cb, bufs);
	/* n > 0: what the mechanism list shows now */
	len =
	    plus && n == 0 ? -1 : ph__auth_cbind_encode(l->cbind, n > 0, cb, n);
	OPENSSL_cleanse(bufs, sizeof(bufs));
	if (len < 0)
		return -1;
	l->cbind_len = (size_t)len;
	l->scram = plus ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256";
	l->scram_step = 0;
	return 0;
}

/* Whether `mech` is offered on this connection now: PLAIN and LOGIN
 * send the password in the clear; EXTERNAL needs a verified client
 * certificate. Returns 0, or -1 when not offered. */
static int login_sasl_prepare(struct ph__login *l)
{
	char name[PH__AUTH_MAX_USER + 1];
	const char *user;

	if (ph__sasl_is_external(l->sasl)) {
		user = login_cert_user(l, name, sizeof(name));
		if (user == NULL || ph__sasl_set_external(l->sasl, user) < 0)
			return -1;
		return 0;
	}
	return login_plaintext_ok(l) ? 0 : -1;
}

int ph__login_sasl_start(struct ph__login *login, const char *mech,
			 const struct ph_str *initial_response, ph_sasl_fn *cb,
			 void *ctx)
{
	if (login->state != LOGIN_IDLE || login->user != NULL)
		return PH_EINUSE;
	if (mech == NULL)
		return PH_ENOTSUP;
	if (login_is_scram(mech)) {
		if (login_scram_prepare(login, mech) < 0)
			return PH_ENOTSUP;
	} else {
		login->sasl = ph__sasl_create(mech);
		if (login->sasl == NULL)
			return PH_ENOTSUP;
		if (login_sasl_prepare(login) < 0) {
			ph__sasl_destroy(&login->sasl);
			return PH_ENOTSUP;
		}
	}
	login->final_sent = 0;
	login->sasl_cb = cb;
	login->ctx = ctx;
	login->state = LOGIN_SASL_CLIENT;
	if (initial_response == NULL)
		login_sasl_step(login, NULL);
	else if (initial_response->len == 1 && initial_response->data[0] == '=')
		login_sasl_step(login, &(struct ph_str){"", 0});
	else
		login_sasl_feed(login, *initial_response);
	return PH_OK;
}

int ph__login_sasl_continue(struct ph__login *login, struct ph_str response)
{
	if (login->state != LOGIN_SASL_CLIENT ||
	    (login->sasl == NULL && login->scram == NULL && !login->final_sent))
		return PH_EINVAL;
	if (login->final_sent) {
		login->final_sent = 0;
		if (response.len == 1 && response.data[0] == '*') {
			login_sasl_end(login, PH_SASL_ABORTED,
				       "Authentication aborted by client");
		} else if (response.len != 0) {
			login_sasl_end(login, PH_SASL_FAILURE, LOGIN_FAILED);
		} else {
			login->user = login->pending;
			login->pending = NULL;
			login_defer(login, 0, PH_SASL_SUCCESS, "", 0);
		}
		return PH_OK;
	}
	if (response.len == 1 && response.data[0] == '*')
		login_sasl_end(login, PH_SASL_ABORTED,
			       "Authentication aborted by client");
	else
		login_sasl_feed(login, response);
	return PH_OK;
}
