// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the DNS wire code (kmod/dnswire.c, the same file the module
 * builds): queries as dig sends them and built by hand, answers parsed back
 * with the response walker, compression pointer abuse, CNAME rewrites and
 * zone names. KTAP output.
 */
#include <stdio.h>
#include <string.h>

#include "dnswire.h"
#include "ktap.h"

/* Captured from dig 9.18 (bind9-dnsutils, Debian 12) with a UDP listener. */
/* dig +noedns www.Example.COM A */
static const u8 dig_noedns[] = {
	0x49, 0xa3, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x03, 'w', 'w', 'w', 0x07, 'E', 'x', 'a', 'm', 'p', 'l', 'e',
	0x03, 'C', 'O', 'M', 0x00, 0x00, 0x01, 0x00, 0x01,
};

/* dig WwW.eXaMpLe.CoM AAAA: EDNS 1232 with a client cookie */
static const u8 dig_cookie[] = {
	0xc1, 0xab, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x03, 'W', 'w', 'W', 0x07, 'e', 'X', 'a', 'M', 'p', 'L', 'e',
	0x03, 'C', 'o', 'M', 0x00, 0x00, 0x1c, 0x00, 0x01,
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c,
	0x00, 0x0a, 0x00, 0x08, 0x73, 0xad, 0xfc, 0x4a, 0x6b, 0x1d, 0xe0, 0xc7,
};

