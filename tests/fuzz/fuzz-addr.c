/* Listener address parsing: any bytes, never a crash; what parses
 * formats back to a numeric address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <posthorn/abi.h>

#include "core/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ph__addr a;
	char text[128], ip[64];
	unsigned short port;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ph__addr_parse(text, &a) == PH_OK) {
		ph__addr_format((struct sockaddr *)&a.ss, ip, sizeof(ip),
				&port);
		if (port == 0 || ip[0] == '\0')
			abort();
	}
	return 0;
}
