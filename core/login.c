/* core/login.c - per-connection authentication glue (stub). */
#include <stdlib.h>
#include "login.h"

struct ph__login {
	int secured;
};

struct ph__login *ph__login_create(struct ev_loop *loop,
				   struct ph__auth_client *client,
				   const struct ph__login_params *params)
{
	struct ph__login *l = calloc(1, sizeof(*l));

	if (l != NULL)
		l->secured = params->secured;
	return l;
}

void ph__login_destroy(struct ph__login **login)
{
	free(*login);
	*login = NULL;
}

void ph__login_set_secured(struct ph__login *login, int secured)
{
	login->secured = secured;
}

int ph__login_plain(struct ph__login *login, struct ph_str user,
		    struct ph_str password, ph_auth_done_fn *cb, void *ctx)
{
	return PH_ENOTSUP;
}

const char *ph__login_mechanisms(struct ph__login *login)
{
	return "";
}

int ph__login_sasl_start(struct ph__login *login, const char *mech,
			 const struct ph_str *initial_response, ph_sasl_fn *cb,
			 void *ctx)
{
	return PH_ENOTSUP;
}

int ph__login_sasl_continue(struct ph__login *login, struct ph_str response)
{
	return PH_EINVAL;
}

const ph_user *ph__login_user(const struct ph__login *login)
{
	return NULL;
}
