// SPDX-License-Identifier: GPL-2.0
/*
 * ctl_load: the load generator of veil-controller's benchmark (make
 * bench-controller, tests/bench/controller.sh). One process, one epoll loop,
 * non-blocking OpenSSL sessions with device identities made by `veil enroll`.
 * Many sessions may share one identity: the controller allows several
 * sessions per device.
 *
 *   ctl_load [OPTIONS] hold N SECONDS
 *	open N sessions (TLS 1.3 with the client certificate, Hello, HelloAck,
 *	PolicyUpdate), then hold them SECONDS with heartbeats; report the time
 *	to establish them and the controller's RSS per session (-p)
 *   ctl_load [OPTIONS] handshake SECONDS
 *	whole sessions as fast as the controller takes them: connect, TLS 1.3
 *	handshake, Hello, HelloAck and the PolicyUpdate after it, close
 *   ctl_load [OPTIONS] resolve N SECONDS NAME
 *	hold N client sessions and one server-node session (-s); keep -w
 *	ResolveRequests for NAME in flight, answer every ConnectRequest on the
 *	server session; report resolves answered OK per second and latency
 *
 * OPTIONS
 *   -a ADDR   the controller (default: DIR/controller of the first -i)
 *   -i DIR    a device identity (key.pem, cert.pem, ca.pem); repeat
 *   -s DIR    the server node's identity (resolve)
 *   -p PID    the controller's pid: its RSS and CPU time from /proc
 *   -c N      connections being set up at once (default 64)
 *   -w N      resolves in flight at once (default 100)
 *   -T SECS   deadline to set the sessions up (default 120)
 *   -o FILE   a timeline: "seconds value" every 0.25 s (hold: open
 *             sessions; handshake and resolve: completions per second)
 *   -R CMD    hold: run CMD (sh -c) halfway through the hold, without
 *             stopping the loop, and measure how long until every session
 *             received a PolicyUpdate of a newer version (a policy load)
 *
 * One JSON object goes to stdout, progress and errors to stderr. Every phase
 * has a deadline, so the program always ends; it exits 0 when the run
 * measured what it was asked to, 1 otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "frame.h"

#define MAX_IDENT		64
#define MAX_SESSIONS		60000
#define TICK_US			50000ULL
#define SAMPLE_US		250000ULL
#define SETUP_TIMEOUT_US	(15 * 1000000ULL)
#define RESOLVE_TIMEOUT_US	(5 * 1000000ULL)
#define DRAIN_US		(5 * 1000000ULL)
#define READS_PER_EVENT		32
#define MAX_LATENCIES		(4u << 20)

enum mode { M_HOLD, M_HANDSHAKE, M_RESOLVE };
enum cstate { C_CONNECT, C_TLS, C_HELLO, C_OPEN };

struct conn {
	int fd;
	SSL *ssl;
	enum cstate state;
	uint32_t events;		/* epoll events watched */
	bool dead;
	bool server;			/* the server node (resolve) */
	bool got_ack;
	bool busy;			/* a resolve in flight */
	size_t slot;			/* index in conns[] */
	uint64_t start_us;		/* connect() called */
	uint64_t hb_us;			/* heartbeat interval */
	uint64_t next_hb_us;
	uint64_t hb_seq;
	uint64_t hb_sent_us;		/* of heartbeat hb_seq */
	uint64_t policy_version;	/* of the last PolicyUpdate */
	uint64_t req_id, req_us;
	struct veil_frame_decoder dec;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	struct conn *next_dead;
};

struct ident {
	char dir[PATH_MAX];
	SSL_CTX *ctx;
};

static struct {
	enum mode mode;
	struct ident ids[MAX_IDENT];
	size_t n_ids, next_id;
	struct ident server_id;
	bool have_server;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char host[256];
	pid_t pid;
	unsigned int conc, window;
	uint64_t setup_deadline_us;
	const char *timeline;
	const char *name;

	int ep;
	struct conn **conns;
	size_t n_conns, cap_conns;
	struct conn *dead;

	/* ramp */
	size_t target;			/* sessions wanted open at once (hold, resolve) */
	bool opening;			/* start new connections */
	size_t inflight;		/* being set up */
	size_t open;			/* open (HelloAck and PolicyUpdate received) */
	uint64_t attempts, max_attempts;

	/* counters */
	uint64_t failed, lost, established, completed, hb_sent, hb_acked;
	uint64_t resolves_sent, resolve_ok, resolve_nx, resolve_fail, resolve_timeout;
	uint64_t connect_requests, next_req;
	bool holding;
	bool unavailable;
	char last_error[256];
	char resolve_reason[256];
	unsigned int errors_printed;
	struct conn *server_conn;

	uint32_t *lat;			/* microseconds */
	size_t n_lat, cap_lat;
	uint8_t pubkey[32];

	FILE *tl;
	uint64_t t0_us, next_sample_us, sample_count;

	/* -R: a command halfway through the hold, and the policy push it makes */
	const char *reload_cmd;
	pid_t reload_pid;
	int reload_status;
	uint64_t reload_start_us, reload_end_us, push_done_us;
	uint64_t base_version;		/* policy version before the command */
	uint64_t pushed;		/* sessions that got a newer one since */
} L;

