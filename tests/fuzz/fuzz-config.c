/* posthorn.ini parsing and validation from any bytes: a config file is
 * written to a memfd and loaded through its /proc path. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/config-extra.h"
#include "core/config.h"

static const struct ph_setting_def defs[] = {
    {"greeting", PH_SETTING_STRING, "hi", NULL, 1, ""},
    {"size", PH_SETTING_SIZE, "1k", NULL, 0, ""},
    {"t", PH_SETTING_TIME, NULL, NULL, 1, ""},
    {NULL, 0, NULL, NULL, 0, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], *err = NULL;
	struct ph__config *cfg;
	int fd = memfd_create("fuzz-config", 0);
	FILE *null;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	cfg = ph__config_load(path, &err);
	free(err);
	err = NULL;
	if (cfg != NULL) {
		if (ph__config_validate_plugin(cfg, "echo", defs, &err) ==
		    PH_OK) {
			free(err);
			err = NULL;
			(void)ph__config_check_sections(cfg, &err);
		}
		free(err);
		null = fopen("/dev/null", "w");
		if (null != NULL) {
			ph__config_print(cfg, null);
			fclose(null);
		}
		ph__config_free(&cfg);
	}
	close(fd);
	return 0;
}