/* dig +nocookie . NS */
static const u8 dig_root[] = {
	0x24, 0x6f, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x02, 0x00, 0x01,
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* dig +dnssec +nocookie +bufsize=4096 app.corp.scom A */
static const u8 dig_dnssec[] = {
	0xf3, 0xd2, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x03, 'a', 'p', 'p', 0x04, 'c', 'o', 'r', 'p', 0x04, 's', 'c', 'o', 'm',
	0x00, 0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
};

/* A message under construction. */
struct msg {
	u8 b[8192];
	size_t n;
};

static void m8(struct msg *m, unsigned int v)
{
	m->b[m->n++] = v;
}

static void m16(struct msg *m, unsigned int v)
{
	m8(m, v >> 8);
	m8(m, v & 0xff);
}

static void m32(struct msg *m, u32 v)
{
	m16(m, v >> 16);
	m16(m, v & 0xffff);
}

static void mbytes(struct msg *m, const void *p, size_t len)
{
	memcpy(m->b + m->n, p, len);
	m->n += len;
}

/* Labels of a dotted name, without the root byte: end it with mroot or mptr. */
static void mlabels(struct msg *m, const char *dotted)
{
	const char *dot;
	size_t l;

	while (*dotted) {
		dot = strchr(dotted, '.');
		l = dot ? (size_t)(dot - dotted) : strlen(dotted);
		m8(m, l);
		mbytes(m, dotted, l);
		dotted += l + (dot ? 1 : 0);
	}
}

static void mname(struct msg *m, const char *dotted)
{
	mlabels(m, dotted);
	m8(m, 0);
}

static void mptr(struct msg *m, unsigned int off)
{
	m16(m, 0xc000 | off);
}

static void mhdr(struct msg *m, u16 id, u16 flags, u16 qd, u16 an, u16 ns, u16 ar)
{
	m->n = 0;
	m16(m, id);
	m16(m, flags);
	m16(m, qd);
	m16(m, an);
	m16(m, ns);
	m16(m, ar);
}

/* Fixed part of a record: type, class IN, TTL, RDLENGTH. */
static void mrr(struct msg *m, u16 type, u32 ttl, u16 rdlen)
{
	m16(m, type);
	m16(m, VEIL_DNS_CLASS_IN);
	m32(m, ttl);
	m16(m, rdlen);
}

static void mquery(struct msg *m, const char *name, u16 qtype)
{
	mhdr(m, 0x1234, VEIL_DNS_F_RD, 1, 0, 0, 0);
	mname(m, name);
	m16(m, qtype);
	m16(m, VEIL_DNS_CLASS_IN);
}

static void mopt(struct msg *m, u16 size, u32 ttl)
{
	m8(m, 0);
	m16(m, VEIL_DNS_TYPE_OPT);
	m16(m, size);
	m32(m, ttl);
	m16(m, 0);
}

static struct veil_dns_name zone_of(const char *text)
{
	struct veil_dns_name z;

	veil_dns_zone_from_text(text, strlen(text), &z, NULL);
	return z;
}

static bool text_is(const struct veil_dns_name *name, const char *want)
{
	char buf[VEIL_DNS_TEXT_MAX];

	return veil_dns_name_to_text(name, buf, sizeof(buf)) >= 0 && !strcmp(buf, want);
}

static int query_of(const struct msg *m, struct veil_dns_query *q)
{
	return veil_dns_parse_query(m->b, m->n, q);
}

static void test_dig_queries(void)
{
	struct veil_dns_query q;

	CHECK(veil_dns_parse_query(dig_noedns, sizeof(dig_noedns), &q) == VEIL_DNS_OK &&
	      q.id == 0x49a3 && (q.flags & VEIL_DNS_F_RD) && q.qtype == VEIL_DNS_TYPE_A &&
	      q.qclass == VEIL_DNS_CLASS_IN && !q.edns.present,
	      "dig +noedns: id, RD, A, IN, no EDNS");
	CHECK(text_is(&q.name, "www.example.com") && q.name.labels == 3 && q.name.len == 17 &&
	      q.name.off[0] == 0 && q.name.off[1] == 4 && q.name.off[2] == 12,
	      "the name is case-folded with its label offsets");
	CHECK(q.qname_off == 12 && q.question_len == 21 && q.len == sizeof(dig_noedns),
	      "the question's place and length are reported");

	CHECK(veil_dns_parse_query(dig_cookie, sizeof(dig_cookie), &q) == VEIL_DNS_OK &&
	      q.edns.present && q.edns.valid && q.edns.udp_size == 1232 && !q.edns.version &&
	      !q.edns.do_bit && q.qtype == VEIL_DNS_TYPE_AAAA,
	      "dig with a cookie option: EDNS 1232, version 0, valid");
	CHECK(text_is(&q.name, "www.example.com") && q.edns.opt_off == 33 && q.edns.opt_len == 23,
	      "mixed case is folded; the OPT record is located");

	CHECK(veil_dns_parse_query(dig_root, sizeof(dig_root), &q) == VEIL_DNS_OK &&
	      q.name.labels == 0 && q.name.len == 1 && q.qtype == VEIL_DNS_TYPE_NS &&
	      text_is(&q.name, "."), "dig . NS: the root name");

	CHECK(veil_dns_parse_query(dig_dnssec, sizeof(dig_dnssec), &q) == VEIL_DNS_OK &&
	      q.edns.do_bit && q.edns.udp_size == 4096, "dig +dnssec +bufsize=4096: DO and size");
}

static void test_query_names(void)
{
	struct veil_dns_query q;
	char label[70], name[300];
	struct msg m;
	size_t i;

	memset(label, 'a', 63);
	label[63] = 0;
	snprintf(name, sizeof(name), "%s.corp.scom", label);
	mquery(&m, name, VEIL_DNS_TYPE_A);
	CHECK(query_of(&m, &q) == VEIL_DNS_OK && q.name.wire[0] == 63 && q.name.labels == 3,
	      "a 63-byte label is accepted");
	label[63] = 'a';
	label[64] = 0;
	snprintf(name, sizeof(name), "%s.corp.scom", label);
	mquery(&m, name, VEIL_DNS_TYPE_A);
	CHECK(query_of(&m, &q) == VEIL_DNS_MALFORMED, "a 64-byte label is refused");

	/* 63+63+63+61 characters in 4 labels: 254 bytes, 255 with the root. */
	memset(name, 'b', 251);
	name[63] = name[127] = name[191] = '.';
	name[253] = 0;
	memset(name + 192, 'c', 61);
	mquery(&m, name, VEIL_DNS_TYPE_A);
	CHECK(query_of(&m, &q) == VEIL_DNS_OK && q.name.len == 255 && q.name.labels == 4,
	      "a 255-byte name is accepted");
	name[253] = 'c';
	name[254] = 0;
	mquery(&m, name, VEIL_DNS_TYPE_A);
	CHECK(query_of(&m, &q) == VEIL_DNS_MALFORMED, "a 256-byte name is refused");

	/* 127 one-letter labels: 255 bytes. */
	for (i = 0; i < 127; i++) {
		name[2 * i] = 'x';
		name[2 * i + 1] = '.';
	}
	name[253] = 0;
	mquery(&m, name, VEIL_DNS_TYPE_A);
	CHECK(query_of(&m, &q) == VEIL_DNS_OK && q.name.labels == 127 && q.name.off[126] == 252,
	      "127 labels are accepted with their offsets");

	mhdr(&m, 1, 0, 1, 0, 0, 0);
	m8(&m, 4);
	mbytes(&m, "a.\x00\xff", 4);
	m8(&m, 0);
	m16(&m, 1);
	m16(&m, 1);
	CHECK(query_of(&m, &q) == VEIL_DNS_OK && text_is(&q.name, "a\\.\\000\\255"),
	      "any byte is allowed in a label and shown escaped");
}

static void test_query_refused(void)
{
	struct veil_dns_query q;
	struct msg m;

	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	CHECK(veil_dns_parse_query(m.b, 11, &q) == VEIL_DNS_MALFORMED, "a short header is malformed");
	CHECK(veil_dns_parse_query(m.b, 20, &q) == VEIL_DNS_MALFORMED,
	      "a question cut inside the name is malformed");
	CHECK(veil_dns_parse_query(m.b, m.n - 1, &q) == VEIL_DNS_MALFORMED,
	      "a question cut inside the class is malformed");
	CHECK(veil_dns_parse_query(m.b, 12, &q) == VEIL_DNS_MALFORMED,
	      "QDCOUNT 1 with no question is malformed");
	m.b[m.n++] = 0;
	CHECK(query_of(&m, &q) == VEIL_DNS_MALFORMED, "a byte after the question is malformed");

	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	m.b[5] = 2;
	mname(&m, "other.example");
	m16(&m, 1);
	m16(&m, 1);
	CHECK(query_of(&m, &q) == VEIL_DNS_MALFORMED, "QDCOUNT 2 is malformed (RFC 9619)");

	mhdr(&m, 1, 0, 1, 0, 0, 0);
	mlabels(&m, "www");
	mptr(&m, 12);
	m16(&m, 1);
	m16(&m, 1);
	CHECK(query_of(&m, &q) == VEIL_DNS_MALFORMED,
	      "a compression pointer in the question is malformed");

	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	m.b[2] |= VEIL_DNS_F_QR >> 8;
	CHECK(query_of(&m, &q) == VEIL_DNS_PASS, "QR 1 is passed");
	m.b[2] = (4 << 11) >> 8;
	CHECK(query_of(&m, &q) == VEIL_DNS_PASS, "opcode NOTIFY is passed");
	m.b[2] = 1;
	m.b[5] = 0;
	CHECK(veil_dns_parse_query(m.b, 12, &q) == VEIL_DNS_PASS, "QDCOUNT 0 is passed");

	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	m.b[7] = 1;
	CHECK(query_of(&m, &q) == VEIL_DNS_PASS && text_is(&q.name, "www.corp.scom"),
	      "ANCOUNT 1 is passed, with the name read");

	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	m.b[11] = 1;
	mname(&m, "key");
	mrr(&m, 250, 0, 2);
	m16(&m, 0);
	CHECK(query_of(&m, &q) == VEIL_DNS_PASS, "a TSIG-signed query is passed");

	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	m.b[m.n - 1] = 3;
	CHECK(query_of(&m, &q) == VEIL_DNS_OK && q.qclass == 3, "class CH is reported");
}

/*
 * The query hook's first look (veil_dns_question_name) finds the name the
 * full parse reads, with the same labels, exactly when the full parse
 * reads it.
 */
static bool name_agrees(const u8 *pkt, size_t len, int want)
{
	unsigned int labels = 0, name_len = 0, i, pos;
	struct veil_dns_query q;
	int st;

	st = veil_dns_question_name(pkt, len, &labels, &name_len);
	veil_dns_parse_query(pkt, len, &q);
	if (st != want || (st == VEIL_DNS_OK) != (q.name.len != 0))
		return false;
	if (st != VEIL_DNS_OK)
		return true;
	if (labels != q.name.labels || name_len != q.name.len)
		return false;
	for (i = 0; i < name_len; i++)
		if (veil_dns_fold(pkt[VEIL_DNS_HDR_LEN + i]) != q.name.wire[i])
			return false;
	for (i = 0, pos = 0; i < labels; i++, pos += 1 + pkt[VEIL_DNS_HDR_LEN + pos])
		if (pos != q.name.off[i])
			return false;
	return true;
}

static void test_question_name(void)
{
	unsigned int labels, name_len;
	char name[300];
	struct msg m;
	size_t i;

	CHECK(veil_dns_question_name(dig_cookie, sizeof(dig_cookie), &labels, &name_len) ==
	      VEIL_DNS_OK && labels == 3 && name_len == 17 && dig_cookie[12 + 1] == 'W',
	      "first look: the name found in place, letter case untouched");
	CHECK(name_agrees(dig_noedns, sizeof(dig_noedns), VEIL_DNS_OK) &&
	      name_agrees(dig_dnssec, sizeof(dig_dnssec), VEIL_DNS_OK),
	      "first look agrees with the full parse on dig's queries");
	CHECK(name_agrees(dig_root, sizeof(dig_root), VEIL_DNS_OK),
	      "first look: the root has no labels");
	for (i = 0; i < 127; i++) {
		name[2 * i] = 'x';
		name[2 * i + 1] = '.';
	}
	name[253] = 0;
	mquery(&m, name, VEIL_DNS_TYPE_A);
	CHECK(name_agrees(m.b, m.n, VEIL_DNS_OK), "first look: 127 labels");

	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	CHECK(name_agrees(m.b, m.n - 1, VEIL_DNS_MALFORMED) &&
	      name_agrees(m.b, 20, VEIL_DNS_MALFORMED) && name_agrees(m.b, 11, VEIL_DNS_MALFORMED),
	      "first look: a cut question or header is not read");
	m.b[m.n++] = 0;
	CHECK(name_agrees(m.b, m.n, VEIL_DNS_OK),
	      "first look: bytes after the question do not hide the name");
	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	m.b[7] = 1;
	CHECK(name_agrees(m.b, m.n, VEIL_DNS_OK), "first look: ANCOUNT 1 still shows the name");
	m.b[7] = 0;
	m.b[2] |= VEIL_DNS_F_QR >> 8;
	CHECK(name_agrees(m.b, m.n, VEIL_DNS_PASS), "first look: a response is passed");
	m.b[2] = (4 << 11) >> 8;
	CHECK(name_agrees(m.b, m.n, VEIL_DNS_PASS), "first look: opcode NOTIFY is passed");
	m.b[2] = 1;
	m.b[5] = 2;
	CHECK(name_agrees(m.b, m.n, VEIL_DNS_MALFORMED), "first look: QDCOUNT 2 is not read");

	mhdr(&m, 1, 0, 1, 0, 0, 0);
	mlabels(&m, "www");
	mptr(&m, 12);
	m16(&m, 1);
	m16(&m, 1);
	CHECK(name_agrees(m.b, m.n, VEIL_DNS_MALFORMED),
	      "first look: a compression pointer in the question is not followed");
}

static void test_query_edns(void)
{
	struct veil_dns_query q;
	struct msg m;

	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	m.b[11] = 1;
	mopt(&m, 100, 0);
	CHECK(query_of(&m, &q) == VEIL_DNS_OK && q.edns.valid && q.edns.udp_size == 512,
	      "an EDNS size under 512 counts as 512");

	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	m.b[11] = 1;
	mopt(&m, 1232, 1 << 16);
	CHECK(query_of(&m, &q) == VEIL_DNS_OK && q.edns.valid && q.edns.version == 1,
	      "EDNS version 1 is reported");

	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	m.b[11] = 2;
	mopt(&m, 1232, 0);
	mopt(&m, 1232, 0);
	CHECK(query_of(&m, &q) == VEIL_DNS_OK && q.edns.present && !q.edns.valid,
	      "two OPT records make EDNS invalid");

	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	m.b[11] = 1;
	mname(&m, "x");
	mrr(&m, VEIL_DNS_TYPE_OPT, 0, 0);
	CHECK(query_of(&m, &q) == VEIL_DNS_OK && q.edns.present && !q.edns.valid,
	      "an OPT with a non-root owner is invalid");

	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	m.b[11] = 1;
	m8(&m, 0);
	mrr(&m, VEIL_DNS_TYPE_OPT, 0, 5);
	m16(&m, 10);
	m16(&m, 8);
	m8(&m, 1);
	CHECK(query_of(&m, &q) == VEIL_DNS_OK && !q.edns.valid,
	      "an option longer than the OPT's RDATA is invalid");

	mquery(&m, "www.corp.scom", VEIL_DNS_TYPE_A);
	m.b[11] = 1;
	m8(&m, 0);
	mrr(&m, VEIL_DNS_TYPE_OPT, 0, 10);
	CHECK(query_of(&m, &q) == VEIL_DNS_MALFORMED, "an OPT running past the end is malformed");
}

static const u8 addr4[] = { 10, 1, 2, 3, 10, 1, 2, 4 };
static const u8 addr6[32] = { 0xfd, 0, [15] = 1, [16] = 0xfd, [31] = 2 };
static const struct veil_dns_soa soa = { 7, 3600, 600, 86400, 300, 60 };

/* Find the record at *pos and step over it. */
static void skip_rr(const u8 *p, size_t len, size_t *pos, u16 *type, size_t *rdata, u16 *rdlen,
		    u32 *ttl)
{
	struct veil_dns_name tmp;
	int end = veil_dns_name_unpack(p, len, *pos, &tmp);

	if (end < 0 || (size_t)end + 10 > len) {
		*type = 0;
		return;
	}
	*type = p[end] << 8 | p[end + 1];
	*ttl = (u32)p[end + 4] << 24 | p[end + 5] << 16 | p[end + 6] << 8 | p[end + 7];
	*rdlen = p[end + 8] << 8 | p[end + 9];
	*rdata = end + 10;
	*pos = *rdata + *rdlen;
}

static void test_answers(void)
{
	struct veil_dns_answer a = { 0 };
	struct veil_dns_name zone = zone_of("example.com"), nm;
	struct veil_dns_response r;
	struct veil_dns_query q;
	u8 out[2048], many[16 * 40];
	size_t pos, rdata;
	u16 type, rdlen;
	u32 ttl;
	int len, e;

	veil_dns_parse_query(dig_noedns, sizeof(dig_noedns), &q);
	a.addrs = addr4;
	a.naddrs = 2;
	a.ttl = 120;
	a.udp_size = 1232;
	len = veil_dns_build_answer(dig_noedns, &q, &a, out, sizeof(out));
	CHECK(len == 12 + 21 + 2 * 16, "an A answer has the expected length");
	CHECK(veil_dns_walk_response(out, len, &r) == VEIL_DNS_OK && r.id == 0x49a3,
	      "the answer walks back with the query's ID");
	CHECK(r.flags == (VEIL_DNS_F_QR | VEIL_DNS_F_AA | VEIL_DNS_F_RD | VEIL_DNS_F_RA),
	      "flags: QR AA RD RA, AD cleared, NOERROR");
	CHECK(!memcmp(out + 12, dig_noedns + 12, 21), "the question is copied byte for byte");
	CHECK(r.ancount == 2 && !r.nscount && !r.arcount && r.final_a && r.min_ttl == 120,
	      "two A records for the question name, TTL 120");
	pos = 33;
	skip_rr(out, len, &pos, &type, &rdata, &rdlen, &ttl);
	CHECK(out[33] == 0xc0 && out[34] == 12 && type == 1 && rdlen == 4 &&
	      !memcmp(out + rdata, addr4, 4) && ttl == 120,
	      "first record: pointer to the question, A, the address");
	skip_rr(out, len, &pos, &type, &rdata, &rdlen, &ttl);
	CHECK(!memcmp(out + rdata, addr4 + 4, 4) && pos == (size_t)len, "second record: the other address");

	veil_dns_parse_query(dig_cookie, sizeof(dig_cookie), &q);
	a.addrs = addr6;
	len = veil_dns_build_answer(dig_cookie, &q, &a, out, sizeof(out));
	CHECK(len > 0 && veil_dns_walk_response(out, len, &r) == VEIL_DNS_OK && r.final_aaaa &&
	      r.ancount == 2 && !memcmp(out + 12, dig_cookie + 12, 21),
	      "an AAAA answer keeps the query's letter case (0x20)");
	CHECK(r.arcount == 1 && r.opt_off && out[r.opt_off + 3] == 0x04 &&
	      out[r.opt_off + 4] == 0xd0 && !out[r.opt_off + 6] && !out[r.opt_off + 7] &&
	      r.opt_len == 11, "EDNS is echoed: OPT, 1232, version 0, no options");

	veil_dns_parse_query(dig_dnssec, sizeof(dig_dnssec), &q);
	a.addrs = addr4;
	a.naddrs = 1;
	len = veil_dns_build_answer(dig_dnssec, &q, &a, out, sizeof(out));
	CHECK(len > 0 && veil_dns_walk_response(out, len, &r) == VEIL_DNS_OK &&
	      (out[r.opt_off + 7] & 0x80), "the DO bit is copied");
	CHECK(out[r.opt_off + 3] == 0x04 && out[r.opt_off + 4] == 0xd0,
	      "the OPT carries the server's size, not the client's 4096");

	/* NXDOMAIN with the zone's SOA. */
	veil_dns_parse_query(dig_noedns, sizeof(dig_noedns), &q);
	a.naddrs = 0;
	a.rcode = VEIL_DNS_RCODE_NXDOMAIN;
	a.zone = &zone;
	a.soa = &soa;
	len = veil_dns_build_answer(dig_noedns, &q, &a, out, sizeof(out));
	CHECK(len > 0 && veil_dns_walk_response(out, len, &r) == VEIL_DNS_OK &&
	      (r.flags & VEIL_DNS_F_RCODE) == 3 && !r.ancount && r.nscount == 1,
	      "NXDOMAIN: no answer, one authority record");
	pos = 33;
	e = veil_dns_name_unpack(out, len, pos, &nm);
	skip_rr(out, len, &pos, &type, &rdata, &rdlen, &ttl);
	CHECK(e == 35 && veil_dns_name_equal(&nm, &zone) && type == VEIL_DNS_TYPE_SOA && ttl == 60,
	      "the SOA's owner is the apex, as a pointer, TTL the negative TTL");
	e = veil_dns_name_unpack(out, len, rdata, &nm);
	CHECK(e > 0 && text_is(&nm, "ns.example.com"), "MNAME is ns.<apex>");
	e = veil_dns_name_unpack(out, len, e, &nm);
	CHECK(e > 0 && text_is(&nm, "hostmaster.example.com"), "RNAME is hostmaster.<apex>");
	CHECK(e + 20 == len && out[e + 3] == 7 && out[e + 19] == 44 && out[e + 18] == 1,
	      "serial and minimum as given, the record ends the message");

	a.rcode = VEIL_DNS_RCODE_NOERROR;
	len = veil_dns_build_answer(dig_noedns, &q, &a, out, sizeof(out));
	CHECK(len > 0 && veil_dns_walk_response(out, len, &r) == VEIL_DNS_OK &&
	      (r.flags & VEIL_DNS_F_RCODE) == 0 && !r.ancount && r.nscount == 1 && !r.final_a,
	      "NODATA: NOERROR, no answer, the SOA");

	veil_dns_parse_query(dig_cookie, sizeof(dig_cookie), &q);
	a.rcode = VEIL_DNS_RCODE_SERVFAIL;
	len = veil_dns_build_answer(dig_cookie, &q, &a, out, sizeof(out));
	CHECK(len == 12 + 21 + 11 && veil_dns_walk_response(out, len, &r) == VEIL_DNS_OK &&
	      (r.flags & VEIL_DNS_F_RCODE) == 2 && !r.ancount && !r.nscount && r.arcount == 1,
	      "SERVFAIL: no records but the OPT");

	veil_dns_parse_query(dig_root, sizeof(dig_root), &q);
	zone = zone_of(".");
	a.rcode = VEIL_DNS_RCODE_NOERROR;
	len = veil_dns_build_answer(dig_root, &q, &a, out, sizeof(out));
	CHECK(len > 0 && veil_dns_walk_response(out, len, &r) == VEIL_DNS_OK && r.nscount == 1,
	      "NODATA for the root, with the root's SOA");

	/* Truncation. */
	memset(many, 7, sizeof(many));
	veil_dns_parse_query(dig_noedns, sizeof(dig_noedns), &q);
	a.addrs = many;
	a.naddrs = 40;
	len = veil_dns_build_answer(dig_noedns, &q, &a, out, sizeof(out));
	CHECK(len > 0 && len <= 512 && veil_dns_walk_response(out, len, &r) == VEIL_DNS_OK &&
	      (r.flags & VEIL_DNS_F_TC) && r.ancount == (512 - 33) / 16,
	      "40 addresses without EDNS: TC and the 29 that fit 512 bytes");
	veil_dns_parse_query(dig_dnssec, sizeof(dig_dnssec), &q);
	len = veil_dns_build_answer(dig_dnssec, &q, &a, out, sizeof(out));
	CHECK(len > 512 && veil_dns_walk_response(out, len, &r) == VEIL_DNS_OK &&
	      !(r.flags & VEIL_DNS_F_TC) && r.ancount == 40 && r.arcount == 1,
	      "with EDNS they all fit, no TC");
	a.udp_size = 600;
	len = veil_dns_build_answer(dig_dnssec, &q, &a, out, sizeof(out));
	CHECK(len > 0 && len <= 600 && veil_dns_walk_response(out, len, &r) == VEIL_DNS_OK &&
	      (r.flags & VEIL_DNS_F_TC) && r.arcount == 1 && r.ancount == (600 - 12 - 19 - 11) / 16,
	      "the server's smaller size truncates too, the OPT kept");
	a.udp_size = 1232;
	CHECK(veil_dns_build_answer(dig_dnssec, &q, &a, out, 40) == VEIL_DNS_NOSPACE,
	      "a buffer without room for the question is refused");
	len = veil_dns_build_answer(dig_dnssec, &q, &a, out, 100);
	CHECK(len > 0 && len <= 100 && veil_dns_walk_response(out, len, &r) == VEIL_DNS_OK &&
	      (r.flags & VEIL_DNS_F_TC) && r.ancount == (100 - 12 - 19 - 11) / 16,
	      "a small buffer truncates as well");

	/* Refused arguments and error answers. */
	veil_dns_parse_query(dig_root, sizeof(dig_root), &q);
	a.naddrs = 1;
	CHECK(veil_dns_build_answer(dig_root, &q, &a, out, sizeof(out)) == VEIL_DNS_INVALID,
	      "addresses for an NS question are refused");
	veil_dns_parse_query(dig_noedns, sizeof(dig_noedns), &q);
	a.naddrs = 0;
	a.rcode = VEIL_DNS_RCODE_BADVERS;
	CHECK(veil_dns_build_answer(dig_noedns, &q, &a, out, sizeof(out)) == VEIL_DNS_INVALID,
	      "BADVERS without EDNS is refused");
	veil_dns_parse_query(dig_cookie, sizeof(dig_cookie), &q);
	len = veil_dns_build_answer(dig_cookie, &q, &a, out, sizeof(out));
	CHECK(len > 0 && veil_dns_walk_response(out, len, &r) == VEIL_DNS_OK &&
	      !(r.flags & VEIL_DNS_F_RCODE) && out[r.opt_off + 5] == 1,
	      "BADVERS: rcode 0 in the header, 1 in the OPT's extended bits");
	q.edns.valid = false;
	a.rcode = VEIL_DNS_RCODE_FORMERR;
	len = veil_dns_build_answer(dig_cookie, &q, &a, out, sizeof(out));
	CHECK(len > 0 && veil_dns_walk_response(out, len, &r) == VEIL_DNS_OK && !r.arcount &&
	      (r.flags & VEIL_DNS_F_RCODE) == 1, "FORMERR for a bad OPT goes out without OPT");

	veil_dns_parse_query(dig_noedns, sizeof(dig_noedns), &q);
	q.flags |= VEIL_DNS_F_CD | VEIL_DNS_F_AD;
	a.rcode = 0;
	len = veil_dns_build_answer(dig_noedns, &q, &a, out, sizeof(out));
	CHECK(len > 0 && (out[3] & 0x10) && !(out[3] & 0x20), "CD is copied, AD is not");
}

/*
 * A response as a resolver sends it: www.Example.com CNAME a.cdn.net,
 * a.cdn.net CNAME b.corp.scom, b.corp.scom A 192.0.2.1, an NS in the
 * authority section, glue and an OPT in the additional section.
 */
static void mresponse(struct msg *m, bool reversed)
{
	size_t q, t1, t2;

	mhdr(m, 0xbeef, VEIL_DNS_F_QR | VEIL_DNS_F_RD | VEIL_DNS_F_RA | VEIL_DNS_F_AD, 1, 3, 1, 2);
	q = m->n;
	mname(m, "www.Example.com");
	m16(m, VEIL_DNS_TYPE_A);
	m16(m, VEIL_DNS_CLASS_IN);
	if (!reversed) {
		mptr(m, q);
		mrr(m, VEIL_DNS_TYPE_CNAME, 300, 11);
		t1 = m->n;
		mname(m, "A.Cdn.Net");
		mptr(m, t1);
		mrr(m, VEIL_DNS_TYPE_CNAME, 200, 13);
		t2 = m->n;
		mname(m, "b.corp.scom");
		mptr(m, t2);
		mrr(m, VEIL_DNS_TYPE_A, 50, 4);
		mbytes(m, "\xc0\x00\x02\x01", 4);
	} else {
		t2 = m->n;
		mname(m, "b.corp.scom");
		mrr(m, VEIL_DNS_TYPE_A, 50, 4);
		mbytes(m, "\xc0\x00\x02\x01", 4);
		t1 = m->n;
		mname(m, "a.cdn.net");
		mrr(m, VEIL_DNS_TYPE_CNAME, 200, 2);
		mptr(m, t2);
		mptr(m, q);
		mrr(m, VEIL_DNS_TYPE_CNAME, 300, 2);
		mptr(m, t1);
	}
	mptr(m, t2 + 2);
	mrr(m, VEIL_DNS_TYPE_NS, 3600, 5);
	mlabels(m, "ns");
	mptr(m, t2 + 2);
	mname(m, "ns.corp.scom");
	mrr(m, VEIL_DNS_TYPE_A, 3600, 4);
	mbytes(m, "\xc0\x00\x02\x35", 4);
	mopt(m, 1232, 0);
}

static void test_walk(void)
{
	struct veil_dns_name nm, other;
	struct veil_dns_response r;
	struct msg m;
	size_t i;

	mresponse(&m, false);
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_OK && r.id == 0xbeef &&
	      r.ancount == 3 && r.nscount == 1 && r.arcount == 2 && r.len == m.n,
	      "a compressed response walks");
	CHECK(r.chain_len == 2 && !r.chain_more && r.chain[0].ttl == 300 && r.chain[1].ttl == 200 &&
	      r.final == r.chain[1].target, "its CNAME chain has two links");
	CHECK(veil_dns_name_unpack(m.b, m.n, r.chain[0].target, &nm) > 0 &&
	      text_is(&nm, "a.cdn.net") && veil_dns_name_unpack(m.b, m.n, r.final, &nm) > 0 &&
	      text_is(&nm, "b.corp.scom"), "the targets decompress in order");
	CHECK(r.final_a && !r.final_aaaa && r.min_ttl == 50, "the final name has A, min TTL 50");
	CHECK(r.opt_off && r.opt_len == 11 && r.question_len == 21, "OPT and question located");

	mresponse(&m, true);
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_OK && r.chain_len == 2 &&
	      veil_dns_name_unpack(m.b, m.n, r.final, &nm) > 0 && text_is(&nm, "b.corp.scom") &&
	      r.final_a && r.min_ttl == 50, "a chain out of order is followed all the same");

	mresponse(&m, false);
	m.b[2] &= ~(VEIL_DNS_F_QR >> 8);
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_PASS, "QR 0 is passed");
	mresponse(&m, false);
	m.b[m.n++] = 0;
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_MALFORMED,
	      "a byte after the last record is malformed");
	mresponse(&m, false);
	CHECK(veil_dns_walk_response(m.b, m.n - 3, &r) == VEIL_DNS_MALFORMED,
	      "a record cut short is malformed");

	/* Pointer abuse, in the first answer's owner (offset 33). */
	mhdr(&m, 1, VEIL_DNS_F_QR, 1, 1, 0, 0);
	mname(&m, "www.example.com");
	m16(&m, 1);
	m16(&m, 1);
	mptr(&m, 40);
	mrr(&m, VEIL_DNS_TYPE_A, 5, 4);
	m32(&m, 0);
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_MALFORMED, "a forward pointer is malformed");
	m.b[34] = 33;
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_MALFORMED, "a pointer to itself is malformed");
	m.b[34] = 0xff;
	m.b[33] = 0xcf;
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_MALFORMED,
	      "a pointer past the end is malformed");
	m.b[33] = 0xc0;
	m.b[34] = 2;
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_MALFORMED,
	      "a pointer into the header is malformed");
	m.b[34] = 16;
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_OK && r.ancount == 1 && !r.final_a,
	      "a pointer to a suffix (example.com) is fine, and not the question name");

	/* Two pointers pointing at each other: "x" then a pointer back to "x". */
	mhdr(&m, 1, VEIL_DNS_F_QR, 1, 1, 0, 0);
	mname(&m, "q");
	m16(&m, 1);
	m16(&m, 1);
	m8(&m, 1);
	m8(&m, 'x');
	mptr(&m, 21);
	mrr(&m, VEIL_DNS_TYPE_A, 5, 4);
	m32(&m, 0);
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_MALFORMED,
	      "a pointer back into its own name (a loop) is malformed");
	m.b[20] = 0xc0;
	m.b[21] = 22;
	m.b[22] = 0xc0;
	m.b[23] = 20;
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_MALFORMED,
	      "two pointers pointing at each other are malformed");

	/* A ladder of pointers: a name at 12, then pointers each to the previous. */
	m.n = 12;
	mname(&m, "a");
	for (i = 0; i < 40; i++)
		mptr(&m, i ? 15 + 2 * (i - 1) : 12);
	CHECK(veil_dns_name_unpack(m.b, m.n, 15 + 2 * 31, &nm) == 15 + 2 * 32 && text_is(&nm, "a"),
	      "32 pointer jumps are followed");
	CHECK(veil_dns_name_unpack(m.b, m.n, 15 + 2 * 32, &nm) == VEIL_DNS_MALFORMED,
	      "33 pointer jumps are malformed");

	/* 128 labels and names over 255 bytes built from pointers. */
	m.n = 12;
	for (i = 0; i < 128; i++)
		mlabels(&m, "z");
	m8(&m, 0);
	CHECK(veil_dns_name_unpack(m.b, m.n, 12, &nm) == VEIL_DNS_MALFORMED &&
	      veil_dns_name_unpack(m.b, m.n, 14, &nm) == (int)m.n && nm.labels == 127,
	      "128 labels are malformed, 127 are not");
	i = m.n;
	mlabels(&m, "yy");
	mptr(&m, 14);
	CHECK(veil_dns_name_unpack(m.b, m.n, i, &nm) == VEIL_DNS_MALFORMED,
	      "a label then a pointer adding up to 258 bytes is malformed");
	i = m.n;
	mlabels(&m, "y");
	mptr(&m, 16);
	CHECK(veil_dns_name_unpack(m.b, m.n, i, &nm) == (int)m.n && nm.len == 255,
	      "one adding up to 255 bytes is fine");

	veil_dns_zone_from_text("b.corp.scom", 11, &other, NULL);
	mresponse(&m, false);
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_OK &&
	      veil_dns_name_unpack(m.b, m.n, r.final, &nm) > 0 &&
	      veil_dns_name_in_zone(&nm, &other), "a chain target can be tested against a zone");
}

