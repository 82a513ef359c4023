/* core/addr.h - listener addresses: "127.0.0.1:143", "[::1]:143". */
#ifndef PH_CORE_ADDR_H
#define PH_CORE_ADDR_H

#include <sys/socket.h>

struct ph__addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Parses a numeric IPv4 "a.b.c.d:port" or bracketed IPv6 "[x::y]:port"
 * (port 1..65535). Returns PH_OK or PH_EINVAL. */
int ph__addr_parse(const char *text, struct ph__addr *addr_r);
/* "ip" and port of a socket address; ip needs INET6_ADDRSTRLEN bytes. */
void ph__addr_format(const struct sockaddr *sa, char *ip, size_t ip_size,
		     unsigned short *port_r);

#endif
