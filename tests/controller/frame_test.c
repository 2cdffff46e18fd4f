// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of userspace/ctl/frame.c: framing, the incremental decoder and
 * the checked envelope. KTAP output.
 *
 * With VEIL_FRAME_CORPUS=DIR it also writes the framed messages it builds
 * into DIR, as seeds for tests/fuzz/frame_fuzz.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static int n_test, n_fail;

static void check(int ok, const char *what)
{
	n_test++;
	if (!ok)
		n_fail++;
	printf("%sok %d - %s\n", ok ? "" : "not ", n_test, what);
}

struct buf {
	uint8_t *p;
	size_t len;
};

static void save(const char *name, const struct buf *b)
{
	const char *dir = getenv("VEIL_FRAME_CORPUS");
	char path[4096];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(b->p, 1, b->len, f);
	fclose(f);
}

static struct buf make_hello(void)
{
	static char *facts[] = { "disk-encrypted", "firewall-on" };
	Veil__Message m = VEIL__MESSAGE__INIT;
	Veil__Hello h = VEIL__HELLO__INIT;
	struct buf b = { 0 };

	m.version = VEIL_PROTOCOL_VERSION;
	m.body_case = VEIL__MESSAGE__BODY_HELLO;
	m.hello = &h;
	h.os = "linux";
	h.kernel = "6.1.0-26-amd64";
	h.veil_version = "0.1.0";
	h.n_facts = 2;
	h.facts = facts;
	if (veil_msg_pack(&m, 0, &b.p, &b.len))
		abort();
	return b;
}

static struct buf make_heartbeat(uint64_t seq)
{
	Veil__Message m = VEIL__MESSAGE__INIT;
	Veil__Heartbeat h = VEIL__HEARTBEAT__INIT;
	struct buf b = { 0 };

	m.version = VEIL_PROTOCOL_VERSION;
	m.body_case = VEIL__MESSAGE__BODY_HEARTBEAT;
	m.heartbeat = &h;
	h.seq = seq;
	if (veil_msg_pack(&m, 0, &b.p, &b.len))
		abort();
	return b;
}

static struct buf make_admin(void)
{
	static char *argv[] = { "device", "list" };
	Veil__Message m = VEIL__MESSAGE__INIT;
	Veil__AdminRequest a = VEIL__ADMIN_REQUEST__INIT;
	struct buf b = { 0 };

	m.version = VEIL_PROTOCOL_VERSION;
	m.body_case = VEIL__MESSAGE__BODY_ADMIN_REQUEST;
	m.admin_request = &a;
	a.n_argv = 2;
	a.argv = argv;
	a.json = 1;
	if (veil_msg_pack(&m, 0, &b.p, &b.len))
		abort();
	return b;
}

static struct buf make_enroll(void)
{
	static uint8_t secret[32] = { 1, 2, 3, 4 };
	Veil__Message m = VEIL__MESSAGE__INIT;
	Veil__EnrollRequest e = VEIL__ENROLL_REQUEST__INIT;
	struct buf b = { 0 };

	m.version = VEIL_PROTOCOL_VERSION;
	m.body_case = VEIL__MESSAGE__BODY_ENROLL_REQUEST;
	m.enroll_request = &e;
	e.token_secret.data = secret;
	e.token_secret.len = sizeof(secret);
	e.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
	if (veil_msg_pack(&m, 0, &b.p, &b.len))
		abort();
	return b;
}

static struct buf make_resolve(void)
{
	Veil__Message m = VEIL__MESSAGE__INIT;
	Veil__ResolveReply r = VEIL__RESOLVE_REPLY__INIT;
	Veil__TunnelInfo t = VEIL__TUNNEL_INFO__INIT;
	Veil__PortRange pr = VEIL__PORT_RANGE__INIT, *prs[1] = { &pr };
	Veil__Candidate c = VEIL__CANDIDATE__INIT, *cs[1] = { &c };
	static char *addrs[] = { "100.80.0.7" };
	struct buf b = { 0 };