extern char **environ;

static uint8_t rbuf[16384];
static volatile sig_atomic_t stop;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *ssl_reason(const char *fallback)
{
	static char buf[256];
	unsigned long e = ERR_peek_last_error();

	if (!e)
		return fallback;
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return strrchr(buf, ':') ? strrchr(buf, ':') + 1 : buf;
}

/* /proc readings of the controller. */

static long proc_rss_kib(void)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	if (!L.pid)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)L.pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6)) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

static double proc_cpu_s(void)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	size_t n;
	FILE *f;

	if (!L.pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)L.pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Open descriptors of the controller: its sessions plus a few. */
static long proc_fds(void)
{
	char path[64];
	struct dirent *d;
	long n = 0;
	DIR *dir;

	if (!L.pid)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)L.pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

static double self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Latencies. */

static void lat_add(uint64_t us)
{
	uint32_t *n;

	if (L.n_lat == L.cap_lat) {
		if (L.cap_lat >= MAX_LATENCIES)
			return;
		L.cap_lat = L.cap_lat ? 2 * L.cap_lat : 65536;
		n = realloc(L.lat, L.cap_lat * sizeof(*n));
		if (!n) {
			L.cap_lat = L.n_lat;
			return;
		}
		L.lat = n;
	}
	L.lat[L.n_lat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile @p (0..100) in milliseconds; the array must be sorted. */
static double pct_ms(double p)
{
	size_t i;

	if (!L.n_lat)
		return 0;
	i = (size_t)(p / 100.0 * (double)(L.n_lat - 1) + 0.5);
	return L.lat[i] / 1000.0;
}

/* Connections. */

static void set_events(struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (c->dead || ev == c->events)
		return;
	if (epoll_ctl(L.ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static void conn_kill(struct conn *c, bool graceful)
{
	size_t last;

	if (c->dead)
		return;
	c->dead = true;
	if (c->state == C_OPEN) {
		L.open--;
		if (c->busy)
			c->busy = false;
	} else {
		L.inflight--;
	}
	if (c == L.server_conn)
		L.server_conn = NULL;
	epoll_ctl(L.ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->ssl && graceful && c->state == C_OPEN)
		SSL_shutdown(c->ssl);	/* one non-blocking try: close_notify */
	last = --L.n_conns;
	if (c->slot != last) {
		L.conns[c->slot] = L.conns[last];
		L.conns[c->slot]->slot = c->slot;
	}
	c->next_dead = L.dead;
	L.dead = c;
}

static void conn_free(struct conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	veil_frame_decoder_free(&c->dec);
	free(c->out);
	free(c);
}

static void reap(void)
{
	struct conn *c;

	while ((c = L.dead)) {
		L.dead = c->next_dead;
		conn_free(c);
	}
}

static void conn_fail(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	snprintf(L.last_error, sizeof(L.last_error), "%s", why);
	if (L.errors_printed < 5) {
		L.errors_printed++;
		fprintf(stderr, "ctl_load: session %s: %s\n",
			c->state == C_OPEN ? "lost" : "not set up", why);
	}
	if (c->state == C_OPEN)
		L.lost++;
	else
		L.failed++;
	conn_kill(c, false);
}

static void flush(struct conn *c)
{
	int r, e;

	while (c->out_off < c->out_len) {
		ERR_clear_error();
		r = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
		if (r > 0) {
			c->out_off += (size_t)r;
			continue;
		}
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_WRITE) {
			set_events(c, EPOLLIN | EPOLLOUT);
			return;
		}
		if (e == SSL_ERROR_WANT_READ)
			return;
		conn_fail(c, e == SSL_ERROR_SYSCALL ? "connection lost while sending"
						    : ssl_reason("TLS write failed"));
		return;
	}
	c->out_off = c->out_len = 0;
	set_events(c, EPOLLIN);
}

static void send_msg(struct conn *c, Veil__Message *m)
{
	uint8_t *buf, *n;
	size_t len;

	if (c->dead)
		return;
	m->version = VEIL_PROTOCOL_VERSION;
	if (veil_msg_pack(m, VEIL_FRAME_MAX, &buf, &len)) {
		conn_fail(c, "cannot pack a message");
		return;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_len + len + 256;

		n = realloc(c->out, cap);
		if (!n) {
			free(buf);
			conn_fail(c, "out of memory");
			return;
		}
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	free(buf);
	flush(c);
}

static void send_hello(struct conn *c)
{
	Veil__Message m = VEIL__MESSAGE__INIT;
	Veil__Hello h = VEIL__HELLO__INIT;
	static char *facts[] = { "bench" };

	m.body_case = VEIL__MESSAGE__BODY_HELLO;
	m.hello = &h;
	h.os = "linux";
	h.kernel = "6.1.0";
	h.veil_version = VEIL_VERSION;
	h.facts = facts;
	h.n_facts = 1;
	send_msg(c, &m);
}

static void send_heartbeat(struct conn *c)
{
	Veil__Message m = VEIL__MESSAGE__INIT;
	Veil__Heartbeat hb = VEIL__HEARTBEAT__INIT;

	m.body_case = VEIL__MESSAGE__BODY_HEARTBEAT;
	m.heartbeat = &hb;
	hb.seq = ++c->hb_seq;
	c->hb_sent_us = now_us();
	L.hb_sent++;
	send_msg(c, &m);
}

static void send_resolve(struct conn *c)
{
	Veil__Message m = VEIL__MESSAGE__INIT;
	Veil__ResolveRequest req = VEIL__RESOLVE_REQUEST__INIT;
	Veil__NatProfile nat = VEIL__NAT_PROFILE__INIT;
	Veil__Candidate cand = VEIL__CANDIDATE__INIT, *cands[] = { &cand };

	/* What a client node sends: its NAT profile, a candidate, its key. */
	m.body_case = VEIL__MESSAGE__BODY_RESOLVE_REQUEST;
	m.resolve_request = &req;
	req.request_id = c->req_id = ++L.next_req;
	req.name = (char *)L.name;
	req.qtype = 1;
	nat.kind = VEIL__NAT_PROFILE__KIND__NAT_NONE;
	req.nat = &nat;
	cand.kind = VEIL__CANDIDATE__KIND__CANDIDATE_HOST;
	cand.endpoint = "127.0.0.1:51821";
	cand.priority = 100;
	req.candidates = cands;
	req.n_candidates = 1;
	req.public_key.data = L.pubkey;
	req.public_key.len = sizeof(L.pubkey);
	c->req_us = now_us();
	c->busy = true;
	L.resolves_sent++;
	send_msg(c, &m);
}

/* The server node accepts every tunnel it is asked for. */
static void answer_connect(struct conn *c, const Veil__ConnectRequest *req)
{
	Veil__Message m = VEIL__MESSAGE__INIT;
	Veil__ConnectReply rep = VEIL__CONNECT_REPLY__INIT;
	Veil__Candidate cand = VEIL__CANDIDATE__INIT, *cands[] = { &cand };

	L.connect_requests++;
	m.body_case = VEIL__MESSAGE__BODY_CONNECT_REPLY;
	m.connect_reply = &rep;
	rep.request_id = req->request_id;
	rep.accepted = true;
	rep.secure_ip = "127.0.0.2";
	cand.kind = VEIL__CANDIDATE__KIND__CANDIDATE_HOST;
	cand.endpoint = "127.0.0.1:51820";
	cand.priority = 100;
	rep.candidates = cands;
	rep.n_candidates = 1;
	rep.public_key.data = L.pubkey;
	rep.public_key.len = sizeof(L.pubkey);
	send_msg(c, &m);
}

static void on_open(struct conn *c)
{
	uint64_t now = now_us();

	c->state = C_OPEN;
	L.inflight--;
	L.open++;
	L.established++;
	if (L.mode == M_HANDSHAKE) {
		lat_add(now - c->start_us);
		L.completed++;
		conn_kill(c, true);
		return;
	}
	if (c->server)
		L.server_conn = c;
	/* Spread the heartbeats over the interval. */
	c->next_hb_us = now + (c->hb_us ? (uint64_t)rand() % c->hb_us : 0);
}

static void on_resolve_reply(struct conn *c, const Veil__ResolveReply *rep)
{
	uint64_t now = now_us();

	if (!c->busy || rep->request_id != c->req_id)
		return;
	c->busy = false;
	switch (rep->status) {
	case VEIL__RESOLVE_REPLY__STATUS__OK:
		L.resolve_ok++;
		L.completed++;
		lat_add(now - c->req_us);
		break;
	case VEIL__RESOLVE_REPLY__STATUS__NXDOMAIN:
		L.resolve_nx++;
		break;
	default:
		L.resolve_fail++;
		if (rep->reason && strstr(rep->reason, "not available"))
			L.unavailable = true;
		break;
	}
	if (rep->status != VEIL__RESOLVE_REPLY__STATUS__OK && rep->reason)
		snprintf(L.resolve_reason, sizeof(L.resolve_reason), "%s", rep->reason);
}

static void on_msg(struct conn *c, const Veil__Message *m)
{
	char why[300];

	switch (m->body_case) {
	case VEIL__MESSAGE__BODY_HELLO_ACK:
		c->got_ack = true;
		c->hb_us = (uint64_t)m->hello_ack->heartbeat_s * 1000000;
		break;
	case VEIL__MESSAGE__BODY_POLICY_UPDATE:
		if (L.reload_start_us && m->policy_update->version > L.base_version &&
		    c->policy_version <= L.base_version && c->state == C_OPEN &&
		    ++L.pushed == L.open)
			L.push_done_us = now_us();
		c->policy_version = m->policy_update->version;
		if (c->state == C_HELLO && c->got_ack)
			on_open(c);
		break;
	case VEIL__MESSAGE__BODY_HEARTBEAT_ACK:
		L.hb_acked++;
		/* Round trips while the sessions are held. */
		if (L.mode == M_HOLD && L.holding && m->heartbeat_ack->seq == c->hb_seq)
			lat_add(now_us() - c->hb_sent_us);
		break;
	case VEIL__MESSAGE__BODY_RESOLVE_REPLY:
		on_resolve_reply(c, m->resolve_reply);
		break;
	case VEIL__MESSAGE__BODY_CONNECT_REQUEST:
		if (c->server)
			answer_connect(c, m->connect_request);
		break;
	case VEIL__MESSAGE__BODY_ERROR:
		snprintf(why, sizeof(why), "controller error %d: %s", m->error->code,
			 m->error->text ? m->error->text : "");
		conn_fail(c, why);
		break;
	default:
		break;
	}
}

static void conn_read(struct conn *c)
{
	const uint8_t *frame;
	size_t used, flen, off;
	Veil__Message *m;
	const char *why;
	int i, r, e;

	for (i = 0; i < READS_PER_EVENT || SSL_has_pending(c->ssl); i++) {
		if (c->dead)
			return;
		ERR_clear_error();
		r = SSL_read(c->ssl, rbuf, sizeof(rbuf));
		if (r <= 0) {
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				return;
			if (e == SSL_ERROR_WANT_WRITE) {
				set_events(c, EPOLLIN | EPOLLOUT);
				return;
			}
			conn_fail(c, e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL
				  ? "closed by the controller" : ssl_reason("TLS read failed"));
			return;
		}
		for (off = 0; off < (size_t)r && !c->dead; off += used) {
			e = veil_frame_feed(&c->dec, rbuf + off, (size_t)r - off, &used, &frame,
					    &flen);
			if (e < 0) {
				conn_fail(c, "bad frame from the controller");
				return;
			}
			if (e == 0)
				continue;
			if (veil_msg_unpack(frame, flen, &m, &why)) {
				conn_fail(c, why);
				return;
			}
			on_msg(c, m);
			veil_msg_free(m);
		}
	}
}

static void do_handshake(struct conn *c)
{
	int r, e;

	ERR_clear_error();
	r = SSL_connect(c->ssl);
	if (r == 1) {
		c->state = C_HELLO;
		set_events(c, EPOLLIN);
		send_hello(c);
		/* The HelloAck may already be in the TLS buffer. */
		if (!c->dead)
			conn_read(c);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		set_events(c, EPOLLIN);
		return;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		set_events(c, EPOLLOUT);
		return;
	}
	if (SSL_get_verify_result(c->ssl) != X509_V_OK)
		conn_fail(c, X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
	else
		conn_fail(c, e == SSL_ERROR_SYSCALL ? "connection closed during the handshake"
						    : ssl_reason("TLS handshake failed"));
}

static void start_tls(struct conn *c)
{
	struct ident *id = c->server ? &L.server_id : &L.ids[L.next_id++ % L.n_ids];

	c->ssl = SSL_new(id->ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
		conn_fail(c, "cannot set up TLS");
		return;
	}
	X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), L.host);
	SSL_set_connect_state(c->ssl);
	c->state = C_TLS;
	do_handshake(c);
}

static void conn_new(bool server)
{
	struct epoll_event e;
	struct conn *c, **n;
	int one = 1, r;

	if (L.n_conns == L.cap_conns) {
		size_t cap = L.cap_conns ? 2 * L.cap_conns : 1024;

		n = realloc(L.conns, cap * sizeof(*n));
		if (!n)
			return;
		L.conns = n;
		L.cap_conns = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	L.attempts++;
	c->server = server;
	c->start_us = now_us();
	veil_frame_decoder_init(&c->dec, VEIL_FRAME_MAX);
	c->fd = socket(L.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(L.last_error, sizeof(L.last_error), "socket: %s", strerror(errno));
		L.failed++;
		conn_free(c);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->slot = L.n_conns;
	L.conns[L.n_conns++] = c;
	L.inflight++;
	c->state = C_CONNECT;
	c->events = EPOLLOUT;
	e.events = EPOLLOUT;
	e.data.ptr = c;
	if (epoll_ctl(L.ep, EPOLL_CTL_ADD, c->fd, &e) < 0) {
		conn_fail(c, "cannot watch the socket");
		return;
	}
	r = connect(c->fd, (struct sockaddr *)&L.addr, L.addr_len);
	if (r == 0)
		start_tls(c);
	else if (errno != EINPROGRESS)
		conn_fail(c, strerror(errno));
}

static void on_event(struct conn *c, uint32_t ev)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (c->dead)
		return;
	switch (c->state) {
	case C_CONNECT:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			conn_fail(c, strerror(err));
			return;
		}
		start_tls(c);
		return;
	case C_TLS:
		do_handshake(c);
		return;
	case C_HELLO:
	case C_OPEN:
		if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
			conn_read(c);
		if (!c->dead && c->out_len)
			flush(c);
		return;
	}
}

/* Start connections while fewer than -c are being set up. */
static void fill(void)
{
	while (L.opening && !stop && L.inflight < L.conc && L.attempts < L.max_attempts &&
	       (L.mode == M_HANDSHAKE || L.open + L.inflight < L.target))
		conn_new(false);
}

/* Keep -w resolves in flight, round robin over the client sessions. */
static void dispatch_resolves(void)
{
	static size_t rr;
	uint64_t busy = L.resolves_sent - L.resolve_ok - L.resolve_nx - L.resolve_fail -
			L.resolve_timeout;
	size_t tries;
	struct conn *c;

	for (tries = 0; busy < L.window && tries < L.n_conns && !L.unavailable; tries++) {
		c = L.conns[rr++ % L.n_conns];
		if (c->state != C_OPEN || c->server || c->busy || c->dead)
			continue;
		send_resolve(c);
		busy++;
	}
}

static void sample(uint64_t now, double value)
{
	if (L.tl)
		fprintf(L.tl, "%.2f %.1f\n", (double)(now - L.t0_us) / 1e6, value);
}

/* Timers: deadlines, heartbeats, resolve timeouts, the timeline. */
static void tick(uint64_t now)
{
	struct conn *c;
	size_t i;

	for (i = 0; i < L.n_conns; i++) {
		c = L.conns[i];
		if (c->state != C_OPEN) {
			if (now - c->start_us > SETUP_TIMEOUT_US) {
				conn_fail(c, "not set up within 15 s");
				i--;	/* the last one moved here */
			}
			continue;
		}
		if (c->busy && now - c->req_us > RESOLVE_TIMEOUT_US) {
			c->busy = false;
			L.resolve_timeout++;
		}
		if (c->hb_us && now >= c->next_hb_us) {
			c->next_hb_us = now + c->hb_us;
			send_heartbeat(c);
			if (c->dead)
				i--;
		}
	}
	if (L.reload_pid > 0 && waitpid(L.reload_pid, &L.reload_status, WNOHANG) == L.reload_pid) {
		L.reload_pid = 0;
		L.reload_end_us = now;
	}
	if (L.t0_us && now >= L.next_sample_us) {
		double dt = (double)SAMPLE_US / 1e6;

		if (L.mode == M_HOLD)
			sample(now, (double)L.open);
		else
			sample(now, (double)(L.completed - L.sample_count) / dt);
		L.sample_count = L.completed;
		L.next_sample_us += SAMPLE_US;
	}
}

/* Run the loop until @done() or the deadline (absolute, microseconds). */
static void run(bool (*done)(void), uint64_t deadline)
{
	struct epoll_event evs[256];
	uint64_t now = now_us(), next_tick = now;
	int i, n, timeout;

	while (!stop && (!done || !done()) && now < deadline) {
		fill();
		if (L.mode == M_RESOLVE && L.holding)
			dispatch_resolves();
		timeout = (int)((next_tick > now ? next_tick - now : 0) / 1000);
		n = epoll_wait(L.ep, evs, 256, timeout);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "ctl_load: epoll_wait: %s\n", strerror(errno));
			stop = 1;
			break;
		}
		for (i = 0; i < n; i++)
			on_event(evs[i].data.ptr, evs[i].events);
		reap();
		now = now_us();
		if (now >= next_tick) {
			tick(now);
			reap();
			next_tick = now + TICK_US;
		}
	}
}

static bool all_up(void)
{
	return L.open >= L.target || (L.inflight == 0 && L.attempts >= L.max_attempts);
}

static bool none_inflight(void)
{
	return L.inflight == 0;
}

static bool server_up(void)
{
	return L.server_conn || (L.inflight == 0 && L.n_conns == 0);
}

static void close_all(void)
{
	L.opening = false;
	while (L.n_conns)
		conn_kill(L.conns[L.n_conns - 1], true);
	reap();
}

/* Set up: identities, address, limits. */

static SSL_CTX *ident_ctx(const char *dir)
{
	char path[PATH_MAX + 16];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
		goto fail;
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1)
		goto fail;
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	if (SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	if (SSL_CTX_load_verify_locations(ctx, path, NULL) != 1)
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
fail:
	fprintf(stderr, "ctl_load: cannot load the identity in %s (cert.pem, key.pem, ca.pem): "
		"%s\n", dir, ssl_reason("unreadable"));
	SSL_CTX_free(ctx);
	return NULL;
}

static int set_addr(const char *addr)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res;
	const char *colon, *h = addr;
	size_t hl;

	if (addr[0] == '[') {
		colon = strchr(addr, ']');
		if (!colon || colon[1] != ':')
			return -EINVAL;
		h = addr + 1;
		hl = (size_t)(colon - h);
		colon++;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - addr);
	}
	if (!hl || hl >= sizeof(L.host))
		return -EINVAL;
	memcpy(L.host, h, hl);
	L.host[hl] = 0;
	if (getaddrinfo(L.host, colon + 1, &hints, &res))
		return -EINVAL;
	memcpy(&L.addr, res->ai_addr, res->ai_addrlen);
	L.addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int read_addr(const char *dir, char *buf, size_t size)
{
	char path[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/controller", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f)) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

static void raise_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;	/* root may raise the hard limit too */
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		fprintf(stderr, "ctl_load: open file limit %llu, fewer than the %zu wanted\n",
			(unsigned long long)rl.rlim_max, want);
	}
}

static void usage(void)
{
	fprintf(stderr,
		"Usage: ctl_load [ -a ADDR ] -i DIR [ -i DIR ... ] [ -s DIR ] [ -p PID ]\n"
		"                [ -c CONNECTING ] [ -w RESOLVES ] [ -T SECS ] [ -o TIMELINE ]\n"
		"                [ -R COMMAND ] MODE\n"
		"where  MODE := { hold N SECONDS | handshake SECONDS | resolve N SECONDS NAME }\n");
}

/* Modes. */

/* The newest policy version any open session holds. */
static uint64_t newest_version(void)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < L.n_conns; i++)
		if (L.conns[i]->policy_version > v)
			v = L.conns[i]->policy_version;
	return v;
}

