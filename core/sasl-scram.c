/* core/sasl-scram.c - server side of SCRAM-SHA-256 (RFC 5802 with the
 * SHA-256 hash of RFC 7677) and its channel-binding variant -PLUS (RFC
 * 5802 section 6; the connection supplies the binding data: RFC 9266
 * tls-exporter, RFC 5929 tls-server-end-point). The stored secret
 * is Dovecot's "iterations,salt,StoredKey,ServerKey" (base64 fields). It
 * runs in the auth service: neither the password nor the secret reaches
 * a worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include "sasl-scram.h"

#define SCRAM_KEY_LEN	  32 /* SHA-256 */
#define SCRAM_NONCE_BYTES 18
#define SCRAM_FAKE_ITER	  4096
#define SCRAM_MAX_ITER	  1000000

enum scram_state {
	SCRAM_START,
	SCRAM_WAIT_CREDENTIALS,
	SCRAM_WAIT_FINAL,
	SCRAM_DONE,
};

struct scram_cbind {
	char *type;
	unsigned char *data;
	size_t len;
};

struct ph__scram {
	enum scram_state state;
	int plus;	   /* SCRAM-SHA-256-PLUS: the client must bind */
	int cb_advertised; /* the connection offers -PLUS */
	struct scram_cbind cb[PH__SASL_CBIND_MAX];
	size_t cb_count;
	/* what c= must carry: gs2-header [cbind-data] (RFC 5802 7) */
	unsigned char *cb_input;
	size_t cb_input_len;
	char *gs2_header; /* "n,," or "y,,a=user," or "p=type,," */
	char *client_first_bare;
	char *cnonce, *nonce, *authcid;
	char *server_first;
	char *out; /* last output, owned */
	char *fixed_snonce;
	unsigned char stored_key[SCRAM_KEY_LEN], server_key[SCRAM_KEY_LEN];
	int fake; /* made-up credentials: the proof can never match */
};

struct ph__scram *ph__scram_create(int plus)
{
	struct ph__scram *sc = calloc(1, sizeof(struct ph__scram));

	if (sc != NULL)
		sc->plus = plus;
	return sc;
}

static void scram_cbind_clear(struct ph__scram *sc)
{
	size_t i;

	for (i = 0; i < sc->cb_count; i++) {
		OPENSSL_cleanse(sc->cb[i].data, sc->cb[i].len);
		free(sc->cb[i].data);
		free(sc->cb[i].type);
	}
	sc->cb_count = 0;
}

int ph__scram_set_cbind(struct ph__scram *sc, int advertised,
			const struct ph__sasl_cbind *types, size_t count)
{
	size_t i;

	scram_cbind_clear(sc);
	sc->cb_advertised = advertised;
	for (i = 0; i < count && i < PH__SASL_CBIND_MAX; i++) {
		struct scram_cbind *cb = &sc->cb[sc->cb_count];

		cb->type = strdup(types[i].type);
		cb->data = malloc(types[i].len > 0 ? types[i].len : 1);
		if (cb->type == NULL || cb->data == NULL) {
			free(cb->type);
			free(cb->data);
			return PH_ENOMEM;
		}
		memcpy(cb->data, types[i].data, types[i].len);
		cb->len = types[i].len;
		sc->cb_count++;
	}
	return PH_OK;
}

void ph__scram_destroy(struct ph__scram **scp)
{
	struct ph__scram *sc = *scp;

	if (sc == NULL)
		return;
	OPENSSL_cleanse(sc->stored_key, sizeof(sc->stored_key));
	OPENSSL_cleanse(sc->server_key, sizeof(sc->server_key));
	scram_cbind_clear(sc);
	free(sc->cb_input);
	free(sc->gs2_header);
	free(sc->client_first_bare);
	free(sc->cnonce);
	free(sc->nonce);
	free(sc->authcid);
	free(sc->server_first);
	free(sc->out);
	free(sc->fixed_snonce);
	free(sc);
	*scp = NULL;
}

