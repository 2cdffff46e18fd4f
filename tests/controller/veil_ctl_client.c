// SPDX-License-Identifier: GPL-2.0
/*
 * veil-ctl-client: a control-protocol client for tests and benchmarks.
 *
 *   hello DIR                open a session with the identity in DIR, send
 *                            Hello, print the HelloAck and first PolicyUpdate
 *   hold DIR SECONDS         open a session and heartbeat every second;
 *                            exit 0 if it lasted SECONDS, 1 (with the
 *                            controller's reason) if it ended before
 *   ping DIR [N]             open a session, N heartbeats, each answered
 *   raw DIR HEX|--garbage|--oversize|--truncated|--empty|--version
 *                            send bytes over a TLS session with DIR's
 *                            identity; print the controller's answer
 *   nocert ADDR HELLO        TLS without a client certificate, then a Hello:
 *                            print the controller's answer
 *   no-handshake ADDR SECS   open TCP, send a partial ClientHello, print
 *                            "closed after N s" when the controller cuts it
 *   flood DIR MB             send MB MiB of heartbeats without reading any
 *                            answer; print "cut" when the controller closes
 *                            the session, "not cut" otherwise
 *   admin DIR [-j] ARGS...   run an admin command over an admin session
 *   resolve DIR NAME [--count N] [--burst]
 *                            N ResolveRequests (1 by default) one after the
 *                            other on one session, each with a test
 *                            candidate, NAT profile and key; print each
 *                            reply (status, addresses, tunnel) and its time
 *                            in ms, then the median. --burst sends all N
 *                            before reading any reply
 *   serve-connect DIR [--accept|--refuse REASON|--ignore] [--ip ADDR] [--for S]
 *                            act as a server node for S seconds (60): print
 *                            "ready" once the policy arrived, then every
 *                            ConnectRequest (client, app, certificate
 *                            fingerprint, ports, candidates) and DropDevice;
 *                            accept (secure address ADDR, 100.64.0.1 by
 *                            default), refuse, or leave them unanswered
 *   connect-reply DIR ID     send a ConnectReply for request ID that this
 *                            session was not asked, then a heartbeat
 *   report DIR PEER APP RX TX [--down]
 *                            send a TunnelReport (up unless --down), then a
 *                            heartbeat, and wait for its answer
 *
 * Output lines are "key: value" for the tests to grep; exit 0 on success.
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "client.h"

#define TIMEOUT_MS	5000

static void msg_init(Veil__Message *m)
{
	veil__message__init(m);
	m->version = VEIL_PROTOCOL_VERSION;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_msg(const Veil__Message *m)
{
	switch (m->body_case) {
	case VEIL__MESSAGE__BODY_HELLO_ACK:
		printf("hello_ack: session %s device %s heartbeat %u\n", m->hello_ack->session_id,
		       m->hello_ack->device, m->hello_ack->heartbeat_s);
		break;
	case VEIL__MESSAGE__BODY_POLICY_UPDATE:
		printf("policy_update: version %llu\nnode_view: %s\n",
		       (unsigned long long)m->policy_update->version, m->policy_update->node_view);
		break;
	case VEIL__MESSAGE__BODY_HEARTBEAT_ACK:
		printf("heartbeat_ack: %llu\n", (unsigned long long)m->heartbeat_ack->seq);
		break;
	case VEIL__MESSAGE__BODY_ERROR:
		printf("error: %d %s\n", m->error->code, m->error->text);
		break;
	case VEIL__MESSAGE__BODY_DROP_DEVICE:
		printf("drop_device: %s %s\n", m->drop_device->device, m->drop_device->serial);
		break;
	case VEIL__MESSAGE__BODY_RESOLVE_REPLY:
		printf("resolve_reply: %llu status %d reason %s\n",
		       (unsigned long long)m->resolve_reply->request_id, m->resolve_reply->status,
		       m->resolve_reply->reason);
		break;
	case VEIL__MESSAGE__BODY_CONNECT_REQUEST:
		printf("connect_request: %llu client %s app %s\n",
		       (unsigned long long)m->connect_request->request_id,
		       m->connect_request->client_device, m->connect_request->app);
		break;
	default:
		printf("message: %s\n", veil_msg_name(m));
		break;
	}
	fflush(stdout);
}

static int send_hello(struct veil_session *s)
{
	Veil__Message m;
	Veil__Hello h;

	msg_init(&m);
	veil_hello_init(&h);
	m.body_case = VEIL__MESSAGE__BODY_HELLO;
	m.hello = &h;
	return veil_session_send(s, &m, TIMEOUT_MS, stderr);
}

static int send_heartbeat(struct veil_session *s, uint64_t seq)
{
	Veil__Message m;
	Veil__Heartbeat hb = VEIL__HEARTBEAT__INIT;

	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_HEARTBEAT;
	m.heartbeat = &hb;
	hb.seq = seq;
	return veil_session_send(s, &m, TIMEOUT_MS, stderr);
}

/* Print messages until one of body @want arrived; 0 when it did. */
static int wait_for(struct veil_session *s, int want, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	Veil__Message *m;
	int r, left;

	for (;;) {
		left = (int)(end - now_ms());
		if (left <= 0) {
			printf("timeout\n");
			return -ETIMEDOUT;
		}
		r = veil_session_recv(s, left, &m, stderr);
		if (r == -ECONNRESET) {
			printf("closed\n");
			return r;
		}
		if (r) {
			printf("%s\n", r == -ETIMEDOUT ? "timeout" : "failed");
			return r;
		}
		print_msg(m);
		r = (int)m->body_case;
		veil_msg_free(m);
		if (r == want)
			return 0;
		if (r == VEIL__MESSAGE__BODY_ERROR)
			return -EPERM;
	}
}