static void start_reload(void)
{
	char *argv[] = { "sh", "-c", (char *)L.reload_cmd, NULL };
	pid_t pid;

	L.base_version = newest_version();
	L.pushed = 0;
	L.reload_start_us = now_us();
	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ)) {
		fprintf(stderr, "ctl_load: cannot run %s: %s\n", L.reload_cmd, strerror(errno));
		L.reload_end_us = L.reload_start_us;
		L.reload_status = 127 << 8;
		return;
	}
	L.reload_pid = pid;
}

static bool reload_done(void)
{
	return !L.reload_pid && (L.push_done_us || !L.open);
}

static int mode_hold(size_t n, double secs)
{
	long rss0, rss_up, rss_held, fds0 = -1, fds;
	double cpu0, cpu1, cpu2, self0, self_cpu, t_up, held, released = -1;
	uint64_t t_start, t_up_us, t_end, lost0;
	size_t open_up, open_held;
	int r;

	/* Warm the controller up (first sessions allocate its lazy tables). */
	L.target = 16;
	L.max_attempts = 32;
	L.opening = true;
	run(all_up, now_us() + 20000000);
	close_all();
	run(NULL, now_us() + 1000000);
	rss0 = proc_rss_kib();
	fds0 = proc_fds();

	L.failed = L.lost = L.established = 0;
	L.attempts = 0;
	L.target = n;
	L.max_attempts = n + n / 20 + 16;
	L.opening = true;
	cpu0 = proc_cpu_s();
	self0 = self_cpu_s();
	t_start = L.t0_us = now_us();
	L.next_sample_us = t_start;
	run(all_up, t_start + L.setup_deadline_us);
	t_up_us = now_us();
	open_up = L.open;
	t_up = (double)(t_up_us - t_start) / 1e6;
	rss_up = proc_rss_kib();
	cpu1 = proc_cpu_s();
	fprintf(stderr, "ctl_load: %zu of %zu sessions open in %.2f s (%" PRIu64 " failed)\n",
		L.open, n, t_up, L.failed);

	L.opening = false;
	L.holding = true;
	lost0 = L.lost;
	L.hb_sent = L.hb_acked = 0;
	if (L.reload_cmd) {
		run(NULL, t_up_us + (uint64_t)(secs * 1e6 / 2));
		start_reload();
	}
	run(NULL, t_up_us + (uint64_t)(secs * 1e6));
	if (L.reload_cmd)	/* give the push up to 30 s more to finish */
		run(reload_done, now_us() + 30000000);
	t_end = now_us();
	held = (double)(t_end - t_up_us) / 1e6;
	rss_held = proc_rss_kib();
	cpu2 = proc_cpu_s();
	self_cpu = self_cpu_s() - self0;
	open_held = L.open;
	r = L.open == n && L.lost == lost0 ? 0 : 1;

	/*
	 * Close every session at once and time how long the controller takes
	 * to release them (its descriptor count back to where it was): how it
	 * copes with a burst of events.
	 */
	close_all();
	if (L.pid && fds0 >= 0) {
		t_start = now_us();
		for (fds = proc_fds(); !stop && fds > fds0 + 2 && now_us() - t_start < 60000000;
		     fds = proc_fds())
			usleep(20000);
		released = (double)(now_us() - t_start) / 1e6;
		if (fds > fds0 + 2)
			released = -1;	/* not within 60 s */
	}

	printf("{\"mode\":\"hold\",\"sessions\":%zu,\"open\":%zu,\"failed\":%" PRIu64
	       ",\"established_s\":%.3f,\"sessions_per_s\":%.1f,\"held_s\":%.2f,"
	       "\"lost_while_held\":%" PRIu64 ",\"heartbeats_sent\":%" PRIu64
	       ",\"heartbeats_acked\":%" PRIu64, n, open_held, L.failed, t_up,
	       t_up > 0 ? (double)open_up / t_up : 0, held, L.lost - lost0,
	       L.hb_sent, L.hb_acked);
	if (L.pid)
		printf(",\"rss0_kib\":%ld,\"rss_open_kib\":%ld,\"rss_held_kib\":%ld,"
		       "\"rss_per_session_kib\":%.2f,\"controller_cpu_setup_s\":%.2f,"
		       "\"controller_cpu_held_pct\":%.1f,\"released_s\":%.3f", rss0, rss_up,
		       rss_held, open_up ? (double)(rss_held - rss0) / (double)open_up : 0,
		       cpu1 - cpu0, held > 0 ? 100 * (cpu2 - cpu1) / held : 0, released);
	qsort(L.lat, L.n_lat, sizeof(*L.lat), cmp_u32);
	printf(",\"heartbeat_rtt_p50_ms\":%.2f,\"heartbeat_rtt_p99_ms\":%.2f,"
	       "\"heartbeat_rtt_max_ms\":%.2f", pct_ms(50), pct_ms(99), pct_ms(100));
	if (L.reload_cmd)
		printf(",\"reload\":{\"exit\":%d,\"command_s\":%.3f,\"sessions_updated\":%"
		       PRIu64 ",\"all_updated_s\":%.3f}", WIFEXITED(L.reload_status) ?
		       WEXITSTATUS(L.reload_status) : -1, L.reload_end_us ?
		       (double)(L.reload_end_us - L.reload_start_us) / 1e6 : -1, L.pushed,
		       L.push_done_us ? (double)(L.push_done_us - L.reload_start_us) / 1e6 : -1);
	printf(",\"load_cpu_s\":%.2f,\"last_error\":\"%s\"}\n", self_cpu,
	       L.failed || L.lost ? L.last_error : "");
	return r;
}

