/* loadgen's output: a human table, then one JSON line for scripts. */
#include "loadgen.h"

#include <arpa/inet.h>
#include <stdio.h>

void lg_report(void)
{
	struct lg_options *o = &lg.opt;
	struct lg_stats *st = &lg.st;
	double secs = lg.t_end - lg.t_measure;
	double p50 = lg_samples_pct(&lg.lat, 50),
	       p90 = lg_samples_pct(&lg.lat, 90),
	       p99 = lg_samples_pct(&lg.lat, 99);
	double n50 = lg_samples_pct(&lg.notify_lat, 50),
	       n99 = lg_samples_pct(&lg.notify_lat, 99);
	double per_session = -1;
	char addr[INET_ADDRSTRLEN];

	if (secs <= 0)
		secs = 1e-9;
	if (lg.pss_end >= 0 && lg.idle_held > 0)
		per_session =
		    (double)(lg.pss_end - (lg.pss_base > 0 ? lg.pss_base : 0)) /
		    (double)lg.idle_held;
	inet_ntop(AF_INET, &o->server.sin_addr, addr, sizeof(addr));
	if (!o->json_only) {
		printf("scenario      %s (%s, tls=%s) against %s:%u\n",
		       lg_scenario_names[o->scenario], lg_proto_names[o->proto],
		       lg_tls_names[o->tls], addr, ntohs(o->server.sin_port));
		printf("load          %d connections, %.1f s measured "
		       "(+%.1f s warmup), rate limit %s\n",
		       o->connections, secs, o->warmup,
		       o->rate > 0 ? "on" : "off");
		printf("sessions      %llu done, %llu protocol errors, "
		       "%llu connection errors\n",
		       (unsigned long long)st->sessions,
		       (unsigned long long)st->errors,
		       (unsigned long long)st->conn_errors);
		printf("logins/s      %.1f\n", (double)st->logins / secs);
		printf("ops/s         %.1f  (commands answered OK)\n",
		       (double)st->ops / secs);
		printf("latency ms    p50 %.2f  p90 %.2f  p99 %.2f  (%s)\n",
		       p50, p90, p99,
		       o->scenario == LG_SC_LOGIN ? "connect to login OK"
						  : "per command");
		if (o->scenario == LG_SC_IMAP_MIXED) {
			printf("weights      ");
			for (int i = 0; i < LG_OP_COUNT; i++)
				printf(" %s %d", lg_op_names[i],
				       o->op_weight[i]);
			printf("  (%d ops/session)\n", o->mixed_ops);
		}
		if (st->messages > 0 || st->bytes > 0)
			printf("download      %.1f messages/s, %.2f MB/s\n",
			       (double)st->messages / secs,
			       (double)st->bytes / secs / 1e6);
		if (o->scenario == LG_SC_IMAP_IDLE) {
			printf("idle          %llu sessions held (%s)\n",
			       (unsigned long long)lg.idle_held,
			       st->server_has_idle ? "IDLE"
						   : "no IDLE: selected");
			if (lg.pss_end >= 0)
				printf("server PSS    %ld KiB in %d processes, "
				       "%ld KiB before; %.1f KiB/session\n",
				       lg.pss_end, lg.pss_procs, lg.pss_base,
				       per_session);
			if (st->deliveries > 0)
				printf("notify ms     p50 %.2f  p99 %.2f  "
				       "(%llu of %llu deliveries)\n",
				       n50, n99,
				       (unsigned long long)st->notifications,
				       (unsigned long long)st->deliveries);
		}
	}
	printf("{\"scenario\":\"%s\",\"proto\":\"%s\",\"tls\":\"%s\","
	       "\"server\":\"%s:%u\",\"connections\":%d,\"seconds\":%.3f,"
	       "\"sessions\":%llu,\"errors\":%llu,\"conn_errors\":%llu,"
	       "\"logins\":%llu,\"ops\":%llu,\"messages\":%llu,\"bytes\":%llu,"
	       "\"logins_per_s\":%.2f,\"ops_per_s\":%.2f,\"msgs_per_s\":%.2f,"
	       "\"mb_per_s\":%.3f,\"lat_p50_ms\":%.3f,\"lat_p90_ms\":%.3f,"
	       "\"lat_p99_ms\":%.3f",
	       lg_scenario_names[o->scenario], lg_proto_names[o->proto],
	       lg_tls_names[o->tls], addr, ntohs(o->server.sin_port),
	       o->connections, secs, (unsigned long long)st->sessions,
	       (unsigned long long)st->errors,
	       (unsigned long long)st->conn_errors,
	       (unsigned long long)st->logins, (unsigned long long)st->ops,
	       (unsigned long long)st->messages, (unsigned long long)st->bytes,
	       (double)st->logins / secs, (double)st->ops / secs,
	       (double)st->messages / secs, (double)st->bytes / secs / 1e6, p50,
	       p90, p99);
	if (o->scenario == LG_SC_IMAP_IDLE)
		printf(",\"idle_held\":%llu,\"server_idle\":%s,"
		       "\"pss_kb\":%ld,\"pss_base_kb\":%ld,"
		       "\"pss_per_session_kb\":%.1f,\"deliveries\":%llu,"
		       "\"notifications\":%llu,\"notify_p50_ms\":%.3f,"
		       "\"notify_p99_ms\":%.3f",
		       (unsigned long long)lg.idle_held,
		       st->server_has_idle ? "true" : "false", lg.pss_end,
		       lg.pss_base, per_session,
		       (unsigned long long)st->deliveries,
		       (unsigned long long)st->notifications, n50, n99);
	printf(",\"label\":\"");
	for (const char *p = o->label ? o->label : ""; *p; p++)
		if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
			putchar(*p);
	printf("\"}\n");
	fflush(stdout);
}