void ph__scram_set_nonce(struct ph__scram *sc, const char *nonce)
{
	free(sc->fixed_snonce);
	sc->fixed_snonce = strdup(nonce);
}

static int scram_fail(struct ph__scram *sc, struct ph_str *out, const char *msg)
{
	sc->state = SCRAM_DONE;
	out->data = msg;
	out->len = strlen(msg);
	return PH__SASL_FAIL;
}

/* Hands `text` (malloc'd, taken over) out as the step's output. */
static int scram_output(struct ph__scram *sc, char *text, struct ph_str *out,
			int step)
{
	if (text == NULL)
		return scram_fail(sc, out, "Out of memory");
	free(sc->out);
	sc->out = text;
	out->data = text;
	out->len = strlen(text);
	return step;
}

/* saslname (RFC 5802 5.1): "=2C" is ',' and "=3D" is '='; any other '='
 * is an error. Returns a malloc'd string or NULL. */
static char *scram_saslname(const char *in, size_t len)
{
	char *out = malloc(len + 1), *o = out;
	size_t i;

	if (out == NULL || len == 0)
		goto fail;
	for (i = 0; i < len; i++) {
		if (in[i] != '=') {
			*o++ = in[i];
		} else if (len - i >= 3 && memcmp(in + i, "=2C", 3) == 0) {
			*o++ = ',';
			i += 2;
		} else if (len - i >= 3 && memcmp(in + i, "=3D", 3) == 0) {
			*o++ = '=';
			i += 2;
		} else {
			goto fail;
		}
	}
	*o = '\0';
	return out;
fail:
	free(out);
	return NULL;
}

/* Length of the attribute value starting at p (up to ',' or end). */
static size_t scram_value_len(const char *p, const char *end)
{
	const char *c = memchr(p, ',', (size_t)(end - p));

	return c != NULL ? (size_t)(c - p) : (size_t)(end - p);
}

static int scram_printable(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e ||
		    p[i] == ',')
			return 0;
	}
	return len > 0;
}

static const struct scram_cbind *scram_cbind_find(const struct ph__scram *sc,
						  const char *type, size_t len)
{
	size_t i;

	for (i = 0; i < sc->cb_count; i++) {
		if (strlen(sc->cb[i].type) == len &&
		    memcmp(sc->cb[i].type, type, len) == 0)
			return &sc->cb[i];
	}
	return NULL;
}

/* cb-name = 1*(ALPHA / DIGIT / "." / "-") */
static int scram_cb_name_ok(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return 0;
	}
	return len > 0;
}

/* gs2-cbind-flag = ("p=" cb-name) / "n" / "y", then ','. The negotiation
 * rules of RFC 5802 section 6: -PLUS needs "p"; "p" names a type this
 * connection provides or fails with unsupported-channel-binding-type;
 * "y" while the server offers -PLUS is a downgrade. Moves *pp past the
 * ','; returns NULL or the failure message (the server-error value where
 * RFC 5802 7 defines one). */
static const char *scram_gs2_cbind(struct ph__scram *sc, const char **pp,
				   const char *end)
{
	const char *p = *pp;
	size_t len = scram_value_len(p, end);

	if (p + len >= end)
		return "Malformed SCRAM message";
	*pp = p + len + 1;
	if (len == 1 && (p[0] == 'n' || p[0] == 'y')) {
		if (sc->plus)
			return "SCRAM-SHA-256-PLUS needs channel binding "
			       "(gs2 flag p)";
		if (p[0] == 'y' && sc->cb_advertised)
			return "e=server-does-support-channel-binding";
		return NULL;
	}
	if (len < 3 || p[0] != 'p' || p[1] != '=' ||
	    !scram_cb_name_ok(p + 2, len - 2))
		return "Malformed SCRAM message";
	if (!sc->plus)
		return sc->cb_advertised ? "Channel binding needs "
					   "SCRAM-SHA-256-PLUS"
					 : "e=channel-binding-not-supported";
	if (sc->cb_count == 0)
		return "e=channel-binding-not-supported";
	if (scram_cbind_find(sc, p + 2, len - 2) == NULL)
		return "e=unsupported-channel-binding-type";
	return NULL;
}