/* A chain of @links CNAMEs: c0.example CNAME c1.example ... (loop: back to c0). */
static void mchain(struct msg *m, unsigned int links, bool loop)
{
	char name[32];
	unsigned int i;

	mhdr(m, 9, VEIL_DNS_F_QR, 1, links, 0, 0);
	mname(m, "c0.example");
	m16(m, 1);
	m16(m, 1);
	for (i = 0; i < links; i++) {
		snprintf(name, sizeof(name), "c%u.example", i);
		mname(m, name);
		snprintf(name, sizeof(name), "c%u.example", loop && i == links - 1 ? 0 : i + 1);
		mrr(m, VEIL_DNS_TYPE_CNAME, 100 - i, strlen(name) + 2);
		mname(m, name);
	}
}

static void test_chains(void)
{
	struct veil_dns_response r;
	struct veil_dns_name nm;
	struct msg m;

	mchain(&m, 8, false);
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_OK && r.chain_len == 8 &&
	      !r.chain_more && veil_dns_name_unpack(m.b, m.n, r.final, &nm) > 0 &&
	      text_is(&nm, "c8.example") && r.min_ttl == 93, "a chain of 8 links is followed");
	mchain(&m, 10, false);
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_OK && r.chain_len == 8 &&
	      r.chain_more, "a chain of 10 stops at 8, saying there is more");
	mchain(&m, 2, true);
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_OK && r.chain_len == 8 &&
	      r.chain_more, "a CNAME loop stops at the bound");

	mchain(&m, 1, false);
	m.b[m.n - 1] = 1;
	m.b[m.n++] = 0;
	m.b[m.n - 13 - 11 + 9] = 13;
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_MALFORMED,
	      "a CNAME target that does not fill its RDATA is malformed");

	mhdr(&m, 1, VEIL_DNS_F_QR, 1, 1, 0, 0);
	mname(&m, "q");
	m16(&m, 1);
	m16(&m, 1);
	mptr(&m, 12);
	mrr(&m, VEIL_DNS_TYPE_A, 5, 5);
	m32(&m, 0);
	m8(&m, 0);
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_MALFORMED,
	      "an A record of 5 bytes is malformed");

	mhdr(&m, 1, VEIL_DNS_F_QR, 1, 1, 0, 0);
	mname(&m, "WWW.corp.SCOM");
	m16(&m, 1);
	m16(&m, 1);
	mname(&m, "www.CORP.scom");
	mrr(&m, VEIL_DNS_TYPE_A, 5, 4);
	m32(&m, 0);
	CHECK(veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_OK && r.final_a && !r.chain_len,
	      "owners match the question whatever their case");
	CHECK(!veil_dns_direct_answer(m.b, m.n),
	      "an answer owned by an uncompressed name is left to the walk");

	mhdr(&m, 1, VEIL_DNS_F_QR, 1, 1, 0, 0);
	mname(&m, "www.example");
	m16(&m, 1);
	m16(&m, 1);
	mptr(&m, 12);
	mrr(&m, VEIL_DNS_TYPE_A, 5, 4);
	m32(&m, 0);
	CHECK(veil_dns_direct_answer(m.b, m.n) &&
	      veil_dns_walk_response(m.b, m.n, &r) == VEIL_DNS_OK && !r.chain_len,
	      "an A record for the question is a direct answer, with no chain");
	CHECK(!veil_dns_direct_answer(m.b, m.n - 13),
	      "a direct answer needs the first record's type in the message");
	m.b[7] = 0;
	CHECK(!veil_dns_direct_answer(m.b, m.n), "no answer records: not a direct answer");
	mchain(&m, 1, false);
	CHECK(!veil_dns_direct_answer(m.b, m.n), "a CNAME first is never a direct answer");
	m.b[12] = 0xc0;
	CHECK(!veil_dns_direct_answer(m.b, m.n), "nor is a question with a pointer");
}