	m.version = VEIL_PROTOCOL_VERSION;
	m.body_case = VEIL__MESSAGE__BODY_RESOLVE_REPLY;
	m.resolve_reply = &r;
	r.request_id = 7;
	r.status = VEIL__RESOLVE_REPLY__STATUS__OK;
	r.n_addresses = 1;
	r.addresses = addrs;
	r.ttl = 60;
	r.tunnel = &t;
	t.peer_device = "srv1";
	t.n_candidates = 1;
	t.candidates = cs;
	c.endpoint = "192.0.2.1:51820";
	t.n_ports = 1;
	t.ports = prs;
	pr.proto = 6;
	pr.first = pr.last = 443;
	if (veil_msg_pack(&m, 0, &b.p, &b.len))
		abort();
	return b;
}

static void test_header(void)
{
	uint8_t h[4];

	veil_frame_header(h, 0x01020304);
	check(h[0] == 1 && h[1] == 2 && h[2] == 3 && h[3] == 4, "header is big-endian");
}

static void test_roundtrip(void)
{
	struct buf b = make_hello();
	Veil__Message *m = NULL;
	const char *why = NULL;
	int ok;

	ok = b.len > 4 && b.p[0] == 0 && b.p[1] == 0 &&
	     (size_t)(b.p[2] << 8 | b.p[3]) == b.len - 4;
	check(ok, "pack writes the body's length");
	ok = veil_msg_unpack(b.p + 4, b.len - 4, &m, &why) == 0 &&
	     m->body_case == VEIL__MESSAGE__BODY_HELLO && !strcmp(m->hello->os, "linux") &&
	     m->hello->n_facts == 2 && !strcmp(m->hello->facts[1], "firewall-on");
	check(ok, "hello packs and unpacks");
	check(m && !strcmp(veil_msg_name(m), "hello"), "message name for logs");
	veil_msg_free(m);
	save("hello", &b);
	free(b.p);
}

/* Concatenate frames and decode them fed @step bytes at a time (0: whole). */
static int decode_stream(const struct buf *bufs, int nb, size_t step, size_t max)
{
	struct veil_frame_decoder d;
	uint8_t stream[8192];
	size_t len = 0, off = 0, used, flen, chunk;
	const uint8_t *frame;
	int i, got = 0, r;

	for (i = 0; i < nb; i++) {
		memcpy(stream + len, bufs[i].p, bufs[i].len);
		len += bufs[i].len;
	}
	veil_frame_decoder_init(&d, max);
	while (off < len) {
		chunk = step && len - off > step ? step : len - off;
		while (chunk) {
			r = veil_frame_feed(&d, stream + off, chunk, &used, &frame, &flen);
			if (r < 0) {
				veil_frame_decoder_free(&d);
				return r;
			}
			off += used;
			chunk -= used;
			if (r == 1) {
				if (got >= nb || flen != bufs[got].len - 4 ||
				    memcmp(frame, bufs[got].p + 4, flen)) {
					veil_frame_decoder_free(&d);
					return -1000;
				}
				got++;
			}
		}
	}
	r = veil_frame_decoder_pending(&d) ? -1001 : got;
	veil_frame_decoder_free(&d);
	return r;
}

static void test_decoder(void)
{
	struct buf b[5] = { make_hello(), make_heartbeat(1), make_admin(), make_enroll(),
			    make_resolve() };
	size_t steps[] = { 1, 2, 3, 5, 7, 64, 0 };
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (decode_stream(b, 5, steps[i], 0) != 5)
			ok = 0;
	check(ok, "decoder yields every frame whatever the chunking");
	check(decode_stream(b, 5, 0, b[0].len - 4) == -EMSGSIZE,
	      "a frame over the limit is refused");
	check(decode_stream(b, 1, 1, b[0].len - 4) == 1, "a frame of exactly the limit is taken");
	save("heartbeat", &b[1]);
	save("admin", &b[2]);
	save("enroll", &b[3]);
	save("resolve", &b[4]);
	for (i = 0; i < 5; i++)
		free(b[i].p);
}