static int cmd_hello(int argc, char **argv)
{
	struct veil_session *s;
	int r;

	if (argc < 1)
		return 2;
	if (veil_session_open(NULL, argv[0], TIMEOUT_MS, &s, stderr))
		return 1;
	r = send_hello(s);
	if (!r)
		r = wait_for(s, VEIL__MESSAGE__BODY_HELLO_ACK, TIMEOUT_MS);
	if (!r)
		r = wait_for(s, VEIL__MESSAGE__BODY_POLICY_UPDATE, TIMEOUT_MS);
	veil_session_close(s);
	return r ? 1 : 0;
}

static int cmd_ping(int argc, char **argv)
{
	struct veil_session *s;
	int i, n = argc > 1 ? atoi(argv[1]) : 1, r;

	if (argc < 1)
		return 2;
	if (veil_session_open(NULL, argv[0], TIMEOUT_MS, &s, stderr))
		return 1;
	r = send_hello(s);
	for (i = 1; !r && i <= n; i++) {
		r = send_heartbeat(s, (uint64_t)i);
		if (!r)
			r = wait_for(s, VEIL__MESSAGE__BODY_HEARTBEAT_ACK, TIMEOUT_MS);
	}
	veil_session_close(s);
	return r ? 1 : 0;
}

static int cmd_hold(int argc, char **argv)
{
	struct veil_session *s;
	int64_t end, next;
	uint64_t seq = 0;
	Veil__Message *m;
	int r, left;

	if (argc < 2)
		return 2;
	if (veil_session_open(NULL, argv[0], TIMEOUT_MS, &s, stderr))
		return 1;
	r = send_hello(s);
	end = now_ms() + atoi(argv[1]) * 1000LL;
	next = now_ms();
	while (!r) {
		if (now_ms() >= end) {
			printf("held\n");
			break;
		}
		if (now_ms() >= next) {
			r = send_heartbeat(s, ++seq);
			next = now_ms() + 1000;
			if (r)
				break;
		}
		left = (int)(next - now_ms());
		r = veil_session_recv(s, left > 0 ? left : 0, &m, stderr);
		if (r == -ETIMEDOUT) {
			r = 0;
			continue;
		}
		if (r == -ECONNRESET) {
			printf("closed\n");
			break;
		}
		if (r)
			break;
		print_msg(m);
		if (m->body_case == VEIL__MESSAGE__BODY_ERROR)
			r = -EPERM;
		veil_msg_free(m);
	}
	fflush(stdout);
	veil_session_close(s);
	return r ? 1 : 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int cmd_raw(int argc, char **argv)
{
	static uint8_t buf[256 * 1024];
	struct veil_session *s;
	const char *what;
	size_t len = 0, i;
	int r;

	if (argc < 2)
		return 2;
	what = argv[1];
	if (!strcmp(what, "--garbage")) {
		/* A plausible length, then bytes that are no protobuf. */
		veil_frame_header(buf, 16);
		memset(buf + 4, 0xff, 16);
		len = 20;
	} else if (!strcmp(what, "--oversize")) {
		/* One byte over 64 KiB (the default limit), body sent too. */
		veil_frame_header(buf, 65537);
		memset(buf + 4, 0, 65537);
		len = 4 + 65537;
	} else if (!strcmp(what, "--truncated")) {
		/* A header announcing 100 bytes, 10 sent, then the session ends. */
		veil_frame_header(buf, 100);
		memset(buf + 4, 0x08, 10);
		len = 14;
	} else if (!strcmp(what, "--empty")) {
		veil_frame_header(buf, 0);
		len = 4;
	} else if (!strcmp(what, "--version")) {
		static const uint8_t v2[] = { 0x08, 0x02, 0x22, 0x00 };	/* version 2 heartbeat */

		veil_frame_header(buf, sizeof(v2));
		memcpy(buf + 4, v2, sizeof(v2));
		len = 4 + sizeof(v2);
	} else {
		for (i = 0; what[i] && what[i + 1] && len < sizeof(buf); i += 2) {
			int hi = hexval(what[i]), lo = hexval(what[i + 1]);

			if (hi < 0 || lo < 0) {
				fprintf(stderr, "not hex: %s\n", what);
				return 2;
			}
			buf[len++] = (uint8_t)(hi << 4 | lo);
		}
	}
	if (veil_session_open(NULL, argv[0], TIMEOUT_MS, &s, stderr))
		return 1;
	r = veil_session_send_raw(s, buf, len, TIMEOUT_MS, stderr);
	if (!strcmp(what, "--truncated")) {
		veil_session_close(s);
		printf("sent\n");
		return 0;
	}
	if (!r)
		r = wait_for(s, VEIL__MESSAGE__BODY_ERROR, TIMEOUT_MS);
	veil_session_close(s);
	return r == -EPERM || r == 0 ? 0 : 1;
}

static int cmd_nocert(int argc, char **argv)
{
	struct veil_session *s;
	char *ca = NULL;
	int r;

	if (argc < 2)
		return 2;
	/* Pinned to the CA given as a fingerprint, but no client certificate. */
	if (veil_session_open_pinned(argv[0], argv[1], TIMEOUT_MS, &s, &ca, stderr))
		return 1;
	free(ca);
	r = send_hello(s);
	if (!r)
		r = wait_for(s, VEIL__MESSAGE__BODY_HELLO_ACK, TIMEOUT_MS);
	veil_session_close(s);
	return r == -EPERM ? 0 : 1;	/* refused, as it must be */
}

static int cmd_no_handshake(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char host[256], *port;
	struct pollfd pfd;
	int64_t start;
	char b[64];
	int fd, r;

	if (argc < 2)
		return 2;
	snprintf(host, sizeof(host), "%s", argv[0]);
	port = strrchr(host, ':');
	if (!port)
		return 2;
	*port++ = 0;
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	if (getaddrinfo(host, port, &hints, &res))
		return 1;
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		perror("connect");
		return 1;
	}
	freeaddrinfo(res);
	/* The first bytes of a TLS record header, and nothing more. */
	if (write(fd, "\x16\x03\x01\x00", 4) != 4)
		return 1;
	start = now_ms();
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		r = poll(&pfd, 1, atoi(argv[1]) * 1000);
		if (r <= 0) {
			printf("still open after %s s\n", argv[1]);
			close(fd);
			return 1;
		}
		r = (int)read(fd, b, sizeof(b));
		if (r <= 0)
			break;
	}
	printf("closed after %lld s\n", (long long)((now_ms() - start + 500) / 1000));
	close(fd);
	return 0;
}