/* cbind-input = gs2-header [ cbind-data ]: the data only with "p". */
static int scram_cb_input(struct ph__scram *sc, const char *gs2)
{
	const struct scram_cbind *cb = NULL;
	size_t glen, len;

	if (gs2 == NULL)
		return -1;
	glen = strlen(gs2);
	if (gs2[0] == 'p')
		cb = scram_cbind_find(sc, gs2 + 2,
				      scram_value_len(gs2 + 2, gs2 + glen));
	len = glen + (cb != NULL ? cb->len : 0);
	sc->cb_input = malloc(len);
	if (sc->cb_input == NULL)
		return -1;
	memcpy(sc->cb_input, gs2, glen);
	if (cb != NULL)
		memcpy(sc->cb_input + glen, cb->data, cb->len);
	sc->cb_input_len = len;
	return 0;
}

/* client-first-message = gs2-header client-first-message-bare */
static int scram_client_first(struct ph__scram *sc, const struct ph_str *r,
			      struct ph_str *out, const char **authcid_r)
{
	const char *p = r->data, *end = r->data + r->len, *bare;
	const char *err = scram_gs2_cbind(sc, &p, end);
	char *authzid = NULL;
	size_t len;

	if (err != NULL)
		return scram_fail(sc, out, err);
	len = scram_value_len(p, end);
	if (p + len >= end)
		return scram_fail(sc, out, "Malformed SCRAM message");
	if (len > 0) {
		if (len < 3 || p[0] != 'a' || p[1] != '=' ||
		    (authzid = scram_saslname(p + 2, len - 2)) == NULL)
			return scram_fail(sc, out, "Malformed authzid");
	}
	bare = p + len + 1;
	sc->gs2_header = strndup(r->data, (size_t)(bare - r->data));
	if (scram_cb_input(sc, sc->gs2_header) < 0)
		goto malformed;
	sc->client_first_bare = strndup(bare, (size_t)(end - bare));
	/* n=saslname,r=nonce[,extensions]; a mandatory extension (m=) is
	 * one we cannot know */
	p = bare;
	if (end - p < 2 || p[0] != 'n' || p[1] != '=')
		goto malformed;
	len = scram_value_len(p + 2, end);
	sc->authcid = scram_saslname(p + 2, len);
	p += 2 + len;
	if (sc->authcid == NULL || end - p < 3 || memcmp(p, ",r=", 3) != 0)
		goto malformed;
	p += 3;
	len = scram_value_len(p, end);
	if (!scram_printable(p, len))
		goto malformed;
	sc->cnonce = strndup(p, len);
	if (sc->gs2_header == NULL || sc->client_first_bare == NULL ||
	    sc->cnonce == NULL)
		goto malformed;
	if (authzid != NULL && strcmp(authzid, sc->authcid) != 0) {
		free(authzid);
		return scram_fail(sc, out,
				  "Authorization identity not allowed");
	}
	free(authzid);
	sc->state = SCRAM_WAIT_CREDENTIALS;
	*authcid_r = sc->authcid;
	return PH__SASL_VERIFY;
malformed:
	free(authzid);
	return scram_fail(sc, out, "Malformed SCRAM message");
}

static int scram_b64_exact(const char *text, size_t len, unsigned char *out,
			   size_t want)
{
	unsigned char *raw;
	size_t raw_len;
	int ok;

	if (ph__base64_decode(text, len, &raw, &raw_len) < 0)
		return 0;
	ok = raw_len == want;
	if (ok)
		memcpy(out, raw, want);
	free(raw);
	return ok;
}

/* "iterations,salt,StoredKey,ServerKey"; fills the keys and returns the
 * salt's base64 text (malloc'd), or NULL when malformed. */