static void test_rewrite(void)
{
	struct veil_dns_name zone = zone_of("corp.scom"), nm, t;
	struct veil_dns_answer a = { 0 };
	struct veil_dns_response r, r2;
	struct msg m;
	u8 out[2048], many[16 * 40];
	size_t pos, rdata;
	u16 type, rdlen;
	u32 ttl;
	int len, i, e;
	bool same = true;

	mresponse(&m, false);
	veil_dns_walk_response(m.b, m.n, &r);
	a.addrs = addr4;
	a.naddrs = 2;
	a.ttl = 30;
	len = veil_dns_build_cname_answer(m.b, m.n, &r, 2, &a, out, sizeof(out));
	CHECK(len > 0 && veil_dns_walk_response(out, len, &r2) == VEIL_DNS_OK,
	      "a rewritten response walks");
	CHECK(r2.id == r.id && r2.flags == (r.flags & ~VEIL_DNS_F_AD) &&
	      !memcmp(out + 12, m.b + 12, r.question_len), "ID, flags (AD cleared) and question kept");
	for (i = 0; i < 2; i++) {
		veil_dns_name_unpack(m.b, m.n, r.chain[i].target, &nm);
		veil_dns_name_unpack(out, len, r2.chain[i].target, &t);
		same &= veil_dns_name_equal(&nm, &t) && r2.chain[i].ttl == r.chain[i].ttl;
	}
	CHECK(r2.chain_len == 2 && same, "the chain comes back link by link with its TTLs");
	CHECK(r2.ancount == 4 && !r2.nscount && r2.arcount == 1 && r2.final_a && r2.min_ttl == 30,
	      "two CNAMEs, then the two secure addresses with TTL 30");
	pos = r2.chain[1].target;
	e = veil_dns_name_unpack(out, len, pos, &nm);
	skip_rr(out, len, (pos = e, &pos), &type, &rdata, &rdlen, &ttl);
	CHECK(type == VEIL_DNS_TYPE_A && !memcmp(out + rdata, addr4, 4) && out[e] == 0xc0,
	      "the first address follows, its owner a pointer to the last target");
	CHECK(memmem(out, len, "\001A\003Cdn\003Net", 11) != NULL,
	      "targets keep their original case");
	CHECK(out[r2.opt_off + 3] == 0x04 && out[r2.opt_off + 4] == 0xd0, "the OPT is kept");
	CHECK(len < (int)m.n + 16, "names are compressed against those already written");

	a.naddrs = 1;
	len = veil_dns_build_cname_answer(m.b, m.n, &r, 0, &a, out, sizeof(out));
	CHECK(len > 0 && veil_dns_walk_response(out, len, &r2) == VEIL_DNS_OK && !r2.chain_len &&
	      r2.ancount == 1 && r2.final_a, "keeping no link answers the question name itself");

	a.naddrs = 0;
	a.rcode = VEIL_DNS_RCODE_NXDOMAIN;
	a.zone = &zone;
	a.soa = &soa;
	len = veil_dns_build_cname_answer(m.b, m.n, &r, 2, &a, out, sizeof(out));
	CHECK(len > 0 && veil_dns_walk_response(out, len, &r2) == VEIL_DNS_OK &&
	      (r2.flags & VEIL_DNS_F_RCODE) == 3 && r2.chain_len == 2 && r2.ancount == 2 &&
	      r2.nscount == 1 && !r2.final_a, "NXDOMAIN after the chain, with the SOA");
	pos = r2.chain[1].target;
	pos = veil_dns_name_unpack(out, len, pos, &nm);
	e = veil_dns_name_unpack(out, len, pos, &nm);
	CHECK(e == (int)pos + 2 && veil_dns_name_equal(&nm, &zone),
	      "the SOA's owner is the zone, a pointer into the target");
	skip_rr(out, len, &pos, &type, &rdata, &rdlen, &ttl);
	CHECK(type == VEIL_DNS_TYPE_SOA && ttl == 60 &&
	      veil_dns_name_unpack(out, len, rdata, &nm) > 0 && text_is(&nm, "ns.corp.scom"),
	      "the SOA names ns.corp.scom");

	/* Truncation and refusals. */
	memset(many, 9, sizeof(many));
	a.rcode = 0;
	a.addrs = many;
	a.naddrs = 40;
	len = veil_dns_build_cname_answer(m.b, m.n, &r, 2, &a, out, sizeof(out));
	CHECK(len > 0 && len <= 512 && veil_dns_walk_response(out, len, &r2) == VEIL_DNS_OK &&
	      (r2.flags & VEIL_DNS_F_TC) && r2.chain_len == 2 && r2.ancount < 40,
	      "addresses over the limit are left out with TC");
	a.limit = 1232;
	len = veil_dns_build_cname_answer(m.b, m.n, &r, 2, &a, out, sizeof(out));
	CHECK(len > 512 && veil_dns_walk_response(out, len, &r2) == VEIL_DNS_OK &&
	      !(r2.flags & VEIL_DNS_F_TC) && r2.ancount == 42, "a larger limit takes them all");
	CHECK(veil_dns_build_cname_answer(m.b, m.n, &r, 3, &a, out, sizeof(out)) == VEIL_DNS_INVALID,
	      "keeping more links than the chain has is refused");
	CHECK(veil_dns_build_cname_answer(m.b, m.n, &r, 2, &a, out, 60) == VEIL_DNS_NOSPACE,
	      "a buffer too small for the chain is refused");

	mchain(&m, 8, false);
	veil_dns_walk_response(m.b, m.n, &r);
	a.addrs = addr4;
	a.naddrs = 1;
	a.limit = 0;
	len = veil_dns_build_cname_answer(m.b, m.n, &r, 8, &a, out, sizeof(out));
	CHECK(len > 0 && veil_dns_walk_response(out, len, &r2) == VEIL_DNS_OK &&
	      r2.chain_len == 8 && r2.final_a && veil_dns_name_unpack(out, len, r2.final, &nm) > 0 &&
	      text_is(&nm, "c8.example"), "a chain of 8 round-trips");
}