static int cmd_flood(int argc, char **argv)
{
	static uint8_t buf[65536];
	Veil__Message m;
	Veil__Heartbeat hb = VEIL__HEARTBEAT__INIT;
	struct veil_session *s;
	size_t len = 0, sent = 0, total;
	uint8_t *f;
	size_t flen;
	FILE *null;
	int r = 0;

	if (argc < 2)
		return 2;
	total = (size_t)atoi(argv[1]) << 20;
	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_HEARTBEAT;
	m.heartbeat = &hb;
	hb.seq = 1;
	if (veil_msg_pack(&m, 0, &f, &flen))
		return 1;
	while (len + flen <= sizeof(buf)) {
		memcpy(buf + len, f, flen);
		len += flen;
	}
	free(f);
	if (veil_session_open(NULL, argv[0], TIMEOUT_MS, &s, stderr))
		return 1;
	null = fopen("/dev/null", "w");
	while (sent < total) {
		r = veil_session_send_raw(s, buf, len, TIMEOUT_MS, null);
		if (r)
			break;
		sent += len;
	}
	fclose(null);
	printf("%s after %zu KiB\n", r && r != -ETIMEDOUT ? "cut" : "not cut", sent >> 10);
	veil_session_close(s);
	return r && r != -ETIMEDOUT ? 0 : 1;
}

