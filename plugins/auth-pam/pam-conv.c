/* plugins/auth-pam/pam-conv.c - the PAM transaction, run in a child
 * process: pam_start, PAM_RHOST, pam_authenticate, pam_acct_mgmt. */
#include <stdlib.h>
#include <string.h>
#include <security/pam_appl.h>
#include "pam-private.h"

/* Answers every echo-off prompt with the password and every echo-on
 * prompt with the user name; informational messages get no reply. */
static int pam_plugin_conv(int n, const struct pam_message **msg,
			   struct pam_response **resp_r, void *appdata)
{
	const struct pam_plugin_request *req = appdata;
	struct pam_response *resp;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	resp = calloc((size_t)n, sizeof(*resp));
	if (resp == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		const char *answer = NULL;

		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			answer = req->password;
			break;
		case PAM_PROMPT_ECHO_ON:
			answer = req->user;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			break;
		default:
			goto fail;
		}
		if (answer != NULL) {
			resp[i].resp = strdup(answer);
			if (resp[i].resp == NULL)
				goto fail;
		}
	}
	*resp_r = resp;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++) {
		if (resp[i].resp != NULL) {
			explicit_bzero(resp[i].resp, strlen(resp[i].resp));
			free(resp[i].resp);
		}
	}
	free(resp);
	return PAM_CONV_ERR;
}

#ifdef PAM_FAIL_DELAY
/* Modules ask for a delay after a failure (pam_unix: 2 s); it would hold
 * a pool thread. The auth service applies its own penalty in the worker
 * instead, so PAM's is dropped. */
static void pam_plugin_no_delay(int retval, unsigned usec_delay,
				void *appdata_ptr)
{
	(void)retval;
	(void)usec_delay;
	(void)appdata_ptr;
}
#endif

static void pam_plugin_copy(char *dst, size_t size, const char *src)
{
	size_t len = src != NULL ? strlen(src) : 0;

	if (len >= size)
		len = size - 1;
	if (len > 0)
		memcpy(dst, src, len);
	dst[len] = '\0';
}

void pam_plugin_converse(const struct pam_plugin_request *req,
			 struct pam_plugin_answer *ans)
{
	struct pam_conv conv = {pam_plugin_conv, (void *)req};
	pam_handle_t *pamh = NULL;
	const void *item = NULL;
	int rc;

	memset(ans, 0, sizeof(*ans));
	rc = pam_start(req->service, req->user, &conv, &pamh);
	if (rc != PAM_SUCCESS) {
		ans->pam_rc = rc;
		pam_plugin_copy(ans->reason, sizeof(ans->reason),
				"pam_start failed");
		return;
	}
	if (req->rhost[0] != '\0')
		rc = pam_set_item(pamh, PAM_RHOST, req->rhost);
#ifdef PAM_FAIL_DELAY
	if (rc == PAM_SUCCESS)
		rc = pam_set_item(pamh, PAM_FAIL_DELAY,
				  (const void *)pam_plugin_no_delay);
#endif
	if (rc == PAM_SUCCESS) {
		ans->stage = 1;
		rc = pam_authenticate(pamh,
				      PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	}
	if (rc == PAM_SUCCESS) {
		ans->stage = 2;
		rc =
		    pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	}
	ans->pam_rc = rc;
	pam_plugin_copy(ans->reason, sizeof(ans->reason),
			pam_strerror(pamh, rc));
	/* A module may map the login name to a canonical one. */
	if (rc == PAM_SUCCESS &&
	    pam_get_item(pamh, PAM_USER, &item) == PAM_SUCCESS && item != NULL)
		pam_plugin_copy(ans->user, sizeof(ans->user), item);
	pam_end(pamh, rc);
}
