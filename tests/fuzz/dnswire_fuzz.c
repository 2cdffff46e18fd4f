// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for kmod/dnswire.c. The first input byte picks the entry
 * point, the rest is the packet or text:
 *
 *   0  veil_dns_parse_query, then veil_dns_build_answer in the shapes the
 *      input's last byte selects, each answer walked back
 *   1  veil_dns_walk_response, then veil_dns_build_cname_answer for every
 *      number of kept links, each rewrite walked back
 *   2  veil_dns_zone_from_text, veil_dns_name_to_text, back again
 *   3  veil_dns_name_unpack at every offset, veil_dns_name_to_text
 *
 * Besides the sanitizers, invariants abort: a built message must walk
 * cleanly and say what it was built to say.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnswire.h"

#define OUT_MAX 65535

static u8 out[OUT_MAX];
static u8 copy[OUT_MAX];

#define ASSERT(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();					\
		}							\
	} while (0)

static const u8 addrs[16 * 40];
static const struct veil_dns_soa soa = { 1, 3600, 600, 86400, 30, 30 };

/* The hook's first look finds the name the full parse reads, or none. */
static void question_agrees(const u8 *pkt, size_t len, const struct veil_dns_query *q)
{
	unsigned int labels, name_len, i, pos;
	int st = veil_dns_question_name(pkt, len, &labels, &name_len);

	ASSERT((st == VEIL_DNS_OK) == (q->name.len != 0));
	if (st != VEIL_DNS_OK)
		return;
	ASSERT(labels == q->name.labels && name_len == q->name.len);
	/* The hook walks the labels again without bounds checks. */
	for (i = 0, pos = 0; i < labels; i++, pos += 1 + pkt[VEIL_DNS_HDR_LEN + pos])
		ASSERT(pos == q->name.off[i] && VEIL_DNS_HDR_LEN + pos < len);
	ASSERT(pos + 1 == name_len && !pkt[VEIL_DNS_HDR_LEN + pos]);
}

static void fuzz_query(const u8 *pkt, size_t len, u8 knob)
{
	static const u16 rcodes[] = { 0, 3, 2, 1, 5, 16 };
	struct veil_dns_answer a = { 0 };
	struct veil_dns_response r;
	struct veil_dns_name zone;
	struct veil_dns_query q;
	size_t size, start;
	int n, st;

	st = veil_dns_parse_query(pkt, len, &q);
	question_agrees(pkt, len, &q);
	if (st != VEIL_DNS_OK)
		return;
	ASSERT(q.len == len && q.question_len >= q.name.len + 4);
	ASSERT(q.name.len >= 1 && q.name.len <= VEIL_DNS_NAME_MAX);

	/* The zone: the question's last (knob % 4) labels. */
	n = q.name.labels < (knob & 3) ? q.name.labels : (knob & 3);
	start = n ? q.name.off[q.name.labels - n] : q.name.len - 1u;
	zone.len = q.name.len - start;
	zone.labels = n;
	memcpy(zone.wire, q.name.wire + start, zone.len);
	for (int i = 0; i < n; i++)
		zone.off[i] = q.name.off[q.name.labels - n + i] - start;
	ASSERT(veil_dns_name_in_zone(&q.name, &zone));

	a.rcode = rcodes[(knob >> 2) % 6];
	a.naddrs = (q.qtype == VEIL_DNS_TYPE_A || q.qtype == VEIL_DNS_TYPE_AAAA) &&
		   q.qclass == VEIL_DNS_CLASS_IN && !a.rcode ? (knob >> 5) * 5 : 0;
	a.addrs = addrs;
	a.ttl = 60;
	a.zone = &zone;
	a.soa = &soa;
	a.udp_size = 1232;
	size = knob & 0x10 ? 300 : sizeof(out);

	n = veil_dns_build_answer(pkt, &q, &a, out, size);
	if (n < 0) {
		ASSERT(n == VEIL_DNS_NOSPACE || n == VEIL_DNS_INVALID);
		ASSERT(n != VEIL_DNS_INVALID || a.rcode > 15);
		return;
	}
	ASSERT((size_t)n <= size);
	memcpy(copy, out, n);
	st = veil_dns_walk_response(copy, n, &r);
	ASSERT(st == VEIL_DNS_OK);
	ASSERT(r.id == q.id && r.qtype == q.qtype && r.question_len == q.question_len);
	ASSERT(!memcmp(copy + VEIL_DNS_HDR_LEN, pkt + VEIL_DNS_HDR_LEN, q.question_len));
	ASSERT((r.flags & VEIL_DNS_F_RCODE) == (a.rcode & 0xf));
	ASSERT(r.chain_len == 0);
	ASSERT(!(r.flags & VEIL_DNS_F_TC) == (r.ancount == a.naddrs));
	ASSERT(!!r.opt_off == (q.edns.present && q.edns.valid));
	if (a.naddrs && !(r.flags & VEIL_DNS_F_TC) && q.qclass == VEIL_DNS_CLASS_IN)
		ASSERT(q.qtype == VEIL_DNS_TYPE_A ? r.final_a : r.final_aaaa);
	if (q.edns.present && q.edns.valid)
		ASSERT((size_t)n <= (q.edns.udp_size < 1232 ? q.edns.udp_size : 1232));
	else
		ASSERT(n <= VEIL_DNS_UDP_MIN);
}

