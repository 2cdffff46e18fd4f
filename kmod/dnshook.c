// SPDX-License-Identifier: GPL-2.0
/*
 * DNS interception: netfilter hooks on UDP queries leaving the host for
 * port 53 (LOCAL_OUT, IPv4 and IPv6). A question inside a secure zone is
 * answered here from the cache and never reaches the resolver; every other
 * packet passes untouched. The hooks exist only in namespaces with zones.
 */
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/percpu.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/ip6_route.h>
#include <net/ipv6.h>
#include <net/route.h>
#include <net/udp.h>

#include "dns.h"
#include "dnswire.h"

/* What veil advertises as its EDNS UDP size, and the most it writes. */
#define VEIL_DNS_UDP_SIZE	1232

/* The synthetic SOA of every zone; its TTL is the negative TTL. */
#define VEIL_DNS_SOA_REFRESH	3600
#define VEIL_DNS_SOA_RETRY	600
#define VEIL_DNS_SOA_EXPIRE	86400

/* Largest response veil rewrites; a bigger one with a secure alias is dropped. */
#define VEIL_DNS_REWRITE_MAX	4096

/* Room to work on one packet, per CPU (too big for the stack). */
struct veil_dns_scratch {
	struct veil_dns_query q;
	struct veil_dns_name zone;
	struct veil_dns_cached ans;
	char text[VEIL_DNS_TEXT_MAX];
	u8 addrs[VEIL_DNS_MAX_ADDRS * 16];
	struct veil_dns_response r;
	struct veil_dns_name target;
	u8 out[VEIL_DNS_REWRITE_MAX];
};

static struct veil_dns_scratch __percpu *veil_dns_scratch;

/*
 * Deliver @skb (an IP packet at skb->data) to a local socket as if it had
 * arrived: a route to the local destination takes it straight to
 * ip_local_deliver, with no input routing and no reverse path check, the
 * way looped-back packets travel.
 */
static void veil_dns_deliver(struct net *net, struct sk_buff *skb, const struct veil_dns_flow *f)
{
	struct dst_entry *dst;

	if (f->family == AF_INET) {
		/* No source: the output lookup wants a local one, the resolver's is not. */
		struct flowi4 fl4 = {
			.daddr = f->src.v4,
			.flowi4_proto = IPPROTO_UDP,
		};
		struct rtable *rt = ip_route_output_key(net, &fl4);

		if (IS_ERR(rt))
			goto drop;
		dst = &rt->dst;
		skb->protocol = htons(ETH_P_IP);
	} else {
		struct flowi6 fl6 = {
			.daddr = f->src.v6,
			.flowi6_proto = IPPROTO_UDP,
		};

		dst = ip6_route_output(net, NULL, &fl6);
		if (dst->error) {
			dst_release(dst);
			goto drop;
		}
		skb->protocol = htons(ETH_P_IPV6);
	}
	if (f->family == AF_INET ? ((struct rtable *)dst)->rt_type != RTN_LOCAL :
	    !(((struct rt6_info *)dst)->rt6i_flags & RTF_LOCAL)) {
		dst_release(dst);	/* the querier's address is not local */
		goto drop;
	}
	skb_dst_set(skb, dst);
	skb->dev = dst->dev;
	skb->pkt_type = PACKET_HOST;
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	skb_reset_mac_header(skb);
	netif_rx(skb);
	return;
drop:
	kfree_skb(skb);
}

/* Wrap a DNS message of @len bytes at @skb->data in UDP and IP headers. */
static void veil_dns_headers(struct sk_buff *skb, unsigned int len, const struct veil_dns_flow *f)
{
	struct udphdr *uh;

	uh = skb_push(skb, sizeof(*uh));
	skb_reset_transport_header(skb);
	uh->source = htons(VEIL_DNS_PORT);
	uh->dest = f->sport;
	uh->len = htons(len + sizeof(*uh));
	uh->check = 0;
	if (f->family == AF_INET) {
		struct iphdr *iph;

		uh->check = csum_tcpudp_magic(f->dst.v4, f->src.v4, len + sizeof(*uh),
					      IPPROTO_UDP, csum_partial(uh, len + sizeof(*uh), 0));
		if (!uh->check)
			uh->check = CSUM_MANGLED_0;
		iph = skb_push(skb, sizeof(*iph));
		skb_reset_network_header(skb);
		memset(iph, 0, sizeof(*iph));
		iph->version = 4;
		iph->ihl = 5;
		iph->tot_len = htons(skb->len);
		iph->frag_off = htons(IP_DF);
		iph->ttl = 64;
		iph->protocol = IPPROTO_UDP;
		iph->saddr = f->dst.v4;
		iph->daddr = f->src.v4;
		ip_send_check(iph);
	} else {
		struct ipv6hdr *ip6h;

		uh->check = csum_ipv6_magic(&f->dst.v6, &f->src.v6, len + sizeof(*uh),
					    IPPROTO_UDP, csum_partial(uh, len + sizeof(*uh), 0));
		if (!uh->check)
			uh->check = CSUM_MANGLED_0;
		ip6h = skb_push(skb, sizeof(*ip6h));
		skb_reset_network_header(skb);
		memset(ip6h, 0, sizeof(*ip6h));
		ip6h->version = 6;
		ip6h->payload_len = htons(len + sizeof(*uh));
		ip6h->nexthdr = IPPROTO_UDP;
		ip6h->hop_limit = 64;
		ip6h->saddr = f->dst.v6;
		ip6h->daddr = f->src.v6;
	}
}

