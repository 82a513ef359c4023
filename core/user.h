/* core/user.h - ph_user: an authenticated user's record, a small ordered
 * key/value list (keys and values without TAB or LF, so a record
 * serialises as "key=value\t..." between processes). */
#ifndef PH_CORE_USER_H
#define PH_CORE_USER_H

#include <posthorn/core.h>

ph_user *ph__user_create(void);
void ph__user_destroy(ph_user **user);
const char *ph__user_get(const ph_user *user, const char *key);
int ph__user_set(ph_user *user, const char *key, const char *value);
/* "k=v\tk=v" (malloc'd, caller frees; NULL on ENOMEM). */
char *ph__user_serialize(const ph_user *user);
/* Parses what ph__user_serialize() made; NULL when malformed. */
ph_user *ph__user_deserialize(const char *data, size_t len);

#endif
