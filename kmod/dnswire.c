// SPDX-License-Identifier: GPL-2.0
/*
 * DNS wire format (RFC 1035, 2181, 2308, 6891) for the DNS interception.
 * No allocation, no recursion: every loop is bounded by the packet length,
 * by VEIL_DNS_JUMPS_MAX, VEIL_DNS_CHAIN_MAX or VEIL_DNS_RR_MAX.
 */
#ifdef __KERNEL__
#include <linux/string.h>
#else
#include <string.h>
#endif

#include "dnswire.h"

/* Name offsets written into the answer that later names may point to. */
#define VEIL_DNS_COMPRESS_MAX	32
/* Largest offset a compression pointer can hold. */
#define VEIL_DNS_PTR_LIMIT	0x3fff
#define VEIL_DNS_OPT_LEN	11
#define VEIL_DNS_RR_FIXED	10

static u16 get16(const u8 *p)
{
	return (u16)(p[0] << 8 | p[1]);
}

static u32 get32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static void put16(u8 *p, u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(u8 *p, u32 v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/* RFC 2181 8: a TTL with the top bit set counts as zero. */
static u32 ttl_value(u32 ttl)
{
	return ttl > 0x7fffffff ? 0 : ttl;
}

/*
 * Reading a name label by label. A compression pointer must point at or
 * after the header and strictly before the start of the run of labels that
 * holds it, so every jump goes further back and no pointer can loop; the
 * jump count is bounded as well.
 */
struct name_cursor {
	const u8 *pkt;
	size_t len;
	size_t pos;
	size_t run;	/* where the current run of labels began */
	size_t end;	/* just past the name where it sits; 0 until known */
	unsigned int jumps;
	unsigned int total;	/* wire length so far, root excluded */
	bool ptr_ok;
};

static void cursor_init(struct name_cursor *c, const u8 *pkt, size_t len, size_t off,
			bool ptr_ok)
{
	c->pkt = pkt;
	c->len = len;
	c->pos = off;
	c->run = off;
	c->end = 0;
	c->jumps = 0;
	c->total = 0;
	c->ptr_ok = ptr_ok;
}

/* The next label: its length (1..63) with *label set, 0 at the root, < 0 if bad. */
static int cursor_next(struct name_cursor *c, const u8 **label)
{
	size_t target;
	u8 b;

	for (;;) {
		if (c->pos >= c->len)
			return VEIL_DNS_MALFORMED;
		b = c->pkt[c->pos];
		if ((b & 0xc0) == 0xc0) {
			if (!c->ptr_ok || c->pos + 1 >= c->len)
				return VEIL_DNS_MALFORMED;
			target = (size_t)(b & 0x3f) << 8 | c->pkt[c->pos + 1];
			if (target < VEIL_DNS_HDR_LEN || target >= c->run ||
			    ++c->jumps > VEIL_DNS_JUMPS_MAX)
				return VEIL_DNS_MALFORMED;
			if (!c->end)
				c->end = c->pos + 2;
			c->pos = target;
			c->run = target;
			continue;
		}
		if (b & 0xc0)	/* 0x40 and 0x80: extended label types, obsolete */
			return VEIL_DNS_MALFORMED;
		if (b == 0) {
			if (!c->end)
				c->end = c->pos + 1;
			return 0;
		}
		if (c->pos + 1 + b > c->len || c->total + 1 + b + 1 > VEIL_DNS_NAME_MAX)
			return VEIL_DNS_MALFORMED;
		*label = c->pkt + c->pos + 1;
		c->total += 1 + b;
		c->pos += 1 + b;
		return b;
	}
}

/* Read the name at @off into @name (NULL: only check it). Returns its end. */
static int name_read(const u8 *pkt, size_t len, size_t off, struct veil_dns_name *name,
		     bool ptr_ok, bool lower)
{
	struct name_cursor c;
	const u8 *label = NULL;
	unsigned int n = 0, i;
	int l;

	cursor_init(&c, pkt, len, off, ptr_ok);
	while ((l = cursor_next(&c, &label)) > 0) {
		if (name) {
			name->off[n] = c.total - 1 - l;
			name->wire[c.total - 1 - l] = l;
			for (i = 0; i < (unsigned int)l; i++)
				name->wire[c.total - l + i] = lower ? veil_dns_fold(label[i]) : label[i];
		}
		n++;
	}
	if (l < 0)
		return l;
	if (name) {
		name->wire[c.total] = 0;
		name->len = c.total + 1;
		name->labels = n;
	}
	return c.end;
}

/*
 * Does the name at @off in @pkt equal @name from label @from on? Letter
 * case is ignored on both sides.
 */
static bool name_match(const u8 *pkt, size_t len, size_t off, const struct veil_dns_name *name,
		       unsigned int from)
{
	struct name_cursor c;
	const u8 *label = NULL, *want;
	unsigned int i, k;
	int l;

	cursor_init(&c, pkt, len, off, true);
	for (i = from; i < name->labels; i++) {
		want = name->wire + name->off[i];
		l = cursor_next(&c, &label);
		if (l <= 0 || l != want[0])
			return false;
		for (k = 0; k < (unsigned int)l; k++)
			if (veil_dns_fold(label[k]) != veil_dns_fold(want[1 + k]))
				return false;
	}
	return cursor_next(&c, &label) == 0;
}

int veil_dns_name_unpack(const u8 *pkt, size_t len, size_t off, struct veil_dns_name *name)
{
	if (len > 0xffff)
		return VEIL_DNS_MALFORMED;
	return name_read(pkt, len, off, name, true, true);
}

bool veil_dns_name_equal(const struct veil_dns_name *a, const struct veil_dns_name *b)
{
	unsigned int i;

	if (a->len != b->len || a->labels != b->labels)
		return false;
	for (i = 0; i < a->len && i < VEIL_DNS_NAME_MAX; i++)
		if (veil_dns_fold(a->wire[i]) != veil_dns_fold(b->wire[i]))
			return false;
	return true;
}

bool veil_dns_name_in_zone(const struct veil_dns_name *name, const struct veil_dns_name *zone)
{
	unsigned int start, i;

	if (zone->labels > name->labels || zone->len > name->len)
		return false;
	if (!zone->labels)
		return true;
	start = name->off[name->labels - zone->labels];
	if (name->len - start != zone->len)
		return false;
	for (i = 0; i < zone->len; i++)
		if (veil_dns_fold(name->wire[start + i]) != veil_dns_fold(zone->wire[i]))
			return false;
	return true;
}

static bool zone_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int veil_dns_zone_from_text(const char *text, size_t len, struct veil_dns_name *zone,
			    const char **why)
{
	const char *reason = NULL;
	size_t i, start = 0, l, w = 0;

	zone->labels = 0;
	if (len == 1 && text[0] == '.')
		goto done;
	if (len && text[len - 1] == '.')
		len--;
	if (!len)
		reason = "empty name";
	else if (len > VEIL_DNS_ZONE_TEXT_MAX)
		reason = "name longer than 253 characters";
	for (i = 0; !reason && i <= len; i++) {
		if (i < len && text[i] != '.') {
			if (!zone_char(text[i]))
				reason = "only letters, digits, '-' and '_' are allowed";
			continue;
		}
		l = i - start;
		if (!l)
			reason = "empty label";
		else if (l > VEIL_DNS_LABEL_MAX)
			reason = "label longer than 63 characters";
		else if (text[start] == '-' || text[i - 1] == '-')
			reason = "label starts or ends with '-'";
		if (reason)
			break;
		zone->off[zone->labels++] = w;
		zone->wire[w++] = l;
		while (start < i)
			zone->wire[w++] = veil_dns_fold(text[start++]);
		start = i + 1;
	}
	if (reason) {
		zone->len = 1;
		zone->labels = 0;
		zone->wire[0] = 0;
		if (why)
			*why = reason;
		return VEIL_DNS_INVALID;
	}
done:
	zone->wire[w++] = 0;
	zone->len = w;
	return 0;
}

int veil_dns_name_to_text(const struct veil_dns_name *name, char *buf, size_t size)
{
	static const char digits[] = "0123456789";
	size_t o = 0, p, need;
	unsigned int i, l;
	u8 c;

	if (!size)
		return VEIL_DNS_NOSPACE;
	buf[0] = 0;
	if (!name->labels) {
		if (size < 2)
			return VEIL_DNS_NOSPACE;
		buf[0] = '.';
		buf[1] = 0;
		return 1;
	}
	for (i = 0; i < name->labels; i++) {
		p = name->off[i];
		if (p >= VEIL_DNS_NAME_MAX)
			goto nospace;
		l = name->wire[p];
		if (i) {
			if (o + 1 >= size)
				goto nospace;
			buf[o++] = '.';
		}
		for (p++; l && p < VEIL_DNS_NAME_MAX; l--, p++) {
			c = name->wire[p];
			need = c == '.' || c == '\\' ? 2 : c < 0x21 || c > 0x7e ? 4 : 1;
			if (o + need >= size)
				goto nospace;
			if (need == 4) {
				buf[o++] = '\\';
				buf[o++] = digits[c / 100];
				buf[o++] = digits[c / 10 % 10];
				buf[o++] = digits[c % 10];
			} else {
				if (need == 2)
					buf[o++] = '\\';
				buf[o++] = c;
			}
		}
	}
	buf[o] = 0;
	return o;
nospace:
	buf[0] = 0;
	return VEIL_DNS_NOSPACE;
}

/* The fixed part of a resource record, after its owner name. */
struct rr_head {
	u16 type;
	u16 class;
	u32 ttl;
	u16 rdlen;
	size_t rdata;
};

/* Read the record at *pos; on success *pos is past it. */
static int rr_read(const u8 *pkt, size_t len, size_t *pos, struct rr_head *rr)
{
	int end = name_read(pkt, len, *pos, NULL, true, false);
	size_t p;

	if (end < 0)
		return end;
	p = end;
	if (p + VEIL_DNS_RR_FIXED > len)
		return VEIL_DNS_MALFORMED;
	rr->type = get16(pkt + p);
	rr->class = get16(pkt + p + 2);
	rr->ttl = get32(pkt + p + 4);
	rr->rdlen = get16(pkt + p + 8);
	rr->rdata = p + VEIL_DNS_RR_FIXED;
	if (rr->rdata + rr->rdlen > len)
		return VEIL_DNS_MALFORMED;
	*pos = rr->rdata + rr->rdlen;
	return 0;
}

/* Options must fill an OPT record's RDATA exactly. */
static bool opt_options_ok(const u8 *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (n - i < 4 || get16(p + i + 2) > n - i - 4)
			return false;
		i += 4 + get16(p + i + 2);
	}
	return true;
}

int veil_dns_parse_query(const u8 *pkt, size_t len, struct veil_dns_query *q)
{
	u16 qdcount, ancount, nscount, arcount, i;
	bool other = false;
	struct rr_head rr;
	size_t pos, rr_off;
	int end;

	memset(q, 0, sizeof(*q));
	if (len < VEIL_DNS_HDR_LEN || len > 0xffff)
		return VEIL_DNS_MALFORMED;
	q->id = get16(pkt);
	q->flags = get16(pkt + 2);
	qdcount = get16(pkt + 4);
	ancount = get16(pkt + 6);
	nscount = get16(pkt + 8);
	arcount = get16(pkt + 10);
	q->qname_off = VEIL_DNS_HDR_LEN;
	if ((q->flags & VEIL_DNS_F_QR) || (q->flags & VEIL_DNS_F_OPCODE) || !qdcount)
		return VEIL_DNS_PASS;
	if (qdcount > 1)
		return VEIL_DNS_MALFORMED;

	end = name_read(pkt, len, VEIL_DNS_HDR_LEN, &q->name, false, true);
	if (end < 0 || (size_t)end + 4 > len) {
		q->name.len = 0;
		return VEIL_DNS_MALFORMED;
	}
	pos = end;
	q->qtype = get16(pkt + pos);
	q->qclass = get16(pkt + pos + 2);
	pos += 4;
	q->question_len = pos - VEIL_DNS_HDR_LEN;
	if (ancount || nscount)
		return VEIL_DNS_PASS;
	if (arcount > VEIL_DNS_RR_MAX)
		return VEIL_DNS_MALFORMED;

	for (i = 0; i < arcount; i++) {
		rr_off = pos;
		if (rr_read(pkt, len, &pos, &rr))
			return VEIL_DNS_MALFORMED;
		if (rr.type != VEIL_DNS_TYPE_OPT) {
			other = true;
			continue;
		}
		if (q->edns.present) {
			/* RFC 6891 6.1.1: more than one OPT is a format error. */
			q->edns.valid = false;
			continue;
		}
		q->edns.present = true;
		q->edns.valid = pkt[rr_off] == 0 && rr.rdata == rr_off + 1 + VEIL_DNS_RR_FIXED &&
				opt_options_ok(pkt + rr.rdata, rr.rdlen);
		q->edns.udp_size = rr.class < VEIL_DNS_UDP_MIN ? VEIL_DNS_UDP_MIN : rr.class;
		q->edns.version = (rr.ttl >> 16) & 0xff;
		q->edns.do_bit = rr.ttl & VEIL_DNS_EDNS_DO;
		q->edns.opt_off = rr_off;
		q->edns.opt_len = pos - rr_off;
	}
	if (pos != len)
		return VEIL_DNS_MALFORMED;
	q->len = pos;
	return other ? VEIL_DNS_PASS : VEIL_DNS_OK;
}

/*
 * Writing names with compression: every label written uncompressed (and
 * the question's) is remembered with the number of labels from it to the
 * root, so a later name whose suffix has that many labels needs one
 * comparison per remembered offset to find a pointer target. Pointers only
 * ever go to names this code wrote, earlier in the message.
 */
struct compress {
	unsigned int n;
	u16 off[VEIL_DNS_COMPRESS_MAX];
	u8 labels[VEIL_DNS_COMPRESS_MAX];
};

static void compress_add(struct compress *z, size_t off, unsigned int labels)
{
	if (z->n < VEIL_DNS_COMPRESS_MAX && off <= VEIL_DNS_PTR_LIMIT && labels) {
		z->off[z->n] = off;
		z->labels[z->n] = labels;
		z->n++;
	}
}

/*
 * Write @name at *pos, not beyond @end, as its first labels and a pointer
 * to the longest suffix already written. *ref gets an offset where the
 * whole name can be found afterwards (for pointers to it).
 */
static int put_name(u8 *out, size_t *pos, size_t end, const struct veil_dns_name *name,
		    struct compress *z, size_t *ref)
{
	unsigned int i, k, target = 0, cut = name->labels;
	size_t p = *pos, need;

	for (i = 0; i < name->labels && cut == name->labels; i++)
		for (k = 0; k < z->n; k++)
			if (z->labels[k] == name->labels - i &&
			    name_match(out, *pos, z->off[k], name, i)) {
				cut = i;
				target = z->off[k];
				break;
			}
	need = cut < name->labels ? name->off[cut] + 2 : name->len;
	if (p + need > end || p + need < p)
		return VEIL_DNS_NOSPACE;
	if (cut < name->labels) {
		memcpy(out + p, name->wire, name->off[cut]);
		put16(out + p + name->off[cut], 0xc000 | target);
	} else {
		memcpy(out + p, name->wire, name->len);
	}
	for (i = 0; i < cut; i++)
		compress_add(z, p + name->off[i], name->labels - i);
	*ref = cut == 0 && name->labels ? target : p;
	*pos = p + need;
	return 0;
}

static size_t rr_put_head(u8 *out, size_t p, u16 type, u32 ttl, u16 rdlen)
{
	put16(out + p, type);
	put16(out + p + 2, VEIL_DNS_CLASS_IN);
	put32(out + p + 4, ttl);
	put16(out + p + 8, rdlen);
	return p + VEIL_DNS_RR_FIXED;
}

/* A label then a pointer, or just the pointer when the name would be too long. */
static size_t put_prefixed(u8 *out, size_t p, const char *label, size_t llen, size_t ref,
			   u16 zone_len)
{
	if (zone_len + 1 + llen <= VEIL_DNS_NAME_MAX) {
		out[p++] = llen;
		memcpy(out + p, label, llen);
		p += llen;
	}
	put16(out + p, 0xc000 | ref);
	return p + 2;
}

/* Room the SOA record takes when its owner takes @owner bytes. */
static size_t soa_size(size_t owner, u16 zone_len)
{
	size_t mname = zone_len + 3 <= VEIL_DNS_NAME_MAX ? 5 : 2;
	size_t rname = zone_len + 11 <= VEIL_DNS_NAME_MAX ? 13 : 2;

	return owner + VEIL_DNS_RR_FIXED + mname + rname + 20;
}

/* The synthetic SOA of @zone; the caller checked it fits before @end. */
static int put_soa(u8 *out, size_t *pos, size_t end, const struct veil_dns_name *zone,
		   const struct veil_dns_soa *soa, struct compress *z)
{
	size_t p = *pos, ref, rdata;
	int err;

	err = put_name(out, &p, end, zone, z, &ref);
	if (err)
		return err;
	if (ref > VEIL_DNS_PTR_LIMIT || soa_size(p - *pos, zone->len) > end - *pos)
		return VEIL_DNS_NOSPACE;
	rdata = rr_put_head(out, p, VEIL_DNS_TYPE_SOA, soa->ttl, 0);
	p = put_prefixed(out, rdata, "ns", 2, ref, zone->len);
	p = put_prefixed(out, p, "hostmaster", 10, ref, zone->len);
	put32(out + p, soa->serial);
	put32(out + p + 4, soa->refresh);
	put32(out + p + 8, soa->retry);
	put32(out + p + 12, soa->expire);
	put32(out + p + 16, soa->minimum);
	p += 20;
	put16(out + rdata - 2, p - rdata);
	*pos = p;
	return 0;
}

/* Address length for the question type, 0 if addresses cannot answer it. */
static size_t addr_len(u16 qtype)
{
	return qtype == VEIL_DNS_TYPE_A ? 4 : qtype == VEIL_DNS_TYPE_AAAA ? 16 : 0;
}

static bool wants_soa(const struct veil_dns_answer *a)
{
	return !a->naddrs && a->zone && a->soa &&
	       (a->rcode == VEIL_DNS_RCODE_NOERROR || a->rcode == VEIL_DNS_RCODE_NXDOMAIN);
}

/*
 * The part both builders share, from the end of the question on: address
 * records for the name at @owner_ref (truncating), or the SOA. Returns the
 * number of address records written, or < 0.
 */
static int put_records(u8 *out, size_t *pos, size_t end, u16 qtype,
		       const struct veil_dns_answer *a, size_t owner_ref,
		       struct compress *z, bool *tc)
{
	size_t alen = addr_len(qtype), p = *pos;
	unsigned int i;
	int err;

	*tc = false;
	if (wants_soa(a)) {
		err = put_soa(out, &p, end, a->zone, a->soa, z);
		if (err)
			return err;
		*pos = p;
		return 0;
	}
	for (i = 0; i < a->naddrs; i++) {
		if (owner_ref > VEIL_DNS_PTR_LIMIT || end - p < 2 + VEIL_DNS_RR_FIXED + alen) {
			*tc = true;
			break;
		}
		put16(out + p, 0xc000 | owner_ref);
		p = rr_put_head(out, p + 2, qtype, a->ttl, alen);
		memcpy(out + p, a->addrs + i * alen, alen);
		p += alen;
	}
	*pos = p;
	return i;
}

static int check_answer(const struct veil_dns_answer *a, u16 qtype, u16 qclass, bool opt)
{
	if (a->naddrs && (!addr_len(qtype) || qclass != VEIL_DNS_CLASS_IN || !a->addrs ||
			  a->naddrs > 0xffff))
		return VEIL_DNS_INVALID;
	if (a->rcode > VEIL_DNS_RCODE_MAX || (a->rcode > 15 && !opt))
		return VEIL_DNS_INVALID;
	if (a->zone && (!a->zone->len || a->zone->len > VEIL_DNS_NAME_MAX))
		return VEIL_DNS_INVALID;
	return 0;
}

static void put_header(u8 *out, u16 id, u16 flags, u16 an, u16 ns, u16 ar)
{
	put16(out, id);
	put16(out + 2, flags);
	put16(out + 4, 1);
	put16(out + 6, an);
	put16(out + 8, ns);
	put16(out + 10, ar);
}

int veil_dns_build_answer(const u8 *pkt, const struct veil_dns_query *q,
			  const struct veil_dns_answer *a, u8 *out, size_t size)
{
	bool opt = q->edns.present && q->edns.valid, tc;
	size_t limit, end, pos, qlen = q->question_len;
	struct compress z = { 0 };
	u16 flags, srv;
	unsigned int i;
	int n;

	n = check_answer(a, q->qtype, q->qclass, opt);
	if (n)
		return n;
	if (!q->name.len || qlen < (size_t)q->name.len + 4 || qlen > VEIL_DNS_NAME_MAX + 4)
		return VEIL_DNS_INVALID;

	srv = a->udp_size < VEIL_DNS_UDP_MIN ? VEIL_DNS_UDP_MIN : a->udp_size;
	if (a->limit)
		limit = a->limit;
	else if (opt)
		limit = q->edns.udp_size < srv ? q->edns.udp_size : srv;
	else
		limit = VEIL_DNS_UDP_MIN;
	if (limit > size)
		limit = size;
	if (limit < VEIL_DNS_HDR_LEN + qlen + (opt ? VEIL_DNS_OPT_LEN : 0))
		return VEIL_DNS_NOSPACE;
	end = limit - (opt ? VEIL_DNS_OPT_LEN : 0);

	memcpy(out + VEIL_DNS_HDR_LEN, pkt + VEIL_DNS_HDR_LEN, qlen);
	pos = VEIL_DNS_HDR_LEN + qlen;
	for (i = 0; i < q->name.labels; i++)
		compress_add(&z, VEIL_DNS_HDR_LEN + q->name.off[i], q->name.labels - i);

	n = put_records(out, &pos, end, q->qtype, a, VEIL_DNS_HDR_LEN, &z, &tc);
	if (n < 0)
		return n;

	if (opt) {
		out[pos] = 0;
		put16(out + pos + 1, VEIL_DNS_TYPE_OPT);
		put16(out + pos + 3, srv);
		put32(out + pos + 5, (u32)(a->rcode >> 4) << 24 |
		      (q->edns.do_bit ? VEIL_DNS_EDNS_DO : 0));
		put16(out + pos + 9, 0);
		pos += VEIL_DNS_OPT_LEN;
	}
	flags = VEIL_DNS_F_QR | (q->flags & (VEIL_DNS_F_OPCODE | VEIL_DNS_F_RD | VEIL_DNS_F_CD)) |
		VEIL_DNS_F_AA | VEIL_DNS_F_RA | (tc ? VEIL_DNS_F_TC : 0) | (a->rcode & 0xf);
	put_header(out, q->id, flags, n, wants_soa(a) ? 1 : 0, opt ? 1 : 0);
	return pos;
}

/* Is the owner of the record at @off the name @name? */
static bool owner_is(const u8 *pkt, size_t len, size_t off, const struct veil_dns_name *name)
{
	return name_match(pkt, len, off, name, 0);
}

/* Find the CNAME chain and the final name's addresses; @name is scratch. */
static int walk_chain(const u8 *pkt, size_t len, size_t answers, struct veil_dns_response *r,
		      struct veil_dns_name *name)
{
	size_t pos, off;
	struct rr_head rr;
	bool found;
	u32 ttl;
	u16 i;

	if (name_read(pkt, len, VEIL_DNS_HDR_LEN, name, true, true) < 0)
		return VEIL_DNS_MALFORMED;
	r->final = VEIL_DNS_HDR_LEN;
	for (;;) {
		found = false;
		pos = answers;
		for (i = 0; i < r->ancount && !found; i++) {
			off = pos;
			if (rr_read(pkt, len, &pos, &rr))
				return VEIL_DNS_MALFORMED;
			if (rr.type != VEIL_DNS_TYPE_CNAME || rr.class != VEIL_DNS_CLASS_IN ||
			    !owner_is(pkt, len, off, name))
				continue;
			found = true;
			if (r->chain_len == VEIL_DNS_CHAIN_MAX) {
				r->chain_more = true;
				break;
			}
			ttl = ttl_value(rr.ttl);
			r->chain[r->chain_len].rr = off;
			r->chain[r->chain_len].target = rr.rdata;
			r->chain[r->chain_len].ttl = ttl;
			r->chain_len++;
			if (ttl < r->min_ttl)
				r->min_ttl = ttl;
			r->final = rr.rdata;
			if (name_read(pkt, len, rr.rdata, name, true, true) < 0)
				return VEIL_DNS_MALFORMED;
		}
		if (!found || r->chain_more)
			break;
	}

	pos = answers;
	for (i = 0; i < r->ancount; i++) {
		off = pos;
		if (rr_read(pkt, len, &pos, &rr))
			return VEIL_DNS_MALFORMED;
		if ((rr.type != VEIL_DNS_TYPE_A && rr.type != VEIL_DNS_TYPE_AAAA) ||
		    rr.class != VEIL_DNS_CLASS_IN || !owner_is(pkt, len, off, name))
			continue;
		if (rr.type == VEIL_DNS_TYPE_A)
			r->final_a = true;
		else
			r->final_aaaa = true;
		ttl = ttl_value(rr.ttl);
		if (ttl < r->min_ttl)
			r->min_ttl = ttl;
	}
	return VEIL_DNS_OK;
}

bool veil_dns_direct_answer(const u8 *pkt, size_t len)
{
	size_t pos = VEIL_DNS_HDR_LEN;
	u16 type;

	if (len < VEIL_DNS_HDR_LEN || get16(pkt + 4) != 1 || !get16(pkt + 6))
		return false;
	while (pos < len && pkt[pos]) {
		if (pkt[pos] & 0xc0)
			return false;	/* compressed or extended: leave it to the walk */
		pos += pkt[pos] + 1;
	}
	pos += 1 + 4;			/* the root label, QTYPE, QCLASS */
	if (pos + 4 > len || pkt[pos] != 0xc0 || pkt[pos + 1] != VEIL_DNS_HDR_LEN)
		return false;
	type = get16(pkt + pos + 2);
	return type != VEIL_DNS_TYPE_CNAME && type != VEIL_DNS_TYPE_DNAME &&
	       type != VEIL_DNS_TYPE_RRSIG && type != VEIL_DNS_TYPE_NSEC;
}

int veil_dns_walk_response(const u8 *pkt, size_t len, struct veil_dns_response *r)
{
	struct veil_dns_name name;
	unsigned int i, total;
	size_t pos, answers, off;
	struct rr_head rr;
	u16 qdcount;
	int end;

	memset(r, 0, sizeof(*r));
	r->min_ttl = 0xffffffff;
	if (len < VEIL_DNS_HDR_LEN || len > 0xffff)
		return VEIL_DNS_MALFORMED;
	r->id = get16(pkt);
	r->flags = get16(pkt + 2);
	qdcount = get16(pkt + 4);
	r->ancount = get16(pkt + 6);
	r->nscount = get16(pkt + 8);
	r->arcount = get16(pkt + 10);
	if (!(r->flags & VEIL_DNS_F_QR) || (r->flags & VEIL_DNS_F_OPCODE) || !qdcount)
		return VEIL_DNS_PASS;
	if (qdcount > 1)
		return VEIL_DNS_MALFORMED;
	total = (unsigned int)r->ancount + r->nscount + r->arcount;
	if (total > VEIL_DNS_RR_MAX)
		return VEIL_DNS_MALFORMED;

	end = name_read(pkt, len, VEIL_DNS_HDR_LEN, NULL, true, false);
	if (end < 0 || (size_t)end + 4 > len)
		return VEIL_DNS_MALFORMED;
	r->qtype = get16(pkt + end);
	r->qclass = get16(pkt + end + 2);
	answers = end + 4;
	r->question_len = answers - VEIL_DNS_HDR_LEN;

	/* Check every record once, so the chain walk can trust the framing. */
	pos = answers;
	for (i = 0; i < total; i++) {
		off = pos;
		if (rr_read(pkt, len, &pos, &rr))
			return VEIL_DNS_MALFORMED;
		if (i < r->ancount && rr.class == VEIL_DNS_CLASS_IN) {
			if (rr.type == VEIL_DNS_TYPE_CNAME) {
				end = name_read(pkt, len, rr.rdata, NULL, true, false);
				if (end < 0 || (size_t)end != rr.rdata + rr.rdlen)
					return VEIL_DNS_MALFORMED;
			}
			if ((rr.type == VEIL_DNS_TYPE_A && rr.rdlen != 4) ||
			    (rr.type == VEIL_DNS_TYPE_AAAA && rr.rdlen != 16))
				return VEIL_DNS_MALFORMED;
		}
		if (rr.type == VEIL_DNS_TYPE_OPT) {
			if (i < (unsigned int)r->ancount + r->nscount || r->opt_off ||
			    pkt[off] != 0 || !opt_options_ok(pkt + rr.rdata, rr.rdlen))
				return VEIL_DNS_MALFORMED;
			r->opt_off = off;
			r->opt_len = pos - off;
		}
	}
	if (pos != len)
		return VEIL_DNS_MALFORMED;
	r->len = pos;
	return walk_chain(pkt, len, answers, r, &name);
}

int veil_dns_build_cname_answer(const u8 *pkt, size_t len,
				const struct veil_dns_response *r, unsigned int links,
				const struct veil_dns_answer *a, u8 *out, size_t size)
{
	size_t qlen = r->question_len, limit, end, pos, rdata, ref = VEIL_DNS_HDR_LEN;
	size_t opt_len = r->opt_off ? r->opt_len : 0;
	struct compress z = { 0 };
	struct veil_dns_name name;
	unsigned int i;
	bool tc;
	u16 flags;
	int n;

	n = check_answer(a, r->qtype, r->qclass, opt_len);
	if (n)
		return n;
	if (links > r->chain_len || r->chain_len > VEIL_DNS_CHAIN_MAX || len > 0xffff ||
	    VEIL_DNS_HDR_LEN + qlen > len || r->opt_off + opt_len > len ||
	    (opt_len && opt_len < VEIL_DNS_OPT_LEN))
		return VEIL_DNS_INVALID;
	if (name_read(pkt, len, VEIL_DNS_HDR_LEN, &name, true, false) < 0)
		return VEIL_DNS_INVALID;

	limit = a->limit ? a->limit : len > VEIL_DNS_UDP_MIN ? len : VEIL_DNS_UDP_MIN;
	if (limit > size)
		limit = size;
	if (limit < VEIL_DNS_HDR_LEN + qlen + opt_len)
		return VEIL_DNS_NOSPACE;
	end = limit - opt_len;

	memcpy(out + VEIL_DNS_HDR_LEN, pkt + VEIL_DNS_HDR_LEN, qlen);
	pos = VEIL_DNS_HDR_LEN + qlen;
	for (i = 0; i < name.labels; i++)
		compress_add(&z, VEIL_DNS_HDR_LEN + name.off[i], name.labels - i);

	/* Each link: owner is the previous name (already written), then its target. */
	for (i = 0; i < links; i++) {
		if (ref > VEIL_DNS_PTR_LIMIT || end - pos < 2 + VEIL_DNS_RR_FIXED)
			return VEIL_DNS_NOSPACE;
		put16(out + pos, 0xc000 | ref);
		rdata = rr_put_head(out, pos + 2, VEIL_DNS_TYPE_CNAME, r->chain[i].ttl, 0);
		pos = rdata;
		if (name_read(pkt, len, r->chain[i].target, &name, true, false) < 0)
			return VEIL_DNS_INVALID;
		n = put_name(out, &pos, end, &name, &z, &ref);
		if (n)
			return n;
		put16(out + rdata - 2, pos - rdata);
	}

	n = put_records(out, &pos, end, r->qtype, a, ref, &z, &tc);
	if (n < 0)
		return n;

	if (opt_len) {
		memcpy(out + pos, pkt + r->opt_off, opt_len);
		out[pos + 5] = a->rcode >> 4;
		pos += opt_len;
	}
	flags = (r->flags & ~(VEIL_DNS_F_AD | VEIL_DNS_F_TC | VEIL_DNS_F_RCODE)) |
		(tc ? VEIL_DNS_F_TC : 0) | (a->rcode & 0xf);
	put_header(out, r->id, flags, links + n, wants_soa(a) ? 1 : 0, opt_len ? 1 : 0);
	return pos;
}
