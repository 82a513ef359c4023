/* The auth service end to end: a forked ph__auth_server_run() with the
 * passwd-file plugin and a fake second plugin, driven through the
 * worker-side client and the login glue on a libev loop. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <ev.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <posthorn/posthorn.h>
#include "auth-fake.h"
#include "certgen.h"
#include "cunit-main.h"
#include "auth-client.h"
#include "auth-penalty.h"
#include "auth-proto.h"
#include "auth-redeem.h"
#include "auth-server.h"
#include "login.h"
#include "sasl.h"
#include "user.h"

extern const struct ph_plugin posthorn_plugin; /* auth-passwdfile */

static char tmpdir[32], users_path[64], sock_path[64], ca_path[64];
static struct ev_loop *loop;
static pid_t server_pid = -1;
static struct ph__auth_client *client;
static int master_fd = -1; /* the master's control socket (tickets) */

/* the passwd-file plugin's config, in the server child */
static const char *plugin_kv[] = {"path", users_path, "scram", "yes", NULL};

/* ---- the fake second link of the chain ---- */

static int fake_verify(void *state, const struct ph_auth_request *req,
		       ph_user *user, const char **error_r)
{
	if (req->user.len == 3 && memcmp(req->user.data, "zoe", 3) == 0) {
		ph__user_set(user, "user", "zoe");
		ph__user_set(user, "mail", "/fake/zoe");
		return PH_OK;
	}
	if (req->user.len == 4 && memcmp(req->user.data, "slow", 4) == 0) {
		usleep(1000 * 1000);
		return PH_OK;
	}
	if (req->user.len == 4 && memcmp(req->user.data, "temp", 4) == 0) {
		*error_r = "backend down";
		return PH_ETEMP;
	}
	/* "dup" exists in the passwd-file too: never reached */
	if (req->user.len == 3 && memcmp(req->user.data, "dup", 3) == 0)
		return PH_OK;
	return PH_EUNKNOWN;
}

static int fake_credentials(void *state, const struct ph_auth_request *req,
			    const char *scheme, ph_user *user,
			    const char **error_r)
{
	return PH_EUNKNOWN;
}

static const char *const fake_schemes[] = {"SCRAM-SHA-256", NULL};

static const struct ph_auth_ops fake_ops = {
    PH_AUTH_OPS_INIT,
    .thread_safe = 1,
    .verify_plain = fake_verify,
    .credential_schemes = fake_schemes,
    .lookup_credentials = fake_credentials,
};

/* ---- a third link that is not thread safe: the service must never
 * run two of its calls at once ---- */

static int serial_inflight;

static int serial_verify(void *state, const struct ph_auth_request *req,
			 ph_user *user, const char **error_r)
{
	int concurrent;

	if (req->user.len < 3 || memcmp(req->user.data, "ser", 3) != 0)
		return PH_EUNKNOWN;
	concurrent = __atomic_add_fetch(&serial_inflight, 1, __ATOMIC_SEQ_CST);
	usleep(30 * 1000);
	__atomic_sub_fetch(&serial_inflight, 1, __ATOMIC_SEQ_CST);
	if (concurrent > 1) {
		*error_r = "called concurrently";
		return PH_EAUTH;
	}
	return PH_OK;
}

static const struct ph_auth_ops serial_ops = {
    PH_AUTH_OPS_INIT,
    .thread_safe = 0,
    .verify_plain = serial_verify,
    .credential_schemes = fake_schemes,
};

/* ---- server lifecycle ---- */

static const struct ph__auth_penalty_params test_penalty = {
    .base_delay_ms = 200,
    .max_delay_ms = 800,
    .lockout_failures = 8,
    .window = 60,
    .max_entries = 1000,
};

/* Returns 0, or -1 (usable from suite setup, outside a test). */
static int start_server(void)
{
	int sv[2], ctl[2], lfd;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ctl) < 0)
		return -1;
	lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	unlink(sock_path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(lfd, 16) < 0)
		return -1;
	/* The child leaves with exit() so LeakSanitizer checks the service:
	 * nothing buffered may be written twice. */
	fflush(NULL);
	server_pid = fork();
	if (server_pid < 0)
		return -1;
	if (server_pid == 0) {
		struct ph__auth_server_params params = {
		    .threads = 4,
		    .penalty = test_penalty,
		    .ticket_max = 8,
		    .ticket_ttl = 2.0,
		};
		struct ph__auth_backend chain[3] = {
		    {"auth-passwdfile", posthorn_plugin.ops, NULL},
		    {"fake", &fake_ops, NULL},
		    {"serial", &serial_ops, NULL},
		};
		struct ph__auth_external *ext = ph__auth_external_create();
		char *ext_err = NULL;
		const char *err;
		int status;

		/* EXTERNAL: listener "imaps" trusts the test CA */
		if (ext == NULL || ph__auth_external_add(ext, "imaps", ca_path,
							 "cn", &ext_err) < 0)
			_exit(3);
		params.external = ext;

		close(sv[0]);
		close(ctl[0]);
		if (posthorn_plugin.init(ph_auth_fake_api(),
					 ph_auth_fake_config(plugin_kv),
					 &chain[0].state, &err) < 0)
			_exit(3);
		status = ph__auth_server_run(chain, 3, &params, &sv[1], 1, lfd,
					     ctl[1]);
		posthorn_plugin.fini(chain[0].state);
		ph__auth_external_destroy(&ext);
		exit(status);
	}
	close(sv[1]);
	close(ctl[1]);
	close(lfd);
	master_fd = ctl[0];
	client = ph__auth_client_create(loop, sv[0]);
	return client != NULL ? 0 : -1;
}

static int stop_server(void)
{
	int status = -1;

	ph__auth_client_destroy(&client);
	if (master_fd >= 0)
		close(master_fd);
	master_fd = -1;
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, &status, 0);
		server_pid = -1;
	}
	return status;
}

/* ---- running requests ---- */

struct answer {
	int done, result;
	ph_user *user;
	char message[256];
	double at;
	int has_ticket;
	unsigned char ticket[PH__AUTH_TICKET_LEN];
};

static void on_reply(void *ctx, int result, ph_user *user, const char *msg,
		     const unsigned char *ticket)
{
	struct answer *a = ctx;

	a->has_ticket = ticket != NULL;
	if (ticket != NULL)
		memcpy(a->ticket, ticket, PH__AUTH_TICKET_LEN);
	a->done++;
	a->result = result;
	a->user = user;
	a->at = ev_time();
	snprintf(a->message, sizeof(a->message), "%s", msg);
}

static void guard_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	ev_break(l, EVBREAK_ALL);
}

/* Runs the loop until *flag becomes non-zero (or 10 s pass). */
static void run_until(const int *flag)
{
	ev_timer guard;

	ev_timer_init(&guard, guard_cb, 10., 0.);
	ev_timer_start(loop, &guard);
	while (!*flag && ev_is_active(&guard))
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &guard);
}

static int send_plain(const char *user, const char *pw, const char *ip,
		      struct answer *a)
{
	struct ph__auth_query q = {
	    .kind = "plain",
	    .service = "test",
	    .user = user,
	    .password = pw,
	    .password_len = strlen(pw),
	    .remote_ip = ip,
	    .local_ip = "127.0.0.1",
	};

	memset(a, 0, sizeof(*a));
	return ph__auth_client_request(client, &q, on_reply, a);
}

static int plain(const char *user, const char *pw, const char *ip,
		 struct answer *a)
{
	CU_ASSERT(send_plain(user, pw, ip, a) > 0);
	CU_ASSERT_EQUAL(a->done, 0); /* never inside the call */
	run_until(&a->done);
	CU_ASSERT_EQUAL(a->done, 1);
	return a->result;
}

