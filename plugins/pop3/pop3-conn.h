/* pop3-conn.h - the protocol ops the descriptor points at. */
#ifndef POP3_CONN_H
#define POP3_CONN_H

#include <posthorn/posthorn.h>

struct pop3_conn;

int pop3_conn_open(void *plugin_state, ph_conn *conn, void **conn_state_r);
/* pop3-session.c: the login continued in a per-user session process. */
int pop3_conn_resume(void *plugin_state, ph_conn *conn, const ph_user *user,
		     const void *state, size_t len, void **conn_state_r);
/* pop3-session.c (ABI 1.2): a login whose session did not start. */
void pop3_conn_handoff_failed(void *plugin_state, ph_conn *conn,
			      const void *state, size_t len);
/* A connection's state without the greeting (open and resume). */
struct pop3_conn *pop3_conn_new(void *plugin_state, ph_conn *conn);
void pop3_conn_input(void *conn_state);
void pop3_conn_output_ready(void *conn_state);
void pop3_conn_goodbye(void *conn_state, enum ph_goodbye_reason reason);
void pop3_conn_closed(void *conn_state);
/* Runs the streaming job while output is below the low-water mark. */
void pop3_job_pump(struct pop3_conn *pc);

#endif
