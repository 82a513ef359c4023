/* core/addr.c - parsing and printing listener addresses. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <posthorn/abi.h>
#include "addr.h"

static int addr_parse_port(const char *s, unsigned short *port_r)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return PH_EINVAL;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v == 0 || v > 65535)
		return PH_EINVAL;
	*port_r = (unsigned short)v;
	return PH_OK;
}

int ph__addr_parse(const char *text, struct ph__addr *addr_r)
{
	char host[64];
	const char *colon;
	unsigned short port;
	size_t hlen;

	memset(addr_r, 0, sizeof(*addr_r));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
			return PH_EINVAL;
		hlen = (size_t)(close - text - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return PH_EINVAL;
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&addr_r->ss;

		if (addr_parse_port(close + 2, &port) < 0 ||
		    inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return PH_EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		addr_r->len = sizeof(*sin6);
		return PH_OK;
	}
	colon = strrchr(text, ':');
	if (colon == NULL)
		return PH_EINVAL;
	hlen = (size_t)(colon - text);
	if (hlen == 0 || hlen >= sizeof(host))
		return PH_EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	struct sockaddr_in *sin = (struct sockaddr_in *)&addr_r->ss;

	if (addr_parse_port(colon + 1, &port) < 0)
		return PH_EINVAL;
	if (strcmp(host, "*") == 0)
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return PH_EINVAL;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	addr_r->len = sizeof(*sin);
	return PH_OK;
}

void ph__addr_format(const struct sockaddr *sa, char *ip, size_t ip_size,
		     unsigned short *port_r)
{
	ip[0] = '\0';
	*port_r = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)ip_size);
		*port_r = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)ip_size);
		*port_r = ntohs(sin6->sin6_port);
		/* Show v4-mapped peers as plain IPv4. */
		if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.'))
			memmove(ip, ip + 7, strlen(ip + 7) + 1);
	}
}