/*
 * Answer the parsed query @pkt from what the cache said (@s->ans, or a
 * SERVFAIL when @servfail) and deliver the answer to the querier.
 */
/* What to say for a question of @qclass/@qtype, from @s->ans and @s->zone. */
static void veil_dns_fill(struct veil_dns_scratch *s, u16 qclass, u16 qtype, bool servfail,
			  struct veil_dns_answer *a, struct veil_dns_soa *soa)
{
	unsigned int i;

	memset(soa, 0, sizeof(*soa));
	a->rcode = VEIL_DNS_RCODE_SERVFAIL;
	if (servfail)
		return;
	*soa = (struct veil_dns_soa){
		.serial = 1,
		.refresh = VEIL_DNS_SOA_REFRESH,
		.retry = VEIL_DNS_SOA_RETRY,
		.expire = VEIL_DNS_SOA_EXPIRE,
		.minimum = s->ans.ttl,
		.ttl = s->ans.ttl,
	};
	a->rcode = VEIL_DNS_RCODE_NOERROR;
	a->zone = &s->zone;
	a->soa = soa;
	a->ttl = s->ans.ttl;
	if (s->ans.negative) {
		a->rcode = VEIL_DNS_RCODE_NXDOMAIN;
	} else if (qclass == VEIL_DNS_CLASS_IN && qtype == VEIL_DNS_TYPE_A) {
		for (i = 0; i < s->ans.n4; i++)
			memcpy(s->addrs + i * 4, &s->ans.a4[i], 4);
		a->addrs = s->addrs;
		a->naddrs = s->ans.n4;
	} else if (qclass == VEIL_DNS_CLASS_IN && qtype == VEIL_DNS_TYPE_AAAA) {
		for (i = 0; i < s->ans.n6; i++)
			memcpy(s->addrs + i * 16, &s->ans.a6[i], 16);
		a->addrs = s->addrs;
		a->naddrs = s->ans.n6;
	}
	/* Anything else: the name exists, with no data of that type. */
}

static void veil_dns_answer(struct net *net, struct veil_dns_scratch *s, const u8 *pkt,
			    const struct veil_dns_flow *f, bool servfail)
{
	const unsigned int head = LL_MAX_HEADER + sizeof(struct ipv6hdr) + sizeof(struct udphdr);
	struct veil_dns_answer a = { .udp_size = VEIL_DNS_UDP_SIZE };
	struct veil_dns_query *q = &s->q;
	struct veil_dns_soa soa;
	struct sk_buff *skb;
	int len;

	veil_dns_fill(s, q->qclass, q->qtype, servfail, &a, &soa);
	if (q->edns.present && !q->edns.valid)
		a.rcode = VEIL_DNS_RCODE_FORMERR;

	skb = alloc_skb(head + VEIL_DNS_UDP_SIZE, GFP_ATOMIC);
	if (!skb)
		return;
	skb_reserve(skb, head);
	len = veil_dns_build_answer(pkt, q, &a, skb->data, VEIL_DNS_UDP_SIZE);
	if (len < 0) {
		kfree_skb(skb);
		return;
	}
	skb_put(skb, len);
	veil_dns_headers(skb, len, f);
	veil_dns_deliver(net, skb, f);
}

/*
 * The DNS message of a UDP packet to (@out) or from port 53, at the network
 * header: its offset, or -1 for any other packet. With @f, the flow is
 * filled in as seen from the local socket; the hooks' common case passes
 * NULL and has nothing to fill.
 */
static __always_inline int veil_dns_udp(struct sk_buff *skb, u8 pf, bool out,
					 struct veil_dns_flow *f)
{
	const struct udphdr *uh;
	struct udphdr _uh;
	int off;

