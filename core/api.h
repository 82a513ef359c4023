/* core/api.h - the ph_core_api table handed to plugins, usable in every
 * process: entries that make no sense where they are called (connection
 * calls in the auth service, storage_get without a storage) answer
 * PH_ENOTSUP / PH_ENOTFOUND / NULL. */
#ifndef PH_CORE_API_H
#define PH_CORE_API_H

#include <ev.h>
#include <posthorn/posthorn.h>

const struct ph_core_api *ph__api(void);

/* The plugin the core is calling into on this thread, used as the log
 * prefix of api->log() and remembered by timers and io watches. Returns
 * the previous name so calls can nest. The auth service sets it around
 * each auth plugin call. */
const char *ph__api_set_current(const char *plugin_name);
const char *ph__api_current(void);
/* The loop timer_add()/io_add() use in this process (NULL: they fail). */
void ph__api_set_loop(struct ev_loop *loop);
struct ev_loop *ph__api_loop(void);
/* What storage_get() returns in this process. */
void ph__api_set_storage(const struct ph_storage_ops *ops, void *state);

/* Static English text for a PH_* code. */
const char *ph__strerror(int code);

#endif