static char *scram_parse_secret(struct ph__scram *sc, const char *secret,
				unsigned long *iter_r)
{
	const char *f[4], *end = secret + strlen(secret), *p = secret;
	unsigned char *salt;
	size_t lens[4], salt_len, i;
	char *num_end;

	for (i = 0; i < 4; i++) {
		if (p > end)
			return NULL;
		f[i] = p;
		lens[i] = scram_value_len(p, end);
		p += lens[i] + 1;
	}
	if (p <= end) /* a fifth field */
		return NULL;
	*iter_r = strtoul(f[0], &num_end, 10);
	if (num_end != f[0] + lens[0] || lens[0] == 0 || *iter_r < 1 ||
	    *iter_r > SCRAM_MAX_ITER ||
	    !scram_b64_exact(f[2], lens[2], sc->stored_key, SCRAM_KEY_LEN) ||
	    !scram_b64_exact(f[3], lens[3], sc->server_key, SCRAM_KEY_LEN) ||
	    ph__base64_decode(f[1], lens[1], &salt, &salt_len) < 0)
		return NULL;
	free(salt);
	if (salt_len == 0)
		return NULL;
	return strndup(f[1], lens[1]);
}

/* Credentials for a user without a secret: a salt that is stable per
 * name (a client cannot spot a fake by asking twice) and random keys. */
static char *scram_fake_secret(struct ph__scram *sc, unsigned long *iter_r)
{
	static unsigned char key[32];
	static int have_key;
	unsigned char salt[16], mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;
	char *b64;
	size_t b64_len;

	if (!have_key && RAND_bytes(key, sizeof(key)) == 1)
		have_key = 1;
	if (!have_key ||
	    HMAC(EVP_sha256(), key, sizeof(key),
		 (const unsigned char *)sc->authcid, strlen(sc->authcid), mac,
		 &mac_len) == NULL ||
	    RAND_bytes(sc->stored_key, SCRAM_KEY_LEN) != 1 ||
	    RAND_bytes(sc->server_key, SCRAM_KEY_LEN) != 1)
		return NULL;
	memcpy(salt, mac, sizeof(salt));
	*iter_r = SCRAM_FAKE_ITER;
	sc->fake = 1;
	return ph__base64_encode(salt, sizeof(salt), &b64, &b64_len) == 0
		   ? b64
		   : NULL;
}

int ph__scram_set_credentials(struct ph__scram *sc, const char *secret,
			      struct ph_str *out)
{
	unsigned char rnd[SCRAM_NONCE_BYTES];
	char *salt = NULL, *snonce = NULL, *text = NULL;
	unsigned long iter = 0;
	size_t len;

	if (sc->state != SCRAM_WAIT_CREDENTIALS)
		return scram_fail(sc, out, "Unexpected credentials");
	if (secret != NULL)
		salt = scram_parse_secret(sc, secret, &iter);
	if (salt == NULL)
		salt = scram_fake_secret(sc, &iter);
	if (sc->fixed_snonce != NULL)
		snonce = strdup(sc->fixed_snonce);
	else if (RAND_bytes(rnd, sizeof(rnd)) == 1)
		ph__base64_encode(rnd, sizeof(rnd), &snonce, &len);
	if (salt == NULL || snonce == NULL ||
	    asprintf(&sc->nonce, "%s%s", sc->cnonce, snonce) < 0 ||
	    asprintf(&text, "r=%s,s=%s,i=%lu", sc->nonce, salt, iter) < 0) {
		sc->nonce = NULL;
		free(salt);
		free(snonce);
		return scram_fail(sc, out, "Out of memory");
	}
	free(salt);
	free(snonce);
	sc->server_first = strdup(text);
	if (sc->server_first == NULL) {
		free(text);
		return scram_fail(sc, out, "Out of memory");
	}
	sc->state = SCRAM_WAIT_FINAL;
	return scram_output(sc, text, out, PH__SASL_CHALLENGE);
}

/* client-final-message = c=cbind,r=nonce[,ext],p=proof */
static int scram_client_final(struct ph__scram *sc, const struct ph_str *r,
			      struct ph_str *out)
{
	const char *p = r->data, *end = r->data + r->len, *proof_at = NULL;
	unsigned char proof[SCRAM_KEY_LEN], sig[EVP_MAX_MD_SIZE],
	    key[SCRAM_KEY_LEN], hash[SCRAM_KEY_LEN];
	char *auth_msg = NULL, *b64 = NULL, *text = NULL;
	unsigned char *cb_raw;
	unsigned sig_len = 0, i;
	size_t len, b64_len, cb_raw_len;
	int match;

