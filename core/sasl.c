/* core/sasl.c - server side of SASL PLAIN (RFC 4616), LOGIN and
 * EXTERNAL (RFC 4422 appendix A; SCRAM lives in sasl-scram.c), plus
 * strict base64 (RFC 4648) on top of OpenSSL's block coder. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "sasl-scram.h"

enum sasl_mech {
	SASL_PLAIN,
	SASL_LOGIN,
	SASL_SCRAM_SHA_256,
	SASL_SCRAM_SHA_256_PLUS,
	SASL_EXTERNAL,
};

enum sasl_state {
	SASL_STATE_START,    /* nothing received yet */
	SASL_STATE_RESPONSE, /* PLAIN: waiting for the credentials */
	SASL_STATE_USER,     /* LOGIN: waiting for the user name */
	SASL_STATE_PASSWORD, /* LOGIN: waiting for the password */
	SASL_STATE_DONE,     /* verified or failed: no more steps */
};

struct ph__sasl {
	enum sasl_mech mech;
	enum sasl_state state;
	char *authzid, *authcid;
	char *password; /* NUL-terminated copy; password_len is its length */
	size_t password_len;
	struct ph__scram *scram; /* SCRAM-SHA-256 only */
	char *external_id;	 /* EXTERNAL: the certificate's user */
};

struct ph__sasl *ph__sasl_create(const char *mech)
{
	struct ph__sasl *s;
	enum sasl_mech m;

	if (mech == NULL)
		return NULL;
	if (strcasecmp(mech, "PLAIN") == 0)
		m = SASL_PLAIN;
	else if (strcasecmp(mech, "LOGIN") == 0)
		m = SASL_LOGIN;
	else if (strcasecmp(mech, "SCRAM-SHA-256") == 0)
		m = SASL_SCRAM_SHA_256;
	else if (strcasecmp(mech, "SCRAM-SHA-256-PLUS") == 0)
		m = SASL_SCRAM_SHA_256_PLUS;
	else if (strcasecmp(mech, "EXTERNAL") == 0)
		m = SASL_EXTERNAL;
	else
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->mech = m;
	if ((m == SASL_SCRAM_SHA_256 || m == SASL_SCRAM_SHA_256_PLUS) &&
	    (s->scram = ph__scram_create(m == SASL_SCRAM_SHA_256_PLUS)) == NULL)
		ph__sasl_destroy(&s);
	return s;
}

static void sasl_free_password(struct ph__sasl *s)
{
	if (s->password != NULL) {
		OPENSSL_cleanse(s->password, s->password_len);
		free(s->password);
	}
	s->password = NULL;
	s->password_len = 0;
}

void ph__sasl_destroy(struct ph__sasl **s)
{
	if (*s == NULL)
		return;
	sasl_free_password(*s);
	ph__scram_destroy(&(*s)->scram);
	free((*s)->authzid);
	free((*s)->authcid);
	free((*s)->external_id);
	free(*s);
	*s = NULL;
}

static char *sasl_strndup(const char *data, size_t len)
{
	char *p = malloc(len + 1);

	if (p != NULL) {
		memcpy(p, data, len);
		p[len] = '\0';
	}
	return p;
}

static int sasl_fail(struct ph__sasl *s, struct ph_str *out, const char *msg)
{
	s->state = SASL_STATE_DONE;
	sasl_free_password(s);
	out->data = msg;
	out->len = strlen(msg);
	return PH__SASL_FAIL;
}

static int sasl_challenge(struct ph_str *out, const char *text)
{
	out->data = text;
	out->len = strlen(text);
	return PH__SASL_CHALLENGE;
}

/* RFC 4616: message = [authzid] UTF8NUL authcid UTF8NUL passwd, where
 * authcid and passwd are 1*SAFE (no NUL). We authenticate only as
 * ourselves: an authzid must be empty or equal to the authcid. */
static int sasl_plain_parse(struct ph__sasl *s, const struct ph_str *r,
			    struct ph_str *out)
{
	const char *p = r->data, *end = r->data + r->len;
	const char *nul1, *nul2;