/* ---- auth service tests ---- */

static void test_good_password(void)
{
	struct answer a;

	CU_ASSERT_EQUAL(plain("alice", "secret", "10.1.0.1", &a), PH_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.user);
	CU_ASSERT_STRING_EQUAL(ph__user_get(a.user, "user"), "alice");
	CU_ASSERT_STRING_EQUAL(ph__user_get(a.user, "mail"),
			       "/var/vmail/alice");
	CU_ASSERT_STRING_EQUAL(ph__user_get(a.user, "uid"), "1000");
	ph__user_destroy(&a.user);
}

static void test_bad_password(void)
{
	struct answer a;

	CU_ASSERT_EQUAL(plain("alice", "wrong", "10.1.0.2", &a), PH_EAUTH);
	CU_ASSERT_PTR_NULL(a.user);
}

static void test_unknown_user(void)
{
	struct answer a;

	CU_ASSERT_EQUAL(plain("nobody", "x", "10.1.0.3", &a), PH_EUNKNOWN);
	CU_ASSERT_PTR_NULL(a.user);
}

static void test_chain_fall_through(void)
{
	struct answer a;

	CU_ASSERT_EQUAL(plain("zoe", "anything", "10.1.0.4", &a), PH_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.user);
	CU_ASSERT_STRING_EQUAL(ph__user_get(a.user, "mail"), "/fake/zoe");
	ph__user_destroy(&a.user);
}

static void test_chain_definitive(void)
{
	struct answer a;

	/* the passwd-file knows "dup": its EAUTH ends the chain */
	CU_ASSERT_EQUAL(plain("dup", "wrong", "10.1.0.5", &a), PH_EAUTH);
}

static void test_temp_failure(void)
{
	struct answer a;

	CU_ASSERT_EQUAL(plain("temp", "x", "10.1.0.6", &a), PH_ETEMP);
	CU_ASSERT(strstr(a.message, "backend down") != NULL);
}

static void test_lookup(void)
{
	struct ph__auth_query q = {
	    .kind = "lookup", .service = "deliver", .user = "alice"};
	struct answer a = {0};

	CU_ASSERT(ph__auth_client_request(client, &q, on_reply, &a) > 0);
	run_until(&a.done);
	CU_ASSERT_EQUAL(a.result, PH_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.user);
	CU_ASSERT_STRING_EQUAL(ph__user_get(a.user, "home"), "/home/alice");
	ph__user_destroy(&a.user);
}

static void test_bad_kind(void)
{
	struct ph__auth_query q = {.kind = "shell", .user = "alice"};
	struct answer a = {0};

	CU_ASSERT_EQUAL(ph__auth_client_request(client, &q, on_reply, &a),
			PH_EINVAL);
}

static void test_pool_concurrency(void)
{
	struct answer slow, fast;

	/* a blocking plugin call does not hold up the next request */
	CU_ASSERT(send_plain("slow", "x", "10.1.0.7", &slow) > 0);
	CU_ASSERT(send_plain("alice", "secret", "10.1.0.7", &fast) > 0);
	run_until(&fast.done);
	CU_ASSERT_EQUAL(fast.result, PH_OK);
	CU_ASSERT_EQUAL(slow.done, 0);
	run_until(&slow.done);
	CU_ASSERT_EQUAL(slow.result, PH_OK);
	ph__user_destroy(&fast.user);
	ph__user_destroy(&slow.user);
}

static void test_not_thread_safe_serialised(void)
{
	struct answer a[6];
	char name[8];
	int i;

	for (i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "ser%d", i);
		CU_ASSERT(send_plain(name, "x", "10.1.0.11", &a[i]) > 0);
	}
	for (i = 0; i < 6; i++) {
		run_until(&a[i].done);
		CU_ASSERT_EQUAL(a[i].result, PH_OK);
		ph__user_destroy(&a[i].user);
	}
}

static void test_timeout(void)
{
	struct answer a;
	double t0 = ev_time();

	ph__auth_client_set_timeout(client, 0.3);
	CU_ASSERT_EQUAL(plain("slow", "x", "10.1.0.8", &a), PH_ETEMP);
	CU_ASSERT(ev_time() - t0 < 0.9);
	ph__auth_client_set_timeout(client, PH__AUTH_CLIENT_TIMEOUT);
	/* the late answer is dropped; the next request works */
	CU_ASSERT_EQUAL(plain("alice", "secret", "10.1.0.8", &a), PH_OK);
	ph__user_destroy(&a.user);
}

static void test_cancel(void)
{
	struct answer a, b;
	int id = send_plain("alice", "secret", "10.1.0.9", &a);

	CU_ASSERT(id > 0);
	ph__auth_client_cancel(client, id);
	CU_ASSERT_EQUAL(plain("alice", "secret", "10.1.0.9", &b), PH_OK);
	ph__user_destroy(&b.user);
	CU_ASSERT_EQUAL(a.done, 0);
}

static void test_second_connection_and_bad_request(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	unsigned char buf[64] = {0};
	struct ph__auth_msg_hdr hdr = {99, 0, 1};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct timeval tv = {5, 0};
	struct ph_str schemes;
	ssize_t n;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* a request type outside the table: the service hangs up */
	/* every connection starts with the hello: the common schemes */
	n = recv(fd, buf, sizeof(buf), 0);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(ph__auth_decode_hello(buf, (size_t)n, &schemes), PH_OK);
	CU_ASSERT(schemes.len == 13 &&
		  memcmp(schemes.data, "SCRAM-SHA-256", 13) == 0);
	memcpy(buf, &hdr, sizeof(hdr));
	CU_ASSERT(send(fd, buf, sizeof(hdr), 0) == sizeof(hdr));
	CU_ASSERT_EQUAL(recv(fd, buf, sizeof(buf), 0), 0);
	close(fd);
}

static void test_reconnect_path(void)
{
	struct answer a;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct ph__auth_client *saved = client;

	/* a client whose first fd is dead reconnects to the listener */
	close(fd);
	client = ph__auth_client_create(loop, -1);
	CU_ASSERT_EQUAL(ph__auth_client_set_path(client, sock_path), PH_OK);
	CU_ASSERT_EQUAL(plain("alice", "secret", "10.1.0.10", &a), PH_OK);
	ph__user_destroy(&a.user);
	ph__auth_client_destroy(&client);
	client = saved;
}

/* ---- penalties ---- */

static double timed_plain(const char *user, const char *pw, const char *ip,
			  int expect)
{
	struct answer a;
	double t0 = ev_time();

	CU_ASSERT_EQUAL(plain(user, pw, ip, &a), expect);
	ph__user_destroy(&a.user);
	return ev_time() - t0;
}

static void test_penalty_grows(void)
{
	const char *ip = "192.0.2.1";
	double d1, d2, d3, d4, d5;

	/* the service may still be starting: wait for it first */
	timed_plain("alice", "secret", "192.0.2.99", PH_OK);
	/* wrong {PLAIN} passwords: fast, so the time is the penalty */
	d1 = timed_plain("p1", "x", ip, PH_EAUTH);
	d2 = timed_plain("p2", "x", ip, PH_EAUTH);
	d3 = timed_plain("alice", "bad", ip, PH_EAUTH);
	d4 = timed_plain("p4", "x", ip, PH_EAUTH);
	d5 = timed_plain("p5", "x", ip, PH_EAUTH);
	/* lower bounds are the penalty; upper ones leave room for load */
	CU_ASSERT(d1 < 0.15);
	CU_ASSERT(d2 >= 0.2 && d2 < 0.6);
	CU_ASSERT(d3 >= 0.4 && d3 < 0.8);
	CU_ASSERT(d4 >= 0.8 && d4 < 1.2);
	CU_ASSERT(d5 >= 0.8 && d5 < 1.2); /* capped */
	/* someone else's good login never waits */
	CU_ASSERT(timed_plain("alice", "secret", "192.0.2.2", PH_OK) < 0.15);
}