	if (pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		if (iph->protocol != IPPROTO_UDP || ip_is_fragment(iph))
			return -1;
		off = skb_network_offset(skb) + iph->ihl * 4;
		if (f) {
			f->family = AF_INET;
			f->src.v4 = out ? iph->saddr : iph->daddr;
			f->dst.v4 = out ? iph->daddr : iph->saddr;
		}
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		__be16 frag_off = 0;
		u8 proto = ip6h->nexthdr;

		off = ipv6_skip_exthdr(skb, skb_network_offset(skb) + sizeof(*ip6h), &proto,
				       &frag_off);
		if (off < 0 || proto != IPPROTO_UDP || frag_off)
			return -1;
		if (f) {
			f->family = AF_INET6;
			f->src.v6 = out ? ip6h->saddr : ip6h->daddr;
			f->dst.v6 = out ? ip6h->daddr : ip6h->saddr;
		}
	}
	uh = skb_header_pointer(skb, off, sizeof(_uh), &_uh);
	if (!uh || (out ? uh->dest : uh->source) != htons(VEIL_DNS_PORT))
		return -1;
	if (f)
		f->sport = out ? uh->source : uh->dest;
	return off + sizeof(*uh);
}

/*
 * A UDP query to port 53 whose question is inside a zone: @skb is linear,
 * its DNS message at @off. Returns the netfilter verdict. Out of line:
 * the common case in veil_dns_out() stays small.
 */
static noinline unsigned int veil_dns_query(struct net *net, struct sk_buff *skb, u8 pf,
					    unsigned int off)
{
	unsigned int verdict = NF_ACCEPT, len = skb->len - off;
	const u8 *pkt = skb->data + off;
	struct veil_dns_scratch *s;
	struct veil_dns_flow f;
	int ret, tlen;
	bool hit;

	if (veil_dns_udp(skb, pf, true, &f) < 0)
		return NF_ACCEPT;	/* as veil_dns_out() found it: not reached */
	local_bh_disable();
	s = this_cpu_ptr(veil_dns_scratch);
	ret = veil_dns_parse_query(pkt, len, &s->q);
	if (ret != VEIL_DNS_OK && (ret != VEIL_DNS_PASS || !s->q.name.len))
		goto out;	/* not a question veil could own */
	if (!veil_dns_find_zone(net, &s->q.name, &s->zone))
		goto out;
	tlen = veil_dns_name_to_text(&s->q.name, s->text, sizeof(s->text));
	if (tlen <= 0)
		goto out;
	/*
	 * A secure name never leaves: answered here, held for the daemon's
	 * verdict, or swallowed. Stolen, not dropped: the sender's sendmsg()
	 * succeeds as for any query.
	 */
	verdict = NF_STOLEN;
	if (ret == VEIL_DNS_OK) {
		hit = veil_dns_cache_get(net, s->text, tlen, &s->ans);
		if (!hit && veil_dns_pend(net, skb, off, &f, s->text, tlen, s->q.qtype))
			goto out;	/* the pending table owns the query now */
		veil_dns_answer(net, s, pkt, &f, !hit);
	}
	consume_skb(skb);
out:
	local_bh_enable();
	return verdict;
}

/*
 * A response whose CNAME chain leads into a secure zone: @s->r is its
 * walk, @s->text/@s->zone the chain's last name and its zone, @s->ans the
 * cached answer unless @servfail. Writes the new response to @s->out and
 * returns its length, or a negative status.
 */
static int veil_dns_rewrite(struct veil_dns_scratch *s, const u8 *pkt, unsigned int len,
			    bool servfail)
{
	struct veil_dns_answer a = {};
	struct veil_dns_soa soa;

	veil_dns_fill(s, s->r.qclass, s->r.qtype, servfail, &a, &soa);
	return veil_dns_build_cname_answer(pkt, len, &s->r, s->r.chain_len, &a, s->out,
					   sizeof(s->out));
}

/*
 * Walk a response: true when it is a NOERROR answer whose CNAME chain ends
 * in a secure zone; @s->text holds that name and @s->zone its zone. A chain
 * longer than VEIL_DNS_CHAIN_MAX links, or a loop, has no end to judge: it
 * passes, as does anything malformed.
 */
static bool veil_dns_secure_alias(struct net *net, struct veil_dns_scratch *s, const u8 *pkt,
				  unsigned int len, int *tlen)
{
	if (veil_dns_walk_response(pkt, len, &s->r) != VEIL_DNS_OK || !s->r.chain_len ||
	    s->r.chain_more || (s->r.flags & VEIL_DNS_F_RCODE) != VEIL_DNS_RCODE_NOERROR)
		return false;
	if (veil_dns_name_unpack(pkt, len, s->r.final, &s->target) < 0 ||
	    !veil_dns_find_zone(net, &s->target, &s->zone))
		return false;
	*tlen = veil_dns_name_to_text(&s->target, s->text, sizeof(s->text));
	return *tlen > 0;
}