static int cmd_admin(int argc, char **argv)
{
	bool json = argc > 1 && !strcmp(argv[1], "-j");
	int skip = json ? 2 : 1;

	if (argc < skip + 1)
		return 2;
	return veil_client_admin(NULL, argv[0], argc - skip, argv + skip, json, stdout, stderr);
}

static const char *status_name(int status)
{
	switch (status) {
	case VEIL__RESOLVE_REPLY__STATUS__OK:
		return "OK";
	case VEIL__RESOLVE_REPLY__STATUS__NXDOMAIN:
		return "NXDOMAIN";
	case VEIL__RESOLVE_REPLY__STATUS__SERVFAIL:
		return "SERVFAIL";
	}
	return "?";
}

static void print_hex(const char *key, const uint8_t *data, size_t len)
{
	size_t i;

	printf("%s: ", key);
	for (i = 0; i < len; i++)
		printf("%02x", data[i]);
	printf("%s\n", len ? "" : "-");
}

static void print_ports(const char *key, Veil__PortRange **p, size_t n)
{
	size_t i;

	printf("%s:", key);
	for (i = 0; i < n; i++) {
		const char *proto = p[i]->proto == 6 ? "tcp" : p[i]->proto == 17 ? "udp" : "?";

		if (p[i]->first == p[i]->last)
			printf("%s%s/%u", i ? "," : " ", proto, p[i]->first);
		else
			printf("%s%s/%u-%u", i ? "," : " ", proto, p[i]->first, p[i]->last);
	}
	printf("%s\n", n ? "" : " -");
}