static void test_penalty_per_user(void)
{
	/* failures for one name from many addresses still slow it down */
	timed_plain("bob", "bad1", "198.51.100.1", PH_EAUTH);
	CU_ASSERT(timed_plain("bob", "bad2", "198.51.100.2", PH_EAUTH) >= 0.2);
	/* ...but bob's own good login is not delayed, and resets it */
	CU_ASSERT(timed_plain("bob", "hunter2", "198.51.100.3", PH_OK) < 0.15);
	CU_ASSERT(timed_plain("bob", "bad3", "198.51.100.4", PH_EAUTH) < 0.15);
}

static void test_penalty_lockout(void)
{
	const char *ip = "203.0.113.9";
	struct answer a[8];
	int i, done = 0;

	/* eight failures in parallel reach the lockout threshold */
	for (i = 0; i < 8; i++)
		send_plain("x", "y", ip, &a[i]);
	while (done < 8) {
		run_until(&a[done].done);
		if (!a[done].done)
			break;
		done++;
	}
	CU_ASSERT_EQUAL(done, 8);
	/* now even the right password from there is refused */
	timed_plain("alice", "secret", ip, PH_EAUTH);
	CU_ASSERT(timed_plain("alice", "secret", "203.0.113.10", PH_OK) < 0.15);
}

static void test_penalty_bounded(void)
{
	struct ph__auth_penalty_params params = test_penalty;
	struct ph__auth_penalty *p;
	char ip[32];
	int i;

	params.max_entries = 100;
	p = ph__auth_penalty_create(&params);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
			 i & 255);
		ph__auth_penalty_fail(p, ip, ip, 1.0);
		CU_ASSERT(ph__auth_penalty_count(p) <= 100);
	}
	/* the most recent addresses are still remembered */
	CU_ASSERT_EQUAL(ph__auth_penalty_fail(p, ip, "", 1.0),
			test_penalty.base_delay_ms);
	ph__auth_penalty_destroy(&p);
	CU_ASSERT_PTR_NULL(p);
}

static void test_penalty_window(void)
{
	struct ph__auth_penalty *p = ph__auth_penalty_create(&test_penalty);
	int i;

	for (i = 0; i < 8; i++)
		ph__auth_penalty_fail(p, "1.2.3.4", "", 100.0);
	CU_ASSERT(ph__auth_penalty_locked(p, "1.2.3.4", 100.0));
	CU_ASSERT(!ph__auth_penalty_locked(p, "1.2.3.5", 100.0));
	/* forgotten after the window */
	CU_ASSERT(!ph__auth_penalty_locked(p, "1.2.3.4", 100.0 + 61));
	CU_ASSERT_EQUAL(ph__auth_penalty_fail(p, "1.2.3.4", "", 162.0), 0);
	ph__auth_penalty_destroy(&p);
}

/* ---- service death ---- */

static void test_service_dies(void)
{
	struct answer a, b;

	CU_ASSERT(send_plain("slow", "x", "10.9.0.1", &a) > 0);
	usleep(100 * 1000);
	kill(server_pid, SIGKILL);
	waitpid(server_pid, NULL, 0);
	server_pid = -1;
	run_until(&a.done);
	CU_ASSERT_EQUAL(a.result, PH_ETEMP);
	CU_ASSERT_EQUAL(plain("alice", "secret", "10.9.0.1", &b), PH_ETEMP);
	stop_server();
	CU_ASSERT_EQUAL_FATAL(start_server(), 0);
	CU_ASSERT_EQUAL(plain("alice", "secret", "10.9.0.1", &b), PH_OK);
	ph__user_destroy(&b.user);
}

static void test_clean_exit(void)
{
	int status = stop_server();

	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL_FATAL(start_server(), 0);
}

/* ---- login glue ---- */

struct sasl_answer {
	int done;
	enum ph_sasl_status status;
	char data[256];
	const ph_user *user;
};

static void on_sasl(void *ctx, enum ph_sasl_status status, struct ph_str data,
		    const ph_user *user)
{
	struct sasl_answer *a = ctx;

	a->done++;
	a->status = status;
	snprintf(a->data, sizeof(a->data), "%.*s", (int)data.len, data.data);
	a->user = user;
}

struct plain_answer {
	int done, result;
	const ph_user *user;
	char message[256];
};

static void on_plain(void *ctx, int result, const ph_user *user,
		     const char *message)
{
	struct plain_answer *a = ctx;

	a->done++;
	a->result = result;
	a->user = user;
	snprintf(a->message, sizeof(a->message), "%s", message);
}

static struct ph__login *new_login(int secured, int allow_plaintext)
{
	struct ph__login_params p = {
	    .service = "test",
	    .remote_ip = "10.7.0.1",
	    .local_ip = "127.0.0.1",
	    .secured = secured,
	    .allow_plaintext = allow_plaintext,
	};

	return ph__login_create(loop, client, &p);
}

/* Runs the loop until the service's hello arrived (the service may
 * still be starting: up to 5 s). */