static void fuzz_response(const u8 *pkt, size_t len, u8 knob)
{
	struct veil_dns_answer a = { 0 };
	struct veil_dns_response r, r2;
	struct veil_dns_name name, zone;
	unsigned int links, i;
	bool direct;
	int n, st;

	direct = veil_dns_direct_answer(pkt, len);
	st = veil_dns_walk_response(pkt, len, &r);
	if (st != VEIL_DNS_OK)
		return;
	ASSERT(r.len == len && r.chain_len <= VEIL_DNS_CHAIN_MAX);
	/* A direct answer's first record belongs to the question name. */
	ASSERT(!direct || r.ancount);
	for (i = 0; i < r.chain_len; i++)
		ASSERT(veil_dns_name_unpack(pkt, len, r.chain[i].target, &name) > 0);
	ASSERT(veil_dns_name_unpack(pkt, len, r.final, &name) > 0);

	for (links = 0; links <= r.chain_len; links++) {
		if (links)
			veil_dns_name_unpack(pkt, len, r.chain[links - 1].target, &name);
		else
			veil_dns_name_unpack(pkt, len, VEIL_DNS_HDR_LEN, &name);
		zone = name;
		a.rcode = knob & 1 ? VEIL_DNS_RCODE_NXDOMAIN : 0;
		a.naddrs = (r.qtype == VEIL_DNS_TYPE_A || r.qtype == VEIL_DNS_TYPE_AAAA) &&
			   r.qclass == VEIL_DNS_CLASS_IN && !a.rcode ? (knob >> 1) % 8 : 0;
		a.addrs = addrs;
		a.ttl = 30;
		a.zone = &zone;
		a.soa = &soa;
		a.limit = knob & 0x80 ? 0 : 4096;
		n = veil_dns_build_cname_answer(pkt, len, &r, links, &a, out, sizeof(out));
		if (n < 0) {
			ASSERT(n == VEIL_DNS_NOSPACE);
			continue;
		}
		st = veil_dns_walk_response(out, n, &r2);
		ASSERT(st == VEIL_DNS_OK);
		ASSERT(r2.id == r.id && r2.question_len == r.question_len);
		ASSERT(!memcmp(out + VEIL_DNS_HDR_LEN, pkt + VEIL_DNS_HDR_LEN, r.question_len));
		/* The kept chain is found again, link by link. */
		ASSERT(r2.chain_len >= links);
		for (i = 0; i < links; i++) {
			veil_dns_name_unpack(pkt, len, r.chain[i].target, &zone);
			veil_dns_name_unpack(out, n, r2.chain[i].target, &name);
			ASSERT(veil_dns_name_equal(&zone, &name));
			ASSERT(r2.chain[i].ttl == r.chain[i].ttl);
		}
		ASSERT(r2.ancount == links + a.naddrs || (r2.flags & VEIL_DNS_F_TC));
		ASSERT(!!r2.opt_off == !!r.opt_off);
	}
}

static void fuzz_text(const u8 *data, size_t len)
{
	char text[VEIL_DNS_TEXT_MAX], small[16];
	struct veil_dns_name z, z2;
	const char *why = NULL;
	int n;

	if (veil_dns_zone_from_text((const char *)data, len, &z, &why)) {
		ASSERT(why && z.len == 1);
		return;
	}
	ASSERT(z.len <= VEIL_DNS_NAME_MAX && z.len >= 1);
	n = veil_dns_name_to_text(&z, text, sizeof(text));
	ASSERT(n > 0 && (size_t)n == strlen(text));
	ASSERT(!veil_dns_zone_from_text(text, n, &z2, &why));
	ASSERT(veil_dns_name_equal(&z, &z2) && veil_dns_name_in_zone(&z, &z2));
	n = veil_dns_name_to_text(&z, small, sizeof(small));
	ASSERT(n == VEIL_DNS_NOSPACE || (size_t)n == strlen(small));
}

static void fuzz_names(const u8 *pkt, size_t len)
{
	char text[VEIL_DNS_TEXT_MAX];
	struct veil_dns_name name;
	size_t off;
	int n;

	for (off = 0; off < len && off < 512; off++) {
		n = veil_dns_name_unpack(pkt, len, off, &name);
		if (n < 0)
			continue;
		ASSERT((size_t)n > off && (size_t)n <= len);
		ASSERT(name.len <= VEIL_DNS_NAME_MAX && name.labels <= VEIL_DNS_LABELS_MAX);
		n = veil_dns_name_to_text(&name, text, sizeof(text));
		ASSERT(n > 0 && (size_t)n < sizeof(text));
		ASSERT(veil_dns_name_in_zone(&name, &name));
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	u8 *pkt;
	size_t len;
	u8 knob;

	if (size < 1)
		return 0;
	len = size - 1;
	knob = len ? data[size - 1] : 0;
	/* An exact-size heap copy, so ASan sees any read past the end. */
	pkt = malloc(len ? len : 1);
	if (!pkt)
		return 0;
	memcpy(pkt, data + 1, len);
	switch (data[0] & 3) {
	case 0:
		fuzz_query(pkt, len, knob);
		break;
	case 1:
		fuzz_response(pkt, len, knob);
		break;
	case 2:
		fuzz_text(pkt, len);
		break;
	default:
		fuzz_names(pkt, len);
		break;
	}
	free(pkt);
	return 0;
}