	sc->state = SCRAM_DONE;
	/* the proof is the last attribute */
	for (i = 0; p + i + 3 <= end; i++) {
		if (memcmp(p + i, ",p=", 3) == 0)
			proof_at = p + i;
	}
	if (proof_at == NULL || end - p < 2 || memcmp(p, "c=", 2) != 0 ||
	    !scram_b64_exact(proof_at + 3, (size_t)(end - proof_at - 3), proof,
			     sizeof(proof)))
		return scram_fail(sc, out, "Malformed SCRAM message");
	len = scram_value_len(p + 2, end);
	if (ph__base64_decode(p + 2, len, &cb_raw, &cb_raw_len) < 0)
		return scram_fail(sc, out, "Malformed SCRAM message");
	match = cb_raw_len == sc->cb_input_len &&
		CRYPTO_memcmp(cb_raw, sc->cb_input, cb_raw_len) == 0;
	free(cb_raw);
	if (!match)
		return scram_fail(sc, out, "e=channel-bindings-dont-match");
	p += 2 + len;
	if (end - p < 3 || memcmp(p, ",r=", 3) != 0)
		return scram_fail(sc, out, "Malformed SCRAM message");
	p += 3;
	len = scram_value_len(p, end);
	if (len != strlen(sc->nonce) || memcmp(p, sc->nonce, len) != 0)
		return scram_fail(sc, out, "Nonce mismatch");
	if (asprintf(&auth_msg, "%s,%s,%.*s", sc->client_first_bare,
		     sc->server_first, (int)(proof_at - r->data), r->data) < 0)
		return scram_fail(sc, out, "Out of memory");
	/* ClientKey = proof XOR HMAC(StoredKey, AuthMessage);
	   the client knew the password iff H(ClientKey) == StoredKey */
	HMAC(EVP_sha256(), sc->stored_key, SCRAM_KEY_LEN,
	     (unsigned char *)auth_msg, strlen(auth_msg), sig, &sig_len);
	for (i = 0; i < SCRAM_KEY_LEN; i++)
		key[i] = proof[i] ^ sig[i];
	EVP_Digest(key, sizeof(key), hash, NULL, EVP_sha256(), NULL);
	match = sig_len == SCRAM_KEY_LEN &&
		CRYPTO_memcmp(hash, sc->stored_key, SCRAM_KEY_LEN) == 0 &&
		!sc->fake;
	OPENSSL_cleanse(key, sizeof(key));
	if (!match) {
		free(auth_msg);
		return scram_fail(sc, out, "Authentication failed");
	}
	HMAC(EVP_sha256(), sc->server_key, SCRAM_KEY_LEN,
	     (unsigned char *)auth_msg, strlen(auth_msg), sig, &sig_len);
	free(auth_msg);
	if (ph__base64_encode(sig, sig_len, &b64, &b64_len) < 0 ||
	    asprintf(&text, "v=%s", b64) < 0)
		text = NULL;
	free(b64);
	return scram_output(sc, text, out, PH__SASL_SUCCESS);
}

int ph__scram_step(struct ph__scram *sc, const struct ph_str *response,
		   struct ph_str *out, const char **authcid_r)
{
	if (response != NULL && memchr(response->data, '\0', response->len))
		return scram_fail(sc, out, "NUL in SCRAM message");
	switch (sc->state) {
	case SCRAM_START:
		/* SCRAM is client-first: ask for it with an empty challenge */
		if (response == NULL) {
			out->data = "";
			out->len = 0;
			return PH__SASL_CHALLENGE;
		}
		return scram_client_first(sc, response, out, authcid_r);
	case SCRAM_WAIT_FINAL:
		if (response == NULL)
			break;
		return scram_client_final(sc, response, out);
	default:
		break;
	}
	return scram_fail(sc, out, "Unexpected SCRAM step");
}