static void wait_hello(void)
{
	int i;

	for (i = 0; i < 5000 && ph__auth_client_schemes(client)[0] == '\0';
	     i++) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

static void test_login_policy(void)
{
	struct ph__login *l = new_login(0, 0);
	struct plain_answer a = {0};
	struct sasl_answer s = {0};

	wait_hello();
	/* SCRAM sends no password: offered without TLS too */
	CU_ASSERT_STRING_EQUAL(ph__login_mechanisms(l), "SCRAM-SHA-256");
	CU_ASSERT_EQUAL(ph__login_plain(l, PH_STR_LIT("alice"),
					PH_STR_LIT("secret"), on_plain, &a),
			PH_EPERM);
	CU_ASSERT_EQUAL(ph__login_sasl_start(l, "PLAIN", NULL, on_sasl, &s),
			PH_ENOTSUP);
	CU_ASSERT_EQUAL(ph__login_sasl_start(l, "LOGIN", NULL, on_sasl, &s),
			PH_ENOTSUP);
	/* after STARTTLS */
	ph__login_set_secured(l, 1);
	CU_ASSERT_STRING_EQUAL(ph__login_mechanisms(l),
			       "SCRAM-SHA-256 PLAIN LOGIN");
	CU_ASSERT_EQUAL(ph__login_plain(l, PH_STR_LIT("alice"),
					PH_STR_LIT("secret"), on_plain, &a),
			PH_OK);
	run_until(&a.done);
	CU_ASSERT_EQUAL(a.result, PH_OK);
	ph__login_destroy(&l);
	CU_ASSERT_PTR_NULL(l);
}

static void test_login_plain(void)
{
	struct ph__login *l = new_login(0, 1);
	struct plain_answer a = {0}, b = {0};

	CU_ASSERT_EQUAL(ph__login_plain(l, PH_STR_LIT("alice"),
					PH_STR_LIT("secret"), on_plain, &a),
			PH_OK);
	CU_ASSERT_EQUAL(a.done, 0);
	CU_ASSERT_EQUAL(ph__login_plain(l, PH_STR_LIT("alice"),
					PH_STR_LIT("secret"), on_plain, &b),
			PH_EINUSE);
	run_until(&a.done);
	CU_ASSERT_EQUAL(a.result, PH_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.user);
	CU_ASSERT_PTR_EQUAL(a.user, ph__login_user(l));
	CU_ASSERT_STRING_EQUAL(ph__user_get(a.user, "user"), "alice");
	ph__login_destroy(&l);
}

static void test_login_plain_failures(void)
{
	struct ph__login *l = new_login(0, 1);
	struct plain_answer a = {0};

	ph__login_plain(l, PH_STR_LIT("alice"), PH_STR_LIT("nope"), on_plain,
			&a);
	run_until(&a.done);
	CU_ASSERT_EQUAL(a.result, PH_EAUTH);
	CU_ASSERT_STRING_EQUAL(a.message, "Authentication failed");
	CU_ASSERT_PTR_NULL(ph__login_user(l));
	/* an unknown user looks the same to the client */
	memset(&a, 0, sizeof(a));
	ph__login_plain(l, PH_STR_LIT("ghost"), PH_STR_LIT("nope"), on_plain,
			&a);
	run_until(&a.done);
	CU_ASSERT_EQUAL(a.result, PH_EAUTH);
	CU_ASSERT_STRING_EQUAL(a.message, "Authentication failed");
	/* NUL in the name: refused without asking */
	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(ph__login_plain(l, (struct ph_str){"al\0ice", 6},
					PH_STR_LIT("x"), on_plain, &a),
			PH_OK);
	CU_ASSERT_EQUAL(a.done, 0);
	run_until(&a.done);
	CU_ASSERT_EQUAL(a.result, PH_EAUTH);
	ph__login_destroy(&l);
}

static void test_login_destroy_in_flight(void)
{
	struct ph__login *l = new_login(0, 1);
	struct plain_answer a = {0};
	struct answer b;

	ph__login_plain(l, PH_STR_LIT("alice"), PH_STR_LIT("secret"), on_plain,
			&a);
	ph__login_destroy(&l);
	CU_ASSERT_EQUAL(plain("alice", "secret", "10.7.0.2", &b), PH_OK);
	ph__user_destroy(&b.user);
	CU_ASSERT_EQUAL(a.done, 0);
}

static void sasl_wait(struct sasl_answer *s)
{
	CU_ASSERT_EQUAL(s->done, 0);
	run_until(&s->done);
	CU_ASSERT_EQUAL(s->done, 1);
}

static void test_sasl_plain_ir(void)
{
	struct ph__login *l = new_login(1, 0);
	struct sasl_answer s = {0};
	/* base64("\0alice\0secret") */
	struct ph_str ir = PH_STR_LIT("AGFsaWNlAHNlY3JldA==");

	CU_ASSERT_EQUAL(ph__login_sasl_start(l, "plain", &ir, on_sasl, &s),
			PH_OK);
	sasl_wait(&s);
	CU_ASSERT_EQUAL(s.status, PH_SASL_SUCCESS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s.user);
	CU_ASSERT_STRING_EQUAL(ph__user_get(s.user, "user"), "alice");
	ph__login_destroy(&l);
}

static void test_sasl_plain_continue(void)
{
	struct ph__login *l = new_login(1, 0);
	struct sasl_answer s = {0};

	CU_ASSERT_EQUAL(ph__login_sasl_continue(l, PH_STR_LIT("AA==")),
			PH_EINVAL);
	CU_ASSERT_EQUAL(ph__login_sasl_start(l, "PLAIN", NULL, on_sasl, &s),
			PH_OK);
	sasl_wait(&s);
	CU_ASSERT_EQUAL(s.status, PH_SASL_CHALLENGE);
	CU_ASSERT_STRING_EQUAL(s.data, "");
	memset(&s, 0, sizeof(s));
	/* base64("alice\0alice\0secret"): authzid == authcid is fine */
	CU_ASSERT_EQUAL(
	    ph__login_sasl_continue(l, PH_STR_LIT("YWxpY2UAYWxpY2UAc2VjcmV0")),
	    PH_OK);
	sasl_wait(&s);
	CU_ASSERT_EQUAL(s.status, PH_SASL_SUCCESS);
	ph__login_destroy(&l);
}

static void test_sasl_plain_wrong(void)
{
	struct ph__login *l = new_login(1, 0);
	struct sasl_answer s = {0};
	/* base64("\0alice\0wrong") */
	struct ph_str ir = PH_STR_LIT("AGFsaWNlAHdyb25n");

	ph__login_sasl_start(l, "PLAIN", &ir, on_sasl, &s);
	sasl_wait(&s);
	CU_ASSERT_EQUAL(s.status, PH_SASL_FAILURE);
	CU_ASSERT_PTR_NULL(s.user);
	ph__login_destroy(&l);
}

static void test_sasl_plain_authzid(void)
{
	struct ph__login *l = new_login(1, 0);
	struct sasl_answer s = {0};
	/* base64("bob\0alice\0secret"): alice acting as bob */
	struct ph_str ir = PH_STR_LIT("Ym9iAGFsaWNlAHNlY3JldA==");

	ph__login_sasl_start(l, "PLAIN", &ir, on_sasl, &s);
	sasl_wait(&s);
	CU_ASSERT_EQUAL(s.status, PH_SASL_FAILURE);
	ph__login_destroy(&l);
}

static void test_sasl_login(void)
{
	struct ph__login *l = new_login(1, 0);
	struct sasl_answer s = {0};

	ph__login_sasl_start(l, "LOGIN", NULL, on_sasl, &s);
	sasl_wait(&s);
	CU_ASSERT_EQUAL(s.status, PH_SASL_CHALLENGE);
	CU_ASSERT_STRING_EQUAL(s.data, "VXNlcm5hbWU6"); /* Username: */
	memset(&s, 0, sizeof(s));
	ph__login_sasl_continue(l, PH_STR_LIT("YWxpY2U=")); /* alice */
	sasl_wait(&s);
	CU_ASSERT_EQUAL(s.status, PH_SASL_CHALLENGE);
	CU_ASSERT_STRING_EQUAL(s.data, "UGFzc3dvcmQ6"); /* Password: */
	memset(&s, 0, sizeof(s));
	ph__login_sasl_continue(l, PH_STR_LIT("c2VjcmV0")); /* secret */
	sasl_wait(&s);
	CU_ASSERT_EQUAL(s.status, PH_SASL_SUCCESS);
	ph__login_destroy(&l);
}

static void test_sasl_cancel(void)
{
	struct ph__login *l = new_login(1, 0);
	struct sasl_answer s = {0};

	ph__login_sasl_start(l, "LOGIN", NULL, on_sasl, &s);
	sasl_wait(&s);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(ph__login_sasl_continue(l, PH_STR_LIT("*")), PH_OK);
	sasl_wait(&s);
	CU_ASSERT_EQUAL(s.status, PH_SASL_ABORTED);
	/* the exchange is over */
	CU_ASSERT_EQUAL(ph__login_sasl_continue(l, PH_STR_LIT("YQ==")),
			PH_EINVAL);
	ph__login_destroy(&l);
}

static void test_sasl_bad_base64(void)
{
	struct ph__login *l = new_login(1, 0);
	struct sasl_answer s = {0};
	struct ph_str ir = PH_STR_LIT("AGFsaWNl!!!");

	CU_ASSERT_EQUAL(ph__login_sasl_start(l, "PLAIN", &ir, on_sasl, &s),
			PH_OK);
	sasl_wait(&s);
	CU_ASSERT_EQUAL(s.status, PH_SASL_BADINPUT);
	ph__login_destroy(&l);
}

static void test_sasl_too_long(void)
{
	struct ph__login *l = new_login(1, 0);
	struct sasl_answer s = {0};
	size_t len = (PH_SASL_MAX_RESPONSE + 3) / 3 * 4 + 4;
	char *big = malloc(len);

	memset(big, 'A', len);
	ph__login_sasl_start(l, "PLAIN", NULL, on_sasl, &s);
	sasl_wait(&s);
	memset(&s, 0, sizeof(s));
	ph__login_sasl_continue(l, (struct ph_str){big, len});
	sasl_wait(&s);
	CU_ASSERT_EQUAL(s.status, PH_SASL_BADINPUT);
	free(big);
	ph__login_destroy(&l);
}

static void test_sasl_unknown_mech(void)
{
	struct ph__login *l = new_login(1, 0);
	struct sasl_answer s = {0};

	CU_ASSERT_EQUAL(ph__login_sasl_start(l, "CRAM-MD5", NULL, on_sasl, &s),
			PH_ENOTSUP);
	CU_ASSERT_EQUAL(ph__login_sasl_start(l, "PLAIN", NULL, on_sasl, &s),
			PH_OK);
	CU_ASSERT_EQUAL(ph__login_sasl_start(l, "PLAIN", NULL, on_sasl, &s),
			PH_EINUSE);
	ph__login_destroy(&l);
	CU_ASSERT_EQUAL(s.done, 0);
}

static void test_sasl_empty_ir(void)
{
	struct ph__login *l = new_login(1, 0);
	struct sasl_answer s = {0};
	struct ph_str ir = PH_STR_LIT("=");

	/* "=" is an empty initial response: malformed for PLAIN */
	ph__login_sasl_start(l, "PLAIN", &ir, on_sasl, &s);
	sasl_wait(&s);
	CU_ASSERT_EQUAL(s.status, PH_SASL_FAILURE);
	ph__login_destroy(&l);
}

/* ---- SCRAM-SHA-256 through the service ---- */

static char *b64(const void *data, size_t len)
{
	char *out;
	size_t n;

	CU_ASSERT_FATAL(ph__base64_encode(data, len, &out, &n) == PH_OK);
	return out;
}

static char *unb64(const char *text, size_t *len_r)
{
	unsigned char *out;

	CU_ASSERT_FATAL(ph__base64_decode(text, strlen(text), &out, len_r) ==
			PH_OK);
	return (char *)out;
}

/* The client side of RFC 5802, to talk to the server side under test.
 * Returns the client-final message and the expected server signature. */
static void scram_client_final(const char *bare, const char *server_first,
			       const char *password, char **final_r,
			       char **verifier_r)
{
	char nonce[128], salt_b64[128], *salt, *auth, *proof64, *sig64;
	unsigned char salted[32], ckey[32], skey[32], stored[32], csig[32],
	    ssig[32], proof[32];
	unsigned len, i, iter = 0;
	size_t salt_len;
	char cfwp[256];

	CU_ASSERT_FATAL(sscanf(server_first, "r=%127[^,],s=%127[^,],i=%u",
			       nonce, salt_b64, &iter) == 3);
	salt = unb64(salt_b64, &salt_len);
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password),
			  (unsigned char *)salt, (int)salt_len, (int)iter,
			  EVP_sha256(), 32, salted);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10,
	     ckey, &len);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Server Key", 10,
	     skey, &len);
	EVP_Digest(ckey, 32, stored, NULL, EVP_sha256(), NULL);
	snprintf(cfwp, sizeof(cfwp), "c=biws,r=%s", nonce);
	CU_ASSERT_FATAL(asprintf(&auth, "%s,%s,%s", bare, server_first, cfwp) >
			0);
	HMAC(EVP_sha256(), stored, 32, (unsigned char *)auth, strlen(auth),
	     csig, &len);
	HMAC(EVP_sha256(), skey, 32, (unsigned char *)auth, strlen(auth), ssig,
	     &len);
	for (i = 0; i < 32; i++)
		proof[i] = ckey[i] ^ csig[i];
	proof64 = b64(proof, 32);
	sig64 = b64(ssig, 32);
	CU_ASSERT_FATAL(asprintf(final_r, "%s,p=%s", cfwp, proof64) > 0);
	CU_ASSERT_FATAL(asprintf(verifier_r, "v=%s", sig64) > 0);
	free(salt);
	free(auth);
	free(proof64);
	free(sig64);
}

