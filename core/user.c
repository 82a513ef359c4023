/* core/user.c - ph_user: a small ordered key/value record that crosses
 * process boundaries as "key=value\tkey=value". */
#include <stdlib.h>
#include <string.h>
#include "user-extra.h"

#define USER_MAX_FIELDS	   64
#define USER_MAX_FIELD_LEN 4096

struct user_field {
	char *key;
	char *value;
};

struct ph_user {
	struct user_field *fields;
	size_t count, alloc;
};

ph_user *ph__user_create(void)
{
	return calloc(1, sizeof(struct ph_user));
}

void ph__user_destroy(ph_user **user)
{
	ph_user *u = *user;
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->count; i++) {
		free(u->fields[i].key);
		free(u->fields[i].value);
	}
	free(u->fields);
	free(u);
	*user = NULL;
}

static const struct user_field *user_find(const ph_user *user, const char *key)
{
	size_t i;

	for (i = 0; i < user->count; i++) {
		if (strcmp(user->fields[i].key, key) == 0)
			return &user->fields[i];
	}
	return NULL;
}

const char *ph__user_get(const ph_user *user, const char *key)
{
	const struct user_field *f;

	if (user == NULL || key == NULL)
		return NULL;
	f = user_find(user, key);
	return f != NULL ? f->value : NULL;
}

static int user_key_valid(const char *key)
{
	size_t len = strlen(key);

	return len > 0 && len <= USER_MAX_FIELD_LEN &&
	       strpbrk(key, "=\t\n") == NULL;
}

static int user_value_valid(const char *value)
{
	return strlen(value) <= USER_MAX_FIELD_LEN &&
	       strpbrk(value, "\t\n") == NULL;
}

int ph__user_set(ph_user *user, const char *key, const char *value)
{
	struct user_field *f;
	char *copy;

	if (user == NULL || key == NULL || value == NULL ||
	    !user_key_valid(key) || !user_value_valid(value))
		return PH_EINVAL;
	copy = strdup(value);
	if (copy == NULL)
		return PH_ENOMEM;
	f = (struct user_field *)user_find(user, key);
	if (f != NULL) {
		free(f->value);
		f->value = copy;
		return PH_OK;
	}
	if (user->count >= USER_MAX_FIELDS) {
		free(copy);
		return PH_ETOOBIG;
	}
	if (user->count == user->alloc) {
		size_t n = user->alloc == 0 ? 8 : user->alloc * 2;
		struct user_field *nf = realloc(user->fields, n * sizeof(*nf));

		if (nf == NULL) {
			free(copy);
			return PH_ENOMEM;
		}
		user->fields = nf;
		user->alloc = n;
	}
	f = &user->fields[user->count];
	f->key = strdup(key);
	if (f->key == NULL) {
		free(copy);
		return PH_ENOMEM;
	}
	f->value = copy;
	user->count++;
	return PH_OK;
}

char *ph__user_serialize(const ph_user *user)
{
	size_t i, len = 1, pos = 0;
	char *out;

	for (i = 0; i < user->count; i++)
		len += strlen(user->fields[i].key) +
		       strlen(user->fields[i].value) + 2;
	out = malloc(len);
	if (out == NULL)
		return NULL;
	for (i = 0; i < user->count; i++) {
		size_t kl = strlen(user->fields[i].key);
		size_t vl = strlen(user->fields[i].value);

		if (i > 0)
			out[pos++] = '\t';
		memcpy(out + pos, user->fields[i].key, kl);
		pos += kl;
		out[pos++] = '=';
		memcpy(out + pos, user->fields[i].value, vl);
		pos += vl;
	}
	out[pos] = '\0';
	return out;
}

ph_user *ph__user_deserialize(const char *data, size_t len)
{
	ph_user *user;
	char *copy, *p, *end;

	if (memchr(data, '\0', len) != NULL)
		return NULL;
	user = ph__user_create();
	copy = malloc(len + 1);
	if (user == NULL || copy == NULL)
		goto fail;
	memcpy(copy, data, len);
	copy[len] = '\0';
	/* An empty record serialises as "". */
	for (p = copy; len > 0; p = end + 1) {
		char *eq;

		end = strchr(p, '\t');
		if (end != NULL)
			*end = '\0';
		eq = strchr(p, '=');
		if (eq == NULL)
			goto fail;
		*eq = '\0';
		if (user_find(user, p) != NULL ||
		    ph__user_set(user, p, eq + 1) < 0)
			goto fail;
		if (end == NULL)
			break;
	}
	free(copy);
	return user;
fail:
	free(copy);
	ph__user_destroy(&user);
	return NULL;
}

void ph__user_unset(ph_user *user, const char *key)
{
	struct user_field *f = (struct user_field *)user_find(user, key);
	size_t i;

	if (f == NULL)
		return;
	i = (size_t)(f - user->fields);
	explicit_bzero(f->value, strlen(f->value));
	free(f->key);
	free(f->value);
	memmove(&user->fields[i], &user->fields[i + 1],
		(user->count - i - 1) * sizeof(*f));
	user->count--;
}
