/* core/user-extra.h - ph_user calls beyond the frozen user.h. */
#ifndef PH_CORE_USER_EXTRA_H
#define PH_CORE_USER_EXTRA_H

#include "user.h"

/* Removes `key` (and wipes its value); no-op when absent. Used to strip
 * the stored secret ("credentials") before a record reaches a protocol. */
void ph__user_unset(ph_user *user, const char *key);

#endif