/* A whole SCRAM exchange; returns the final status. */
static struct ph_str end_response; /* answer to the server-final */

static enum ph_sasl_status scram_login(const char *user, const char *pw,
				       struct ph__login **l_r,
				       struct sasl_answer *s, int *sig_ok)
{
	struct ph__login *l = new_login(0, 0);
	char bare[128], *ir, *first, *final, *verifier, *final64, *v;
	size_t len;

	wait_hello();
	snprintf(bare, sizeof(bare), "n=%s,r=fyko+d2lbbFgONRv9qkxdawL", user);
	first = NULL;
	CU_ASSERT_FATAL(asprintf(&first, "n,,%s", bare) > 0);
	ir = b64(first, strlen(first));
	memset(s, 0, sizeof(*s));
	CU_ASSERT_EQUAL_FATAL(
	    ph__login_sasl_start(l, "SCRAM-SHA-256",
				 &(struct ph_str){ir, strlen(ir)}, on_sasl, s),
	    PH_OK);
	sasl_wait(s);
	CU_ASSERT_EQUAL_FATAL(s->status, PH_SASL_CHALLENGE);
	free(first);
	first = unb64(s->data, &len);
	scram_client_final(bare, first, pw, &final, &verifier);
	final64 = b64(final, strlen(final));
	memset(s, 0, sizeof(*s));
	CU_ASSERT_EQUAL(ph__login_sasl_continue(
			    l, (struct ph_str){final64, strlen(final64)}),
			PH_OK);
	sasl_wait(s);
	*sig_ok = 0;
	if (s->status == PH_SASL_CHALLENGE) {
		/* server-final as a last challenge (RFC 4422 3.6) */
		v = unb64(s->data, &len);
		*sig_ok = strcmp(v, verifier) == 0;
		free(v);
		memset(s, 0, sizeof(*s));
		CU_ASSERT_EQUAL(ph__login_sasl_continue(l, end_response),
				PH_OK);
		sasl_wait(s);
		if (s->status == PH_SASL_SUCCESS)
			CU_ASSERT_EQUAL(s->data[0], '\0');
	}
	free(ir);
	free(first);
	free(final);
	free(verifier);
	free(final64);
	*l_r = l;
	return s->status;
}

static void test_sasl_scram(void)
{
	struct ph__login *l;
	struct sasl_answer s;
	int sig_ok;

	end_response = PH_STR_LIT("");
	CU_ASSERT_EQUAL(scram_login("user", "pencil", &l, &s, &sig_ok),
			PH_SASL_SUCCESS);
	CU_ASSERT(sig_ok); /* the server proved it knows the ServerKey */
	CU_ASSERT_PTR_NOT_NULL_FATAL(s.user);
	CU_ASSERT_PTR_EQUAL(s.user, ph__login_user(l));
	CU_ASSERT_STRING_EQUAL(ph__user_get(s.user, "user"), "user");
	CU_ASSERT_STRING_EQUAL(ph__user_get(s.user, "mail"), "/m/user");
	/* the stored secret never reaches the protocol */
	CU_ASSERT_PTR_NULL(ph__user_get(s.user, "credentials"));
	/* nor the relay's fields */
	CU_ASSERT_PTR_NULL(ph__user_get(s.user, "scram_final"));
	CU_ASSERT_PTR_NULL(ph__user_get(s.user, "scram_session"));
	ph__login_destroy(&l);
}