	nul1 = memchr(p, '\0', r->len);
	if (nul1 == NULL)
		return sasl_fail(s, out, "Malformed PLAIN response");
	nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1));
	if (nul2 == NULL || memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)))
		return sasl_fail(s, out, "Malformed PLAIN response");
	if (nul2 == nul1 + 1 || nul2 + 1 == end)
		return sasl_fail(s, out, "Empty user name or password");
	s->authzid = sasl_strndup(p, (size_t)(nul1 - p));
	s->authcid = sasl_strndup(nul1 + 1, (size_t)(nul2 - nul1 - 1));
	s->password_len = (size_t)(end - nul2 - 1);
	s->password = sasl_strndup(nul2 + 1, s->password_len);
	if (s->authzid == NULL || s->authcid == NULL || s->password == NULL)
		return sasl_fail(s, out, "Out of memory");
	if (s->authzid[0] != '\0' && strcmp(s->authzid, s->authcid) != 0)
		return sasl_fail(s, out, "Authorization identity not allowed");
	s->state = SASL_STATE_DONE;
	return PH__SASL_VERIFY;
}

static int sasl_plain_step(struct ph__sasl *s, const struct ph_str *r,
			   struct ph_str *out)
{
	if (r == NULL) {
		if (s->state != SASL_STATE_START)
			return sasl_fail(s, out, "Missing response");
		s->state = SASL_STATE_RESPONSE;
		return sasl_challenge(out, "");
	}
	return sasl_plain_parse(s, r, out);
}

/* LOGIN (draft-murchison-sasl-login): "Username:" then "Password:". An
 * initial response is taken as the user name. */
static int sasl_login_step(struct ph__sasl *s, const struct ph_str *r,
			   struct ph_str *out)
{
	if (s->state == SASL_STATE_START) {
		s->state = SASL_STATE_USER;
		if (r == NULL)
			return sasl_challenge(out, "Username:");
	}
	if (r == NULL)
		return sasl_fail(s, out, "Missing response");
	if (s->state == SASL_STATE_USER) {
		if (r->len == 0 || memchr(r->data, '\0', r->len) != NULL)
			return sasl_fail(s, out, "Invalid user name");
		s->authcid = sasl_strndup(r->data, r->len);
		if (s->authcid == NULL)
			return sasl_fail(s, out, "Out of memory");
		s->state = SASL_STATE_PASSWORD;
		return sasl_challenge(out, "Password:");
	}
	s->password_len = r->len;
	s->password = sasl_strndup(r->data, r->len);
	if (s->password == NULL)
		return sasl_fail(s, out, "Out of memory");
	s->state = SASL_STATE_DONE;
	return PH__SASL_VERIFY;
}

/* EXTERNAL (RFC 4422 appendix A): the identity is the one the TLS client
 * certificate established; the client sends only an authzid, which must
 * be empty or that identity (we never act for someone else). */
static int sasl_external_step(struct ph__sasl *s, const struct ph_str *r,
			      struct ph_str *out)
{
	const char *id = s->external_id;

	if (r == NULL) {
		if (s->state != SASL_STATE_START)
			return sasl_fail(s, out, "Missing response");
		s->state = SASL_STATE_RESPONSE;
		return sasl_challenge(out, "");
	}
	if (id == NULL || id[0] == '\0')
		return sasl_fail(s, out, "No verified client certificate");
	if (memchr(r->data, '\0', r->len) != NULL)
		return sasl_fail(s, out, "Malformed EXTERNAL response");
	if (r->len > 0 &&
	    (r->len != strlen(id) || memcmp(r->data, id, r->len) != 0))
		return sasl_fail(s, out, "Authorization identity not allowed");
	s->authzid = sasl_strndup(r->data, r->len);
	s->authcid = strdup(id);
	if (s->authzid == NULL || s->authcid == NULL)
		return sasl_fail(s, out, "Out of memory");
	s->state = SASL_STATE_DONE;
	return PH__SASL_VERIFY;
}

int ph__sasl_set_external(struct ph__sasl *s, const char *identity)
{
	free(s->external_id);
	s->external_id = identity != NULL ? strdup(identity) : NULL;
	return identity != NULL && s->external_id == NULL ? PH_ENOMEM : PH_OK;
}

int ph__sasl_is_external(const struct ph__sasl *s)
{
	return s->mech == SASL_EXTERNAL;
}

int ph__sasl_set_cbind(struct ph__sasl *s, int advertised,
		       const struct ph__sasl_cbind *types, size_t count)
{
	if (s->scram == NULL)
		return PH_OK;
	return ph__scram_set_cbind(s->scram, advertised, types, count);
}

/* The exchange stays in SASL_STATE_RESPONSE while SCRAM runs, except
 * that a VERIFY waits for ph__sasl_set_credentials(). */