static int mode_handshake(double secs)
{
	double cpu0, self0, elapsed, ctl_cpu, self_cpu;
	uint64_t t_start, t_end;

	L.max_attempts = UINT64_MAX;
	L.opening = true;
	cpu0 = proc_cpu_s();
	self0 = self_cpu_s();
	t_start = L.t0_us = now_us();
	L.next_sample_us = t_start + SAMPLE_US;
	run(NULL, t_start + (uint64_t)(secs * 1e6));
	t_end = now_us();
	elapsed = (double)(t_end - t_start) / 1e6;
	ctl_cpu = proc_cpu_s() - cpu0;
	self_cpu = self_cpu_s() - self0;
	L.opening = false;
	L.t0_us = 0;
	run(none_inflight, now_us() + DRAIN_US);
	qsort(L.lat, L.n_lat, sizeof(*L.lat), cmp_u32);
	printf("{\"mode\":\"handshake\",\"seconds\":%.2f,\"concurrency\":%u,\"completed\":%"
	       PRIu64 ",\"failed\":%" PRIu64 ",\"per_s\":%.1f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
	       "\"load_cpu_pct\":%.1f", elapsed, L.conc, L.completed, L.failed,
	       (double)L.completed / elapsed, pct_ms(50), pct_ms(99), 100 * self_cpu / elapsed);
	if (L.pid)
		printf(",\"controller_cpu_pct\":%.1f", 100 * ctl_cpu / elapsed);
	printf(",\"last_error\":\"%s\"}\n", L.failed ? L.last_error : "");
	close_all();
	return L.completed > 0 ? 0 : 1;
}