static void test_bad_frames(void)
{
	struct veil_frame_decoder d;
	const uint8_t zero[4] = { 0 }, huge[4] = { 0xff, 0xff, 0xff, 0xff };
	const uint8_t *frame;
	size_t used, flen;

	veil_frame_decoder_init(&d, 0);
	check(veil_frame_feed(&d, zero, 4, &used, &frame, &flen) == -EBADMSG,
	      "a zero-length frame is refused");
	veil_frame_decoder_free(&d);
	veil_frame_decoder_init(&d, 0);
	check(veil_frame_feed(&d, huge, 4, &used, &frame, &flen) == -EMSGSIZE,
	      "a 4 GiB length is refused before any allocation");
	check(d.buf == NULL, "no buffer was allocated for it");
	veil_frame_decoder_free(&d);
}

static void test_bad_messages(void)
{
	const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f };
	const uint8_t v2[] = { 0x08, 0x02, 0x22, 0x00 };	/* version 2, heartbeat {} */
	const uint8_t v0[] = { 0x22, 0x00 };			/* no version, heartbeat {} */
	const uint8_t nobody[] = { 0x08, 0x01 };		/* version 1 only */
	const uint8_t hb[] = { 0x08, 0x01, 0x22, 0x02, 0x08, 0x05 };
	Veil__Message *m, pm = VEIL__MESSAGE__INIT;
	Veil__AdminReply big = VEIL__ADMIN_REPLY__INIT;
	const char *why;
	uint8_t *out;
	size_t out_len;
	char *text;
	int r;

	check(veil_msg_unpack(garbage, sizeof(garbage), &m, &why) == -EBADMSG && !m,
	      "garbage does not decode");
	check(veil_msg_unpack(v2, sizeof(v2), &m, &why) == -EPROTONOSUPPORT,
	      "version 2 is refused");
	check(veil_msg_unpack(v0, sizeof(v0), &m, &why) == -EPROTONOSUPPORT,
	      "a message without version is refused");
	check(veil_msg_unpack(nobody, sizeof(nobody), &m, &why) == -EINVAL,
	      "a message without body is refused");
	r = veil_msg_unpack(hb, sizeof(hb), &m, &why);
	check(r == 0 && m->body_case == VEIL__MESSAGE__BODY_HEARTBEAT && m->heartbeat->seq == 5,
	      "a hand-encoded heartbeat decodes");
	veil_msg_free(m);

	pm.version = VEIL_PROTOCOL_VERSION;
	check(veil_msg_pack(&pm, 0, &out, &out_len) == -EINVAL, "pack refuses a message without body");
	pm.version = 2;
	pm.body_case = VEIL__MESSAGE__BODY_ADMIN_REPLY;
	pm.admin_reply = &big;
	check(veil_msg_pack(&pm, 0, &out, &out_len) == -EINVAL, "pack refuses another version");
	pm.version = VEIL_PROTOCOL_VERSION;
	text = malloc(VEIL_FRAME_MAX + 1);
	memset(text, 'x', VEIL_FRAME_MAX);
	text[VEIL_FRAME_MAX] = 0;
	big.output = text;
	check(veil_msg_pack(&pm, 0, &out, &out_len) == -EMSGSIZE, "pack refuses a body over the limit");
	check(veil_msg_pack(&pm, 2 * VEIL_FRAME_MAX, &out, &out_len) == 0 &&
	      out_len > VEIL_FRAME_MAX, "a larger limit lets it through");
	free(out);
	free(text);
}

int main(void)
{
	printf("TAP version 13\n1..19\n");
	test_header();
	test_roundtrip();
	test_decoder();
	test_bad_frames();
	test_bad_messages();
	return n_fail ? 1 : 0;
}