static void test_sasl_scram_bad_final_answer(void)
{
	struct ph__login *l;
	struct sasl_answer s;
	int sig_ok;

	/* the answer to the server-final must be empty */
	end_response = PH_STR_LIT("AA==");
	CU_ASSERT_EQUAL(scram_login("user", "pencil", &l, &s, &sig_ok),
			PH_SASL_FAILURE);
	CU_ASSERT(sig_ok);
	CU_ASSERT_PTR_NULL(ph__login_user(l));
	ph__login_destroy(&l);
	end_response = PH_STR_LIT("*");
	CU_ASSERT_EQUAL(scram_login("user", "pencil", &l, &s, &sig_ok),
			PH_SASL_ABORTED);
	CU_ASSERT_PTR_NULL(ph__login_user(l));
	ph__login_destroy(&l);
	end_response = PH_STR_LIT("");
}

static void test_sasl_scram_wrong_password(void)
{
	struct ph__login *l;
	struct sasl_answer s;
	int sig_ok;

	CU_ASSERT_EQUAL(scram_login("user", "pencil2", &l, &s, &sig_ok),
			PH_SASL_FAILURE);
	CU_ASSERT_PTR_NULL(ph__login_user(l));
	ph__login_destroy(&l);
}

static void test_sasl_scram_unknown_user(void)
{
	struct ph__login *l;
	struct sasl_answer s;
	int sig_ok;

	/* ghost has no secret: the exchange runs to the end and fails */
	CU_ASSERT_EQUAL(scram_login("ghost", "x", &l, &s, &sig_ok),
			PH_SASL_FAILURE);
	ph__login_destroy(&l);
	/* alice's {PLAIN} password yields a SCRAM secret (scram = yes) */
	CU_ASSERT_EQUAL(scram_login("alice", "secret", &l, &s, &sig_ok),
			PH_SASL_SUCCESS);
	CU_ASSERT(sig_ok);
	ph__login_destroy(&l);
	CU_ASSERT_EQUAL(scram_login("alice", "secreT", &l, &s, &sig_ok),
			PH_SASL_FAILURE);
	ph__login_destroy(&l);
}

/* ---- fixtures ---- */

/* ---- session tickets ---- */

/* Redeems over the master's control socket; returns the result and
 * the record (caller frees) or the reason. */
static int redeem(const unsigned char *ticket, const char *service,
		  const char *ip, char **record_r, char *why, size_t size)
{
	return ph__auth_redeem(master_fd, ticket, PH__AUTH_TICKET_LEN, service,
			       ip, 5., record_r, why, size);
}

static void test_ticket_plain(void)
{
	struct answer a;
	char *record = NULL, why[300];
	ph_user *u;

	CU_ASSERT_EQUAL(plain("alice", "secret", "192.0.2.50", &a), PH_OK);
	CU_ASSERT_FATAL(a.has_ticket); /* alice has a uid */
	ph__user_destroy(&a.user);
	CU_ASSERT_EQUAL(
	    redeem(a.ticket, "test", "192.0.2.50", &record, why, sizeof(why)),
	    PH_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(record);
	u = ph__user_deserialize(record, strlen(record));
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "user"), "alice");
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "uid"), "1000");
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "home"), "/home/alice");
	ph__user_destroy(&u);
	free(record);
	/* a replay is refused */
	record = NULL;
	CU_ASSERT_EQUAL(
	    redeem(a.ticket, "test", "192.0.2.50", &record, why, sizeof(why)),
	    PH_EAUTH);
	CU_ASSERT_PTR_NULL(record);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "unknown ticket"));
}

static void test_ticket_only_with_uid(void)
{
	struct answer a;

	/* bob: no uid (a virtual user), no ticket */
	CU_ASSERT_EQUAL(plain("bob", "hunter2", "192.0.2.51", &a), PH_OK);
	CU_ASSERT_FALSE(a.has_ticket);
	ph__user_destroy(&a.user);
	/* nor with a failure */
	CU_ASSERT_EQUAL(plain("alice", "wrong", "192.0.2.51", &a), PH_EAUTH);
	CU_ASSERT_FALSE(a.has_ticket);
}

static void test_ticket_not_for_lookup(void)
{
	struct ph__auth_query q = {.kind = "lookup",
				   .service = "test",
				   .user = "alice",
				   .remote_ip = "192.0.2.52"};
	struct answer a = {0};

	/* a lookup vouches for nothing: its asker names the user */
	CU_ASSERT(ph__auth_client_request(client, &q, on_reply, &a) > 0);
	run_until(&a.done);
	CU_ASSERT_EQUAL(a.result, PH_OK);
	CU_ASSERT_FALSE(a.has_ticket);
	ph__user_destroy(&a.user);
}

static void test_ticket_wrong(void)
{
	unsigned char forged[PH__AUTH_TICKET_LEN];
	char *record = NULL, why[300];

	memset(forged, 0x5a, sizeof(forged));
	CU_ASSERT_EQUAL(
	    redeem(forged, "test", "192.0.2.53", &record, why, sizeof(why)),
	    PH_EAUTH);
	CU_ASSERT_PTR_NULL(record);
	/* no ticket at all */
	CU_ASSERT_EQUAL(ph__auth_redeem(master_fd, NULL, 0, "test",
					"192.0.2.53", 5., &record, why,
					sizeof(why)),
			PH_EAUTH);
}

static void test_ticket_binding(void)
{
	struct answer a;
	char *record = NULL, why[300];

	CU_ASSERT_EQUAL(plain("alice", "secret", "192.0.2.54", &a), PH_OK);
	ph__user_destroy(&a.user);
	CU_ASSERT_FATAL(a.has_ticket);
	CU_ASSERT_EQUAL(
	    redeem(a.ticket, "test", "192.0.2.99", &record, why, sizeof(why)),
	    PH_EAUTH);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "another service or address"));
	/* used up by that attempt */
	CU_ASSERT_EQUAL(
	    redeem(a.ticket, "test", "192.0.2.54", &record, why, sizeof(why)),
	    PH_EAUTH);
}

static void test_ticket_expired(void)
{
	struct answer a;
	char *record = NULL, why[300];

	CU_ASSERT_EQUAL(plain("alice", "secret", "192.0.2.55", &a), PH_OK);
	ph__user_destroy(&a.user);
	CU_ASSERT_FATAL(a.has_ticket);
	usleep(2300 * 1000); /* the test server's ticket_ttl is 2 s */
	CU_ASSERT_EQUAL(
	    redeem(a.ticket, "test", "192.0.2.55", &record, why, sizeof(why)),
	    PH_EAUTH);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "expired"));
}

/* A worker's connection (here: one through the listener) that sends
 * REDEEM is closed, and the ticket stays unused. */
static void test_ticket_redeem_from_worker(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	unsigned char buf[PH__AUTH_MSG_MAX];
	struct ph__auth_request_msg m = {0};
	struct answer a;
	char *record = NULL, why[300];
	int fd, len;

	CU_ASSERT_EQUAL(plain("alice", "secret", "192.0.2.56", &a), PH_OK);
	ph__user_destroy(&a.user);
	CU_ASSERT_FATAL(a.has_ticket);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CU_ASSERT(recv(fd, buf, sizeof(buf), 0) > 0); /* hello */
	m.type = PH__AUTH_MSG_REDEEM;
	m.request_id = 1;
	m.service = PH_STR_LIT("test");
	m.user = m.scheme = m.local_ip = PH_STR_LIT("");
	m.remote_ip = PH_STR_LIT("192.0.2.56");
	m.password = (struct ph_str){(const char *)a.ticket, sizeof(a.ticket)};
	len = ph__auth_encode_request(buf, &m);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_EQUAL(send(fd, buf, (size_t)len, 0), len);
	CU_ASSERT_EQUAL(recv(fd, buf, sizeof(buf), 0), 0); /* closed */
	close(fd);
	CU_ASSERT_EQUAL(
	    redeem(a.ticket, "test", "192.0.2.56", &record, why, sizeof(why)),
	    PH_OK);
	free(record);
}