static int mode_resolve(size_t n, double secs)
{
	double cpu0 = 0, self0 = 0, elapsed = 0;
	uint64_t t_start, t_end;

	if (!L.have_server) {
		fprintf(stderr, "ctl_load: resolve needs the server node's identity (-s DIR)\n");
		return 2;
	}
	/* The server node first, then the clients. */
	L.max_attempts = 1;
	conn_new(true);
	run(server_up, now_us() + 20000000);
	if (!L.server_conn) {
		printf("{\"mode\":\"resolve\",\"sessions\":%zu,\"available\":false,"
		       "\"reason\":\"the server node's session did not open: %s\"}\n", n,
		       L.last_error);
		close_all();
		return 1;
	}
	L.target = n + 1;
	L.max_attempts = n + n / 20 + 16;
	L.opening = true;
	run(all_up, now_us() + L.setup_deadline_us);
	L.opening = false;
	fprintf(stderr, "ctl_load: %zu client sessions open, resolving %s\n", L.open - 1, L.name);

	L.holding = true;
	cpu0 = proc_cpu_s();
	self0 = self_cpu_s();
	t_start = L.t0_us = now_us();
	L.next_sample_us = t_start + SAMPLE_US;
	run(NULL, t_start + (uint64_t)(secs * 1e6));
	t_end = now_us();
	elapsed = (double)(t_end - t_start) / 1e6;
	qsort(L.lat, L.n_lat, sizeof(*L.lat), cmp_u32);
	if (L.unavailable && !L.resolve_ok) {
		printf("{\"mode\":\"resolve\",\"sessions\":%zu,\"available\":false,"
		       "\"reason\":\"%s\"}\n", L.open - 1, L.resolve_reason);
		close_all();
		return 0;
	}
	printf("{\"mode\":\"resolve\",\"sessions\":%zu,\"available\":true,\"seconds\":%.2f,"
	       "\"window\":%u,\"ok\":%" PRIu64 ",\"nxdomain\":%" PRIu64 ",\"servfail\":%" PRIu64
	       ",\"timeouts\":%" PRIu64 ",\"connect_requests\":%" PRIu64 ",\"per_s\":%.1f,"
	       "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"lost\":%" PRIu64
	       ",\"load_cpu_pct\":%.1f", L.open ? L.open - 1 : 0, elapsed, L.window,
	       L.resolve_ok, L.resolve_nx, L.resolve_fail, L.resolve_timeout, L.connect_requests,
	       (double)L.resolve_ok / elapsed, pct_ms(50), pct_ms(90), pct_ms(99), L.lost,
	       100 * (self_cpu_s() - self0) / elapsed);
	if (L.pid)
		printf(",\"controller_cpu_pct\":%.1f", 100 * (proc_cpu_s() - cpu0) / elapsed);
	printf(",\"reason\":\"%s\"}\n", L.resolve_ok ? "" : L.resolve_reason);
	close_all();
	return L.resolve_ok ? 0 : 1;
}