/* Deliver a rewritten response of @len bytes in @s->out. */
static void veil_dns_deliver_out(struct net *net, struct veil_dns_scratch *s, int len,
				 const struct veil_dns_flow *f)
{
	const unsigned int head = LL_MAX_HEADER + sizeof(struct ipv6hdr) + sizeof(struct udphdr);
	struct sk_buff *skb;

	if (len < 0)
		return;
	skb = alloc_skb(head + len, GFP_ATOMIC);
	if (!skb)
		return;
	skb_reserve(skb, head);
	skb_put_data(skb, s->out, len);
	veil_dns_headers(skb, len, f);
	veil_dns_deliver(net, skb, f);
}

void veil_dns_reply(struct net *net, struct sk_buff *skb, unsigned int off,
		    const struct veil_dns_flow *f, bool servfail)
{
	const u8 *pkt = skb->data + off;
	struct veil_dns_scratch *s;
	bool hit = false;
	int tlen;

	local_bh_disable();
	s = this_cpu_ptr(veil_dns_scratch);
	if (skb->len - off >= VEIL_DNS_HDR_LEN && (pkt[2] & 0x80)) {
		/* A held response: rewrite it with what the verdict cached. */
		rcu_read_lock();
		if (veil_dns_secure_alias(net, s, pkt, skb->len - off, &tlen)) {
			hit = !servfail && veil_dns_cache_get(net, s->text, tlen, &s->ans);
			veil_dns_deliver_out(net, s, veil_dns_rewrite(s, pkt, skb->len - off, !hit),
					     f);
		}
		rcu_read_unlock();
		goto out;
	}
	if (veil_dns_parse_query(pkt, skb->len - off, &s->q) != VEIL_DNS_OK)
		goto out;
	tlen = veil_dns_name_to_text(&s->q.name, s->text, sizeof(s->text));
	if (tlen <= 0)
		goto out;
	if (!servfail) {
		rcu_read_lock();
		if (veil_dns_find_zone(net, &s->q.name, &s->zone))
			hit = veil_dns_cache_get(net, s->text, tlen, &s->ans);
		rcu_read_unlock();
	}
	veil_dns_answer(net, s, pkt, f, !hit);
out:
	local_bh_enable();
}

/* Put @len bytes of @s->out in place of @skb's DNS message at @off. */
static int veil_dns_replace(struct sk_buff *skb, unsigned int off, const u8 *msg, int len)
{
	unsigned int ulen = len + sizeof(struct udphdr), uoff = off - sizeof(struct udphdr);
	struct udphdr *uh;

	/* A packet tap may hold a clone: write to a copy of our own. */
	if (skb_ensure_writable(skb, skb->len))
		return -ENOMEM;
	if (off + len > skb->len) {
		unsigned int more = off + len - skb->len;

		if (skb_tailroom(skb) < more &&
		    pskb_expand_head(skb, 0, more - skb_tailroom(skb), GFP_ATOMIC))
			return -ENOMEM;
		skb_put(skb, more);
	} else {
		skb_trim(skb, off + len);
	}
	memcpy(skb->data + off, msg, len);
	uh = (struct udphdr *)(skb->data + uoff);
	uh->len = htons(ulen);
	uh->check = 0;
	if (ip_hdr(skb)->version == 4) {
		struct iphdr *iph = ip_hdr(skb);

		iph->tot_len = htons(skb->len);
		ip_send_check(iph);
		uh->check = csum_tcpudp_magic(iph->saddr, iph->daddr, ulen, IPPROTO_UDP,
					      csum_partial(uh, ulen, 0));
	} else {
		struct ipv6hdr *ip6h = ipv6_hdr(skb);

		ip6h->payload_len = htons(skb->len - sizeof(*ip6h));
		uh->check = csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, ulen, IPPROTO_UDP,
					    csum_partial(uh, ulen, 0));
	}
	if (!uh->check)
		uh->check = CSUM_MANGLED_0;
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	return 0;
}

/*
 * A UDP response from port 53 arriving for a local socket, its DNS message
 * at @off. One whose CNAME chain leads into a secure zone is rewritten in
 * place from the cache, or held for a verdict.
 */