static void print_candidates(const char *key, Veil__Candidate **c, size_t n)
{
	size_t i;

	printf("%s:", key);
	for (i = 0; i < n; i++)
		printf("%s%s/%d/%u", i ? "," : " ", c[i]->endpoint, c[i]->kind, c[i]->priority);
	printf("%s\n", n ? "" : " -");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double now_ms_f(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* Wait for the ResolveReply of @id (0: any), printing it; its status, or -1. */
static int resolve_wait(struct veil_session *s, uint64_t id, int timeout_ms, uint64_t *got)
{
	int64_t end = now_ms() + timeout_ms;
	Veil__ResolveReply *rr;
	Veil__Message *m;
	int r, left;
	size_t i;

	for (;;) {
		left = (int)(end - now_ms());
		if (left <= 0) {
			printf("timeout\n");
			return -1;
		}
		r = veil_session_recv(s, left, &m, stderr);
		if (r) {
			printf("%s\n", r == -ECONNRESET ? "closed" : r == -ETIMEDOUT ? "timeout"
								  : "failed");
			return -1;
		}
		if (m->body_case == VEIL__MESSAGE__BODY_ERROR) {
			print_msg(m);
			veil_msg_free(m);
			return -1;
		}
		if (m->body_case != VEIL__MESSAGE__BODY_RESOLVE_REPLY ||
		    (id && m->resolve_reply->request_id != id)) {
			veil_msg_free(m);
			continue;
		}
		rr = m->resolve_reply;
		*got = rr->request_id;
		print_msg(m);
		printf("status: %s\n", status_name(rr->status));
		printf("addresses:");
		for (i = 0; i < rr->n_addresses; i++)
			printf(" %s", rr->addresses[i]);
		printf("%s\n", rr->n_addresses ? "" : " -");
		if (rr->status == VEIL__RESOLVE_REPLY__STATUS__OK)
			printf("ttl: %u\n", rr->ttl);
		if (rr->tunnel) {
			printf("tunnel_peer: %s\n", rr->tunnel->peer_device);
			print_hex("tunnel_key", rr->tunnel->peer_public_key.data,
				  rr->tunnel->peer_public_key.len);
			print_candidates("tunnel_candidates", rr->tunnel->candidates,
					 rr->tunnel->n_candidates);
			print_ports("tunnel_ports", rr->tunnel->ports, rr->tunnel->n_ports);
		}
		r = (int)rr->status;
		veil_msg_free(m);
		return r;
	}
}

static int cmd_resolve(int argc, char **argv)
{
	static uint8_t key[32];
	Veil__Message m;
	Veil__ResolveRequest req = VEIL__RESOLVE_REQUEST__INIT;
	Veil__NatProfile nat = VEIL__NAT_PROFILE__INIT;
	Veil__Candidate cand = VEIL__CANDIDATE__INIT, *cands[1] = { &cand };
	struct veil_session *s;
	double *sent, *times;
	uint64_t got;
	int i, n = 1, r, st = 0;
	bool burst = false;

	if (argc < 2)
		return 2;
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--count") && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--burst"))
			burst = true;
		else
			return 2;
	}
	if (n < 1 || n > 10000)
		return 2;
	times = calloc((size_t)n, sizeof(*times));
	sent = calloc((size_t)n, sizeof(*sent));
	if (!times || !sent) {
		free(times);
		free(sent);
		return 1;
	}
	if (veil_session_open(NULL, argv[0], TIMEOUT_MS, &s, stderr)) {
		free(times);
		return 1;
	}
	r = send_hello(s);
	memset(key, 0xc1, sizeof(key));
	nat.kind = VEIL__NAT_PROFILE__KIND__NAT_NONE;
	nat.public_endpoint = "198.51.100.7:40000";
	cand.kind = VEIL__CANDIDATE__KIND__CANDIDATE_HOST;
	cand.endpoint = "198.51.100.7:40000";
	cand.priority = 100;
	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_RESOLVE_REQUEST;
	m.resolve_request = &req;
	req.name = argv[1];
	req.qtype = 1;
	req.nat = &nat;
	req.candidates = cands;
	req.n_candidates = 1;
	req.public_key.data = key;
	req.public_key.len = sizeof(key);
	for (i = 0; !r && i < n; i++) {
		req.request_id = (uint64_t)i + 1;
		sent[i] = now_ms_f();
		r = veil_session_send(s, &m, TIMEOUT_MS, stderr);
		if (r || burst)
			continue;
		st = resolve_wait(s, req.request_id, 2 * TIMEOUT_MS, &got);
		if (st < 0) {
			r = 1;
			break;
		}
		times[i] = now_ms_f() - sent[i];
		printf("time_ms: %.2f\n", times[i]);
		fflush(stdout);
	}
	/* A burst: the replies in any order, each timed from its own request. */
	for (i = 0; burst && !r && i < n; i++) {
		st = resolve_wait(s, 0, 3 * TIMEOUT_MS, &got);
		if (st < 0 || got < 1 || got > (uint64_t)n) {
			r = 1;
			break;
		}
		times[i] = now_ms_f() - sent[got - 1];
		printf("time_ms: %.2f\n", times[i]);
		fflush(stdout);
	}
	if (!r) {
		qsort(times, (size_t)n, sizeof(*times), cmp_double);
		printf("median_ms: %.2f\nmin_ms: %.2f\nmax_ms: %.2f\n",
		       n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2, times[0],
		       times[n - 1]);
	}
	free(times);
	free(sent);
	veil_session_close(s);
	return r ? 1 : 0;
}

