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
 *   resolve DIR NAME         one ResolveRequest, print the reply
 *
 * Output lines are "key: value" for the tests to grep; exit 0 on success.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

static int cmd_resolve(int argc, char **argv)
{
	Veil__Message m;
	Veil__ResolveRequest req = VEIL__RESOLVE_REQUEST__INIT;
	struct veil_session *s;
	int r;

	if (argc < 2)
		return 2;
	if (veil_session_open(NULL, argv[0], TIMEOUT_MS, &s, stderr))
		return 1;
	r = send_hello(s);
	msg_init(&m);
	m.body_case = VEIL__MESSAGE__BODY_RESOLVE_REQUEST;
	m.resolve_request = &req;
	req.request_id = 1;
	req.name = argv[1];
	req.qtype = 1;
	if (!r)
		r = veil_session_send(s, &m, TIMEOUT_MS, stderr);
	if (!r)
		r = wait_for(s, VEIL__MESSAGE__BODY_RESOLVE_REPLY, TIMEOUT_MS);
	veil_session_close(s);
	return r ? 1 : 0;
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
		{ "resolve", cmd_resolve },
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
