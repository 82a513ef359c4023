/* core/main.c - posthornd: argument parsing only. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <posthorn/abi.h>
#include "log.h"
#include "master.h"

#define DEFAULT_CONFIG "/etc/posthorn/posthorn.ini"

static void usage(FILE *out)
{
	fprintf(out, "usage: posthornd [-c FILE] [-t] [--version]\n"
		     "  -c FILE    configuration (default " DEFAULT_CONFIG ")\n"
		     "  -t         check the configuration, print it, exit\n"
		     "  --version  print the version and ABI\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"test", no_argument, NULL, 't'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = DEFAULT_CONFIG;
	int check = 0, opt;

	while ((opt = getopt_long(argc, argv, "c:thV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'V':
			printf("posthornd %s (plugin ABI %d.%d)\n",
			       PH_CORE_VERSION, PH_ABI_MAJOR, PH_ABI_MINOR);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	ph__log_init("stderr", PH_LOG_INFO, "master");
	if (check)
		return ph__master_check(config);
	return ph__master_run(config);
}