static void print_connect_request(const Veil__ConnectRequest *cr)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned char *der = NULL;
	X509 *x = NULL;
	BIO *b;
	int len;

	printf("connect_request: %" PRIu64 " client %s app %s\n", cr->request_id,
	       cr->client_device, cr->app);
	b = BIO_new_mem_buf(cr->client_cert_pem, -1);
	if (b)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x && (len = i2d_X509(x, &der)) > 0) {
		char cn[256] = "";

		SHA256(der, (size_t)len, md);
		print_hex("client_cert_sha256", md, sizeof(md));
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
					  sizeof(cn));
		printf("client_cert_cn: %s\n", cn);
	} else {
		printf("client_cert_sha256: none\n");
	}
	OPENSSL_free(der);
	X509_free(x);
	print_ports("ports", cr->ports, cr->n_ports);
	print_candidates("client_candidates", cr->candidates, cr->n_candidates);
	printf("client_nat: %d %s\n", cr->client_nat ? (int)cr->client_nat->kind : -1,
	       cr->client_nat && *cr->client_nat->public_endpoint ?
	       cr->client_nat->public_endpoint : "-");
	print_hex("client_key", cr->client_public_key.data, cr->client_public_key.len);
}

static int cmd_serve_connect(int argc, char **argv)
{
	static uint8_t key[32];
	enum { ACCEPT, REFUSE, IGNORE } mode = ACCEPT;
	const char *reason = "", *ip = "100.64.0.1";
	struct veil_session *s;
	int64_t end, next;
	uint64_t seq = 0;
	Veil__Message *m;
	int i, r, left, secs = 60;
	bool ready = false;

	if (argc < 1)
		return 2;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--accept"))
			mode = ACCEPT;
		else if (!strcmp(argv[i], "--refuse") && i + 1 < argc)
			mode = REFUSE, reason = argv[++i];
		else if (!strcmp(argv[i], "--ignore"))
			mode = IGNORE;
		else if (!strcmp(argv[i], "--ip") && i + 1 < argc)
			ip = argv[++i];
		else if (!strcmp(argv[i], "--for") && i + 1 < argc)
			secs = atoi(argv[++i]);
		else
			return 2;
	}
	memset(key, 0x5e, sizeof(key));
	if (veil_session_open(NULL, argv[0], TIMEOUT_MS, &s, stderr))
		return 1;
	r = send_hello(s);
	end = now_ms() + secs * 1000LL;
	next = now_ms() + 1000;
	while (!r && now_ms() < end) {
		if (now_ms() >= next) {
			r = send_heartbeat(s, ++seq);
			next = now_ms() + 1000;
			if (r)
				break;
		}
		left = (int)(next - now_ms());
		r = veil_session_recv(s, left > 0 ? left : 0, &m, stderr);
		if (r == -ETIMEDOUT) {
			r = 0;
			continue;
		}
		if (r == -ECONNRESET) {
			printf("closed\n");
			break;
		}
		if (r)
			break;
		switch (m->body_case) {
		case VEIL__MESSAGE__BODY_POLICY_UPDATE:
			if (!ready)
				printf("ready\n");
			ready = true;
			break;
		case VEIL__MESSAGE__BODY_CONNECT_REQUEST: {
			Veil__Message out;
			Veil__ConnectReply cr = VEIL__CONNECT_REPLY__INIT;
			Veil__Candidate c = VEIL__CANDIDATE__INIT, *cs[1] = { &c };

			print_connect_request(m->connect_request);
			if (mode == IGNORE) {
				printf("connect_ignored: %" PRIu64 "\n",
				       m->connect_request->request_id);
				break;
			}
			msg_init(&out);
			out.body_case = VEIL__MESSAGE__BODY_CONNECT_REPLY;
			out.connect_reply = &cr;
			cr.request_id = m->connect_request->request_id;
			cr.accepted = mode == ACCEPT;
			if (mode == ACCEPT) {
				cr.secure_ip = (char *)ip;
				c.kind = VEIL__CANDIDATE__KIND__CANDIDATE_HOST;
				c.endpoint = "203.0.113.5:51820";
				c.priority = 200;
				cr.candidates = cs;
				cr.n_candidates = 1;
				cr.public_key.data = key;
				cr.public_key.len = sizeof(key);
			} else {
				cr.reason = (char *)reason;
			}
			r = veil_session_send(s, &out, TIMEOUT_MS, stderr);
			printf("connect_%s: %" PRIu64 "\n", mode == ACCEPT ? "accepted" : "refused",
			       cr.request_id);
			break;
		}
		case VEIL__MESSAGE__BODY_HEARTBEAT_ACK:
		case VEIL__MESSAGE__BODY_HELLO_ACK:
			break;
		default:
			print_msg(m);
			if (m->body_case == VEIL__MESSAGE__BODY_ERROR)
				r = -EPERM;
			break;
		}
		fflush(stdout);
		veil_msg_free(m);
	}
	printf("done\n");
	fflush(stdout);
	veil_session_close(s);
	return r ? 1 : 0;
}