static unsigned int veil_dns_response(struct net *net, struct sk_buff *skb, u8 pf,
				      unsigned int off)
{
	struct veil_dns_flow f;
	unsigned int verdict = NF_ACCEPT, len = skb->len - off;
	struct veil_dns_scratch *s;
	u8 _h[VEIL_DNS_HDR_LEN];
	const u8 *pkt, *h;
	int tlen, n;

	if (len < VEIL_DNS_HDR_LEN || len > 65535)
		return NF_ACCEPT;
	/*
	 * Only a standard NOERROR response to one question, with answers, can
	 * carry a CNAME chain: the header alone lets every other response
	 * (NXDOMAIN, NODATA, queries, updates) pass without a copy or a walk.
	 */
	h = skb_header_pointer(skb, off, sizeof(_h), _h);
	if (!h || (h[2] & 0xf8) != 0x80 || (h[3] & 0x0f) != VEIL_DNS_RCODE_NOERROR ||
	    h[4] || h[5] != 1 || !(h[6] | h[7]))
		return NF_ACCEPT;
	if (skb_linearize(skb))
		return NF_DROP;
	pkt = skb->data + off;
	/* The usual answer, records for the name asked: no chain to follow. */
	if (veil_dns_direct_answer(pkt, len))
		return NF_ACCEPT;

	local_bh_disable();
	s = this_cpu_ptr(veil_dns_scratch);
	if (!veil_dns_secure_alias(net, s, pkt, len, &tlen))
		goto out;
	if (!veil_dns_cache_get(net, s->text, tlen, &s->ans)) {
		if (veil_dns_udp(skb, pf, false, &f) >= 0 &&
		    veil_dns_pend(net, skb, off, &f, s->text, tlen, s->r.qtype)) {
			verdict = NF_STOLEN;
			goto out;
		}
		n = veil_dns_rewrite(s, pkt, len, true);
	} else {
		n = veil_dns_rewrite(s, pkt, len, false);
	}
	/* The real answer for the alias never reaches the application. */
	if (n < 0 || veil_dns_replace(skb, off, s->out, n))
		verdict = NF_DROP;
out:
	local_bh_enable();
	return verdict;
}

/*
 * Every UDP packet a namespace with zones sends. The common case, a query
 * for a name outside every zone, costs one walk of the question name where
 * it lies and a hash per zone depth, with one call.
 */
static unsigned int veil_dns_out(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	int off = veil_dns_udp(skb, state->pf, true, NULL);
	unsigned int len;

	if (off < 0)
		return NF_ACCEPT;
	len = skb->len - off;
	if (len < VEIL_DNS_HDR_LEN || len > 65535)
		return NF_ACCEPT;
	/* Port 53 only: the copy is rare and bounded by the message. */
	if (skb_linearize(skb))
		return NF_DROP;	/* no memory: better no answer than a leak */
	if (!veil_dns_question_in_zone(priv, skb->data + off, len))
		return NF_ACCEPT;
	return veil_dns_query(state->net, skb, state->pf, off);
}

static unsigned int veil_dns_in(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	int off = veil_dns_udp(skb, state->pf, false, NULL);

	return off < 0 ? NF_ACCEPT : veil_dns_response(state->net, skb, state->pf, off);
}

static const struct nf_hook_ops veil_dns_hook_ops[VEIL_DNS_HOOKS] = {
	{
		.hook		= veil_dns_out,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		/* Before conntrack: a query answered here leaves no trace. */
		.priority	= NF_IP_PRI_RAW - 1,
	},
	{
		.hook		= veil_dns_out,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP6_PRI_RAW - 1,
	},
	{
		.hook		= veil_dns_in,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_IN,
		/* After the firewall: only what it lets in is looked at. */
		.priority	= NF_IP_PRI_FILTER + 1,
	},
	{
		.hook		= veil_dns_in,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_IN,
		.priority	= NF_IP6_PRI_FILTER + 1,
	},
};

int veil_dns_hooks_register(struct net *net, struct nf_hook_ops *ops, struct veil_dns_net *dn)
{
	unsigned int i;

	for (i = 0; i < VEIL_DNS_HOOKS; i++) {
		ops[i] = veil_dns_hook_ops[i];
		ops[i].priv = dn;
	}
	return nf_register_net_hooks(net, ops, VEIL_DNS_HOOKS);
}

void veil_dns_hooks_unregister(struct net *net, struct nf_hook_ops *ops)
{
	nf_unregister_net_hooks(net, ops, VEIL_DNS_HOOKS);
}

int __init veil_dns_hook_init(void)
{
	veil_dns_scratch = alloc_percpu(struct veil_dns_scratch);
	return veil_dns_scratch ? 0 : -ENOMEM;
}

void veil_dns_hook_uninit(void)
{
	free_percpu(veil_dns_scratch);
}