static void test_zones(void)
{
	struct veil_dns_name z = zone_of("corp.scom"), nm;
	const char *why = NULL;
	char text[300];

	CHECK(veil_dns_name_in_zone(&z, &z), "a zone holds its apex");
	nm = zone_of("a.Corp.SCOM");
	CHECK(veil_dns_name_in_zone(&nm, &z), "and names below it, in any case");
	nm = zone_of("xcorp.scom");
	CHECK(!veil_dns_name_in_zone(&nm, &z), "not xcorp.scom");
	nm = zone_of("scom");
	CHECK(!veil_dns_name_in_zone(&nm, &z), "not its parent");
	nm = zone_of("corp.scom.evil");
	CHECK(!veil_dns_name_in_zone(&nm, &z), "not a name with it as a prefix");
	nm = zone_of(".");
	CHECK(veil_dns_name_in_zone(&z, &nm) && !veil_dns_name_in_zone(&nm, &z),
	      "the root holds every name");
	nm = zone_of("CORP.scom.");
	CHECK(veil_dns_name_equal(&nm, &z), "a final dot and letter case do not matter");

	CHECK(veil_dns_zone_from_text("", 0, &nm, &why) == VEIL_DNS_INVALID && why,
	      "an empty zone name is refused");
	CHECK(veil_dns_zone_from_text("a..b", 4, &nm, &why) == VEIL_DNS_INVALID &&
	      !strcmp(why, "empty label"), "an empty label is refused");
	CHECK(veil_dns_zone_from_text("a b.c", 5, &nm, &why) == VEIL_DNS_INVALID &&
	      strstr(why, "letters"), "a space is refused");
	CHECK(veil_dns_zone_from_text("-a.c", 4, &nm, &why) == VEIL_DNS_INVALID &&
	      strstr(why, "'-'"), "a leading hyphen is refused");
	CHECK(veil_dns_zone_from_text("_srv.x-y.c", 10, &nm, NULL) == 0 && nm.labels == 3,
	      "underscores and inner hyphens are fine");
	memset(text, 'a', 64);
	CHECK(veil_dns_zone_from_text(text, 63, &nm, NULL) == 0 && nm.len == 65 &&
	      veil_dns_zone_from_text(text, 64, &nm, &why) == VEIL_DNS_INVALID,
	      "labels up to 63 characters");
	memset(text, 'a', 254);
	text[63] = text[127] = text[191] = '.';
	CHECK(veil_dns_zone_from_text(text, 253, &nm, NULL) == 0 && nm.len == 255 &&
	      veil_dns_zone_from_text(text, 254, &nm, &why) == VEIL_DNS_INVALID,
	      "253 characters at most");
	CHECK(veil_dns_zone_from_text("a.b\0c", 5, &nm, &why) == VEIL_DNS_INVALID,
	      "a NUL inside the length is refused");

	nm = zone_of("Corp.Scom");
	CHECK(veil_dns_name_to_text(&nm, text, sizeof(text)) == 9 && !strcmp(text, "corp.scom"),
	      "presentation form round-trips, case-folded");
	CHECK(veil_dns_name_to_text(&nm, text, 9) == VEIL_DNS_NOSPACE && !text[0],
	      "a buffer one byte short is refused");
}

int main(void)
{
	ktap_plan(140);
	test_dig_queries();
	test_query_names();
	test_query_refused();
	test_question_name();
	test_query_edns();
	test_answers();
	test_walk();
	test_chains();
	test_rewrite();
	test_zones();
	return ktap_done_totals();
}
