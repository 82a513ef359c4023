/* Raw mode: read a stream until the server closes it, counting bytes.  With
 * `loadgen --serve-file` on the other end this measures the loopback floor
 * that pop3-download is compared with. */
#include "loadgen.h"

static void raw_connected(struct lg_slot *s)
{
	s->raw_bytes = 0;
}

static int raw_input(struct lg_slot *s)
{
	s->raw_bytes += lg_conn_skip(s, lg_conn_avail(s));
	return 0;
}

static bool raw_eof(struct lg_slot *s)
{
	/* Like a message download: counted when complete. */
	if (lg_measuring()) {
		lg.st.messages++;
		lg.st.bytes += s->raw_bytes;
	}
	lg_session_done(s);
	return true;
}

static void raw_tls_ready(struct lg_slot *s)
{
	(void)s;
}

const struct lg_client_ops lg_raw_client = {
    .connected = raw_connected,
    .input = raw_input,
    .tls_ready = raw_tls_ready,
    .eof = raw_eof,
};