/* Send @m, then a heartbeat, and wait for its ack: @m was handled by then. */
static int send_and_sync(const char *dir, Veil__Message *m)
{
	struct veil_session *s;
	int r;

	if (veil_session_open(NULL, dir, TIMEOUT_MS, &s, stderr))
		return 1;
	r = send_hello(s);
	if (!r)
		r = veil_session_send(s, m, TIMEOUT_MS, stderr);
	if (!r)
		r = send_heartbeat(s, 1);
	if (!r)
		r = wait_for(s, VEIL__MESSAGE__BODY_HEARTBEAT_ACK, TIMEOUT_MS);
	veil_session_close(s);
	return r ? 1 : 0;
}

static int cmd_connect_reply(int argc, char **argv)
{
	Veil__Message m;
	Veil__ConnectReply cr = VEIL__CONNECT_REPLY__INIT;

	if (argc < 2)
		return 2;
	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_CONNECT_REPLY;
	m.connect_reply = &cr;
	cr.request_id = strtoull(argv[1], NULL, 10);
	cr.accepted = true;
	cr.secure_ip = "100.64.66.66";
	return send_and_sync(argv[0], &m);
}

static int cmd_report(int argc, char **argv)
{
	Veil__Message m;
	Veil__TunnelReport tr = VEIL__TUNNEL_REPORT__INIT;

	if (argc < 5 || (argc > 5 && strcmp(argv[5], "--down")))
		return 2;
	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_TUNNEL_REPORT;
	m.tunnel_report = &tr;
	tr.up = argc == 5;
	tr.peer_device = argv[1];
	tr.app = argv[2];
	tr.rx_bytes = strtoull(argv[3], NULL, 10);
	tr.tx_bytes = strtoull(argv[4], NULL, 10);
	return send_and_sync(argv[0], &m);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "hello", cmd_hello }, { "hold", cmd_hold }, { "ping", cmd_ping },
		{ "raw", cmd_raw }, { "nocert", cmd_nocert },
		{ "no-handshake", cmd_no_handshake }, { "admin", cmd_admin },
		{ "flood", cmd_flood },
		{ "resolve", cmd_resolve }, { "serve-connect", cmd_serve_connect },
		{ "connect-reply", cmd_connect_reply }, { "report", cmd_report },
	};
	size_t i;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: veil-ctl-client COMMAND ARGS... (see the source)\n");
		return 2;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			r = cmds[i].fn(argc - 2, argv + 2);
			if (r == 2)
				fprintf(stderr, "veil-ctl-client %s: missing arguments\n", argv[1]);
			return r;
		}
	}
	fprintf(stderr, "veil-ctl-client: unknown command %s\n", argv[1]);
	return 2;
}
