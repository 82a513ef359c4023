/* core/linger.h - closing a socket the server gave up on without losing
 * its last words. close() with unread input makes the kernel send a RST,
 * and a RST can destroy the final reply (BYE, -ERR) before the client
 * has read it. Like nginx's lingering close: shut down our side, then
 * read and discard what the client still sends, for a bounded time and
 * amount, before closing. */
#ifndef PH_CORE_LINGER_H
#define PH_CORE_LINGER_H

#include <ev.h>

/* Takes ownership of `fd` (plaintext TCP or after SSL_shutdown). Falls
 * back to a plain close() when memory is short. */
void ph__linger_close(struct ev_loop *loop, int fd);

#endif