static int sasl_scram_step(struct ph__sasl *s, const struct ph_str *r,
			   struct ph_str *out)
{
	const char *authcid = NULL;
	int ret = ph__scram_step(s->scram, r, out, &authcid);

	if (ret == PH__SASL_VERIFY) {
		s->authcid = strdup(authcid);
		if (s->authcid == NULL)
			return sasl_fail(s, out, "Out of memory");
	}
	if (ret == PH__SASL_FAIL || ret == PH__SASL_SUCCESS)
		s->state = SASL_STATE_DONE;
	else
		s->state = SASL_STATE_RESPONSE;
	return ret;
}

int ph__sasl_step(struct ph__sasl *s, const struct ph_str *response,
		  struct ph_str *out)
{
	if (s->state == SASL_STATE_DONE)
		return sasl_fail(s, out, "Exchange already finished");
	if (response != NULL && response->len > PH_SASL_MAX_RESPONSE)
		return sasl_fail(s, out, "Response too long");
	switch (s->mech) {
	case SASL_PLAIN:
		return sasl_plain_step(s, response, out);
	case SASL_LOGIN:
		return sasl_login_step(s, response, out);
	case SASL_EXTERNAL:
		return sasl_external_step(s, response, out);
	case SASL_SCRAM_SHA_256:
	case SASL_SCRAM_SHA_256_PLUS:
		break;
	}
	return sasl_scram_step(s, response, out);
}

const char *ph__sasl_credentials_scheme(const struct ph__sasl *s)
{
	return s->scram != NULL ? "SCRAM-SHA-256" : NULL;
}

int ph__sasl_set_credentials(struct ph__sasl *s, const char *secret,
			     struct ph_str *out)
{
	int ret;

	if (s->scram == NULL || s->state != SASL_STATE_RESPONSE)
		return sasl_fail(s, out, "Unexpected credentials");
	ret = ph__scram_set_credentials(s->scram, secret, out);
	if (ret == PH__SASL_FAIL)
		s->state = SASL_STATE_DONE;
	return ret;
}

void ph__sasl_scram_set_nonce(struct ph__sasl *s, const char *nonce)
{
	if (s->scram != NULL)
		ph__scram_set_nonce(s->scram, nonce);
}

const char *ph__sasl_authcid(const struct ph__sasl *s)
{
	return s->authcid != NULL ? s->authcid : "";
}

const char *ph__sasl_authzid(const struct ph__sasl *s)
{
	return s->authzid != NULL ? s->authzid : "";
}

struct ph_str ph__sasl_password(const struct ph__sasl *s)
{
	struct ph_str p = {s->password != NULL ? s->password : "",
			   s->password_len};
	return p;
}

int ph__base64_encode(const void *data, size_t len, char **out_r,
		      size_t *out_len_r)
{
	size_t olen;
	char *out;
	int n;

	if (len > (size_t)INT32_MAX / 4 * 3 - 3)
		return PH_ETOOBIG;
	olen = (len + 2) / 3 * 4;
	out = malloc(olen + 1);
	if (out == NULL)
		return PH_ENOMEM;
	n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	if (n < 0 || (size_t)n != olen) {
		free(out);
		return PH_EINTERNAL;
	}
	out[olen] = '\0';
	*out_r = out;
	*out_len_r = olen;
	return PH_OK;
}

static int base64_char_ok(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* EVP_DecodeBlock is lenient (skips blanks, ignores where '=' sits), so
 * the text is validated first: groups of four alphabet characters, with
 * one or two '=' only at the very end. */
int ph__base64_decode(const char *text, size_t len, unsigned char **out_r,
		      size_t *out_len_r)
{
	size_t i, pad = 0, olen;
	unsigned char *out;
	int n;

	if (len % 4 != 0)
		return PH_EINVAL;
	if (len > (size_t)INT32_MAX)
		return PH_ETOOBIG;
	if (len > 0 && text[len - 1] == '=')
		pad = text[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++) {
		if (!base64_char_ok((unsigned char)text[i]))
			return PH_EINVAL;
	}
	olen = len / 4 * 3 - pad;
	out = malloc(len / 4 * 3 + 1);
	if (out == NULL)
		return PH_ENOMEM;
	n = len == 0
		? 0
		: EVP_DecodeBlock(out, (const unsigned char *)text, (int)len);
	if (n < 0 || (size_t)n != len / 4 * 3) {
		free(out);
		return PH_EINVAL;
	}
	out[olen] = '\0';
	*out_r = out;
	*out_len_r = olen;
	return PH_OK;
}