static long num_arg(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max) {
		fprintf(stderr, "ctl_load: %s \"%s\": give a number from %ld to %ld\n", what, s,
			min, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	const char *addr = NULL;
	char stored[300];
	size_t n = 0;
	double secs;
	int o, r;

	L.conc = 64;
	L.window = 100;
	L.setup_deadline_us = 120 * 1000000ULL;
	while ((o = getopt(argc, argv, "a:i:s:p:c:w:T:o:R:h")) != -1) {
		switch (o) {
		case 'a':
			addr = optarg;
			break;
		case 'i':
			if (L.n_ids == MAX_IDENT) {
				fprintf(stderr, "ctl_load: at most %d identities\n", MAX_IDENT);
				return 2;
			}
			snprintf(L.ids[L.n_ids++].dir, PATH_MAX, "%s", optarg);
			break;
		case 's':
			snprintf(L.server_id.dir, PATH_MAX, "%s", optarg);
			L.have_server = true;
			break;
		case 'p':
			L.pid = (pid_t)num_arg(optarg, 1, INT_MAX, "-p");
			break;
		case 'c':
			L.conc = (unsigned int)num_arg(optarg, 1, 4096, "-c");
			break;
		case 'w':
			L.window = (unsigned int)num_arg(optarg, 1, 100000, "-w");
			break;
		case 'T':
			L.setup_deadline_us = (uint64_t)num_arg(optarg, 1, 3600, "-T") * 1000000;
			break;
		case 'o':
			L.timeline = optarg;
			break;
		case 'R':
			L.reload_cmd = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || !L.n_ids) {
		usage();
		return 2;
	}
	if (!strcmp(argv[0], "hold") && argc == 3) {
		L.mode = M_HOLD;
		n = (size_t)num_arg(argv[1], 1, MAX_SESSIONS, "N");
		secs = (double)num_arg(argv[2], 0, 3600, "SECONDS");
	} else if (!strcmp(argv[0], "handshake") && argc == 2) {
		L.mode = M_HANDSHAKE;
		secs = (double)num_arg(argv[1], 1, 3600, "SECONDS");
	} else if (!strcmp(argv[0], "resolve") && argc == 4) {
		L.mode = M_RESOLVE;
		n = (size_t)num_arg(argv[1], 1, MAX_SESSIONS, "N");
		secs = (double)num_arg(argv[2], 1, 3600, "SECONDS");
		L.name = argv[3];
	} else {
		usage();
		return 2;
	}
	if (!addr) {
		if (read_addr(L.ids[0].dir, stored, sizeof(stored))) {
			fprintf(stderr, "ctl_load: no -a and no address in %s/controller\n",
				L.ids[0].dir);
			return 2;
		}
		addr = stored;
	}
	if (set_addr(addr)) {
		fprintf(stderr, "ctl_load: \"%s\" is not a numeric HOST:PORT or [V6]:PORT\n", addr);
		return 2;
	}
	for (size_t i = 0; i < L.n_ids; i++)
		if (!(L.ids[i].ctx = ident_ctx(L.ids[i].dir)))
			return 1;
	if (L.have_server && !(L.server_id.ctx = ident_ctx(L.server_id.dir)))
		return 1;
	raise_nofile(n + L.conc + 64);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	srand((unsigned int)getpid());
	RAND_bytes(L.pubkey, sizeof(L.pubkey));
	L.ep = epoll_create1(EPOLL_CLOEXEC);
	if (L.ep < 0) {
		fprintf(stderr, "ctl_load: epoll_create1: %s\n", strerror(errno));
		return 1;
	}
	if (L.timeline && !(L.tl = fopen(L.timeline, "we"))) {
		fprintf(stderr, "ctl_load: cannot write %s: %s\n", L.timeline, strerror(errno));
		return 1;
	}
	switch (L.mode) {
	case M_HOLD:
		r = mode_hold(n, secs);
		break;
	case M_HANDSHAKE:
		r = mode_handshake(secs);
		break;
	default:
		r = mode_resolve(n, secs);
		break;
	}
	fflush(stdout);
	if (L.tl)
		fclose(L.tl);
	for (size_t i = 0; i < L.n_ids; i++)
		SSL_CTX_free(L.ids[i].ctx);
	SSL_CTX_free(L.server_id.ctx);
	free(L.lat);
	free(L.conns);
	close(L.ep);
	return stop ? 1 : r;
}
