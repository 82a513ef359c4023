/* Server memory: the sum of PSS (proportional set size, so shared pages are
 * split between the processes that map them) over the server's processes,
 * from /proc/PID/smaps_rollup.  Processes are given by pid (the pid and all
 * its descendants: a master and the workers it forks) or found by their
 * exact /proc/PID/comm name. */
#include "loadgen.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long pid_pss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Pss:", 4) == 0) {
			kb = strtol(line + 4, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static bool name_listed(const char *names, const char *comm)
{
	size_t cl = strlen(comm);
	const char *p = names;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		if (n == cl && strncmp(p, comm, n) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static pid_t pid_parent(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (p == NULL || strlen(p) < 5)
		return -1;
	return (pid_t)atoi(p + 4); /* ") S PPID" */
}

/* Is pid one of the given roots or below one of them? */
static bool pid_in_trees(pid_t pid, const struct lg_options *o)
{
	int depth, i;

	for (depth = 0; depth < 16 && pid > 1; depth++) {
		for (i = 0; i < o->n_server_pids; i++)
			if (pid == o->server_pids[i])
				return true;
		pid = pid_parent(pid);
	}
	return false;
}

static bool pid_named(pid_t pid, const char *names)
{
	char path[64], comm[64];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	n = fread(comm, 1, sizeof(comm) - 1, f);
	fclose(f);
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return name_listed(names, comm);
}

long lg_server_pss_kb(const struct lg_options *o, int *nprocs_r)
{
	long total = 0, kb;
	int n = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		pid_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atoi(de->d_name);
		if (!((o->n_server_pids > 0 && pid_in_trees(pid, o)) ||
		      (o->server_names != NULL &&
		       pid_named(pid, o->server_names))))
			continue;
		if ((kb = pid_pss_kb(pid)) >= 0) {
			total += kb;
			n++;
		}
	}
	closedir(d);
	*nprocs_r = n;
	return n > 0 ? total : -1;
}