static void test_ticket_login_glue(void)
{
	struct ph__login *l = new_login(0, 1);
	struct plain_answer a = {0};
	struct sasl_answer s;
	char *record = NULL, why[300];
	int sig_ok;

	CU_ASSERT_PTR_NULL(ph__login_ticket(l));
	ph__login_plain(l, PH_STR_LIT("alice"), PH_STR_LIT("secret"), on_plain,
			&a);
	run_until(&a.done);
	CU_ASSERT_EQUAL(a.result, PH_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ph__login_ticket(l));
	CU_ASSERT_EQUAL(redeem(ph__login_ticket(l), "test", "10.7.0.1", &record,
			       why, sizeof(why)),
			PH_OK);
	free(record);
	ph__login_destroy(&l);
	/* SCRAM: "user" has uid 1001 */
	end_response = PH_STR_LIT("");
	CU_ASSERT_EQUAL(scram_login("user", "pencil", &l, &s, &sig_ok),
			PH_SASL_SUCCESS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ph__login_ticket(l));
	record = NULL;
	CU_ASSERT_EQUAL(redeem(ph__login_ticket(l), "test", "10.7.0.1", &record,
			       why, sizeof(why)),
			PH_OK);
	CU_ASSERT_PTR_NOT_NULL(record);
	if (record != NULL) {
		CU_ASSERT_PTR_NULL(strstr(record, "scram_"));
		CU_ASSERT_PTR_NULL(strstr(record, "credentials"));
	}
	free(record);
	ph__login_destroy(&l);
}

/* ---- SASL EXTERNAL verified by the service ---- */

static struct certgen ext_ca, ext_ca2, ext_alice, ext_bob, ext_forged,
    ext_nobody;

struct ext_der {
	unsigned char buf[4096];
	size_t len;
};

static struct ph_str ext_der(const struct certgen *c, struct ext_der *d)
{
	int n = certgen_der(c, d->buf, sizeof(d->buf));

	d->len = n > 0 ? (size_t)n : 0;
	return (struct ph_str){(const char *)d->buf, d->len};
}

static int external(const char *listener, const struct certgen *cert,
		    const char *authzid, const char *ip, struct answer *a)
{
	struct ext_der d;
	struct ph_str chain[1];
	struct ph__auth_query q = {
	    .kind = "external",
	    .service = "imap4",
	    .user = authzid,
	    .remote_ip = ip,
	    .local_ip = "127.0.0.1",
	    .secured = 1,
	    .listener = listener,
	    .chain = chain,
	    .chain_count = 1,
	};

	chain[0] = ext_der(cert, &d);
	memset(a, 0, sizeof(*a));
	CU_ASSERT_FATAL(ph__auth_client_request(client, &q, on_reply, a) > 0);
	run_until(&a->done);
	CU_ASSERT_EQUAL(a->done, 1);
	return a->result;
}

static void test_external_virtual(void)
{
	struct answer a;

	/* bob: no uid, no ticket, the record from the chain's lookup */
	CU_ASSERT_EQUAL(external("imaps", &ext_bob, "", "192.0.2.60", &a),
			PH_OK);
	CU_ASSERT_FALSE(a.has_ticket);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.user);
	CU_ASSERT_STRING_EQUAL(ph__user_get(a.user, "user"), "bob");
	ph__user_destroy(&a.user);
	/* the authzid may name the certificate's user */
	CU_ASSERT_EQUAL(external("imaps", &ext_bob, "bob", "192.0.2.60", &a),
			PH_OK);
	ph__user_destroy(&a.user);
}

static void test_external_ticket(void)
{
	struct answer a;
	char *record = NULL, why[300];
	ph_user *u;

	/* alice has a uid: the service verified the chain, so it vouches */
	CU_ASSERT_EQUAL(external("imaps", &ext_alice, "", "192.0.2.61", &a),
			PH_OK);
	CU_ASSERT_FATAL(a.has_ticket);
	ph__user_destroy(&a.user);
	CU_ASSERT_EQUAL(
	    redeem(a.ticket, "imap4", "192.0.2.61", &record, why, sizeof(why)),
	    PH_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(record);
	u = ph__user_deserialize(record, strlen(record));
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "user"), "alice");
	CU_ASSERT_STRING_EQUAL(ph__user_get(u, "uid"), "1000");
	ph__user_destroy(&u);
	free(record);
}

static void test_external_other_ca(void)
{
	struct answer a;

	/* a certificate naming alice from a CA the listener does not trust:
	 * what a compromised worker would claim */
	CU_ASSERT_EQUAL(external("imaps", &ext_forged, "", "192.0.2.62", &a),
			PH_EAUTH);
	CU_ASSERT_FALSE(a.has_ticket);
	CU_ASSERT_PTR_NULL(a.user);
	/* counted like a wrong password: the next failure is delayed */
	{
		double t0 = ev_time();

		CU_ASSERT_EQUAL(
		    external("imaps", &ext_forged, "", "192.0.2.62", &a),
		    PH_EAUTH);
		CU_ASSERT(a.at - t0 >= 0.15);
	}
}

static void test_external_wrong_listener(void)
{
	struct answer a;

	CU_ASSERT_EQUAL(external("pop3", &ext_alice, "", "192.0.2.63", &a),
			PH_EAUTH);
	CU_ASSERT_FALSE(a.has_ticket);
}

static void test_external_authzid(void)
{
	struct answer a;

	CU_ASSERT_EQUAL(external("imaps", &ext_alice, "bob", "192.0.2.64", &a),
			PH_EAUTH);
	CU_ASSERT_FALSE(a.has_ticket);
	CU_ASSERT_PTR_NULL(a.user);
}

static void test_external_unknown_user(void)
{
	struct answer a;

	CU_ASSERT_NOT_EQUAL(
	    external("imaps", &ext_nobody, "", "192.0.2.65", &a), PH_OK);
	CU_ASSERT_FALSE(a.has_ticket);
	CU_ASSERT_PTR_NULL(a.user);
}

static void test_external_malformed(void)
{
	struct ph_str chain[1] = {PH_STR_LIT("not a certificate")};
	struct ph__auth_query q = {
	    .kind = "external",
	    .service = "imap4",
	    .user = "",
	    .remote_ip = "192.0.2.66",
	    .listener = "imaps",
	    .chain = chain,
	    .chain_count = 1,
	};
	struct answer a = {0};

	CU_ASSERT_FATAL(ph__auth_client_request(client, &q, on_reply, &a) > 0);
	run_until(&a.done);
	CU_ASSERT_EQUAL(a.result, PH_EAUTH);
	CU_ASSERT_FALSE(a.has_ticket);
	/* the client refuses to encode what the limits forbid */
	q.chain_count = PH__AUTH_MAX_CHAIN + 1;
	CU_ASSERT(ph__auth_client_request(client, &q, on_reply, &a) < 0);
	q.chain_count = 0;
	CU_ASSERT(ph__auth_client_request(client, &q, on_reply, &a) < 0);
}

/* A datagram breaking the limits (nine certificates) closes the
 * connection that sent it; the service goes on. */
