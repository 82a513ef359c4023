/* core/sasl.c - SASL mechanisms (stub until implemented). */
#include <stdlib.h>
#include "sasl.h"

struct ph__sasl *ph__sasl_create(const char *mech)
{
	(void)mech;
	return NULL;
}

void ph__sasl_destroy(struct ph__sasl **s)
{
	*s = NULL;
}

int ph__sasl_step(struct ph__sasl *s, const struct ph_str *response,
		  struct ph_str *out)
{
	(void)s;
	(void)response;
	*out = PH_STR_LIT("not implemented");
	return PH__SASL_FAIL;
}

const char *ph__sasl_authcid(const struct ph__sasl *s)
{
	return "";
}

const char *ph__sasl_authzid(const struct ph__sasl *s)
{
	return "";
}

struct ph_str ph__sasl_password(const struct ph__sasl *s)
{
	return PH_STR_LIT("");
}

int ph__base64_encode(const void *data, size_t len, char **out_r,
		      size_t *out_len_r)
{
	return PH_ENOTSUP;
}

int ph__base64_decode(const char *text, size_t len, unsigned char **out_r,
		      size_t *out_len_r)
{
	return PH_ENOTSUP;
}