static void test_external_oversized_datagram(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	unsigned char buf[PH__AUTH_MSG_MAX];
	struct ph__auth_request_msg m = {0};
	struct answer a;
	uint32_t hdr[3], nine = 9;
	int fd, len;

	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CU_ASSERT(recv(fd, buf, sizeof(buf), 0) > 0); /* hello */
	/* eight certificates encode; the ninth is appended by hand */
	m.type = PH__AUTH_MSG_EXTERNAL_VERIFY;
	m.request_id = 1;
	m.service = PH_STR_LIT("imap4");
	m.user = m.scheme = m.password = m.local_ip = PH_STR_LIT("");
	m.remote_ip = PH_STR_LIT("192.0.2.67");
	m.listener = PH_STR_LIT("imaps");
	m.chain_count = PH__AUTH_MAX_CHAIN;
	for (size_t i = 0; i < PH__AUTH_MAX_CHAIN; i++)
		m.chain[i] = PH_STR_LIT("x");
	len = ph__auth_encode_request(buf, &m);
	CU_ASSERT_FATAL(len > 0);
	/* the count sits before the 8 strings of 1 + 5 bytes */
	memcpy(buf + len - 8 * 6 - 4, &nine, 4);
	memcpy(buf + len, "\1\0\0\0x", 6);
	len += 6;
	memcpy(hdr, buf, sizeof(hdr));
	hdr[1] = (uint32_t)len - 12;
	memcpy(buf, hdr, sizeof(hdr));
	CU_ASSERT_EQUAL(send(fd, buf, (size_t)len, 0), len);
	CU_ASSERT_EQUAL(recv(fd, buf, sizeof(buf), 0), 0); /* closed */
	close(fd);
	/* others are still served */
	CU_ASSERT_EQUAL(external("imaps", &ext_bob, "", "192.0.2.67", &a),
			PH_OK);
	ph__user_destroy(&a.user);
}

/* Made before the server forks: it loads ca_path at start. */
static int external_init(void)
{
	snprintf(ca_path, sizeof(ca_path), "%s/client-ca.pem", tmpdir);
	if (ext_ca.cert != NULL)
		return certgen_pem(&ext_ca, ca_path);
	if (certgen_ca(&ext_ca, "Posthorn test CA", NULL) < 0 ||
	    certgen_ca(&ext_ca2, "Forger CA", NULL) < 0 ||
	    certgen_leaf(&ext_alice, &ext_ca, "alice", NULL, NULL, -1, 10,
			 "clientAuth") < 0 ||
	    certgen_leaf(&ext_bob, &ext_ca, "bob", NULL, NULL, -1, 10, NULL) <
		0 ||
	    certgen_leaf(&ext_forged, &ext_ca2, "alice", NULL, NULL, -1, 10,
			 "clientAuth") < 0 ||
	    certgen_leaf(&ext_nobody, &ext_ca, "zed", NULL, NULL, -1, 10,
			 NULL) < 0)
		return -1;
	return certgen_pem(&ext_ca, ca_path);
}

static int suite_init(void)
{
	FILE *fp;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ph-auth-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(users_path, sizeof(users_path), "%s/users", tmpdir);
	snprintf(sock_path, sizeof(sock_path), "%s/auth.sock", tmpdir);
	fp = fopen(users_path, "w");
	if (fp == NULL)
		return -1;
	fputs("alice:{PLAIN}secret:1000:1000::/home/alice::"
	      "mail=/var/vmail/alice\n"
	      "bob:{PLAIN}hunter2\n"
	      "dup:{PLAIN}a\n"
	      "p1:{PLAIN}a\np2:{PLAIN}a\np4:{PLAIN}a\np5:{PLAIN}a\n"
	      "user:{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,"
	      "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,"
	      "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=:1001:1001::"
	      "/home/user::"
	      "mail=/m/user\n",
	      fp);
	fclose(fp);
	if (external_init() < 0)
		return -1;
	loop = ev_default_loop(0);
	return start_server();
}

static int suite_clean(void)
{
	stop_server();
	unlink(users_path);
	unlink(sock_path);
	unlink(ca_path);
	rmdir(tmpdir);
	return 0;
}

static int external_clean(void)
{
	struct certgen *all[] = {&ext_ca,  &ext_ca2,	&ext_alice,
				 &ext_bob, &ext_forged, &ext_nobody};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		certgen_free(all[i]);
	return suite_clean();
}

static CU_TestInfo service_tests[] = {
    {"good password", test_good_password},
    {"bad password", test_bad_password},
    {"unknown user", test_unknown_user},
    {"chain falls through on unknown", test_chain_fall_through},
    {"chain stops at a definitive answer", test_chain_definitive},
    {"temporary failure", test_temp_failure},
    {"lookup", test_lookup},
    {"bad request kind", test_bad_kind},
    {"slow plugin does not block others", test_pool_concurrency},
    {"thread_safe = 0 is serialised", test_not_thread_safe_serialised},
    {"request timeout", test_timeout},
    {"cancel", test_cancel},
    {"listener; unknown request type", test_second_connection_and_bad_request},
    {"reconnect through the listener", test_reconnect_path},
    {"clean exit on SIGTERM", test_clean_exit},
    {"service dies", test_service_dies},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo penalty_tests[] = {
    {"delay grows per IP", test_penalty_grows},
    {"per user name", test_penalty_per_user},
    {"lockout", test_penalty_lockout},
    {"bounded memory", test_penalty_bounded},
    {"window", test_penalty_window},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo login_tests[] = {
    {"plaintext policy", test_login_policy},
    {"auth_plain", test_login_plain},
    {"auth_plain failures", test_login_plain_failures},
    {"destroy with a request in flight", test_login_destroy_in_flight},
    {"SASL PLAIN initial response", test_sasl_plain_ir},
    {"SASL PLAIN continuation", test_sasl_plain_continue},
    {"SASL PLAIN wrong password", test_sasl_plain_wrong},
    {"SASL PLAIN other authzid", test_sasl_plain_authzid},
    {"SASL LOGIN", test_sasl_login},
    {"SASL cancel", test_sasl_cancel},
    {"SASL bad base64", test_sasl_bad_base64},
    {"SASL response too long", test_sasl_too_long},
    {"SASL mechanism checks", test_sasl_unknown_mech},
    {"SASL empty initial response", test_sasl_empty_ir},
    {"SCRAM-SHA-256", test_sasl_scram},
    {"SCRAM-SHA-256 answer to server-final", test_sasl_scram_bad_final_answer},
    {"SCRAM-SHA-256 wrong password", test_sasl_scram_wrong_password},
    {"SCRAM-SHA-256 unknown user, {PLAIN} user", test_sasl_scram_unknown_user},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo ticket_tests[] = {
    {"PLAIN success: ticket, redeemed once", test_ticket_plain},
    {"no ticket without a uid or on failure", test_ticket_only_with_uid},
    {"no ticket for a lookup", test_ticket_not_for_lookup},
    {"forged or missing ticket", test_ticket_wrong},
    {"bound to service and address", test_ticket_binding},
    {"expired", test_ticket_expired},
    {"REDEEM from a worker's socket closes it", test_ticket_redeem_from_worker},
    {"login glue keeps the ticket (PLAIN, SCRAM)", test_ticket_login_glue},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo external_tests[] = {
    {"virtual user: no ticket", test_external_virtual},
    {"user with a uid: ticket, redeemed", test_external_ticket},
    {"another CA: refused, counted, no ticket", test_external_other_ca},
    {"listener without a client CA", test_external_wrong_listener},
    {"authzid mismatch", test_external_authzid},
    {"unknown user", test_external_unknown_user},
    {"malformed DER; client-side limits", test_external_malformed},
    {"nine certificates close the connection",
     test_external_oversized_datagram},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"service", suite_init, suite_clean, NULL, NULL, service_tests},
    {"penalty", suite_init, suite_clean, NULL, NULL, penalty_tests},
    {"login", suite_init, suite_clean, NULL, NULL, login_tests},
    {"tickets", suite_init, suite_clean, NULL, NULL, ticket_tests},
    {"external", suite_init, external_clean, NULL, NULL, external_tests},
    CU_SUITE_INFO_NULL,
};
PH_CUNIT_MAIN(suites)
