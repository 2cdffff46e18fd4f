// SPDX-License-Identifier: GPL-2.0
/*
 * Inner header rewriting: 1:1 address translation and TCP MSS clamping,
 * with incremental IP, TCP, UDP and ICMP checksum updates. @skb->data is
 * the inner IP header, already checked to be whole (veil_rx_inner on
 * receive, the stack on send).
 */
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/tcp.h>

#include "peer.h"
#include "rewrite.h"
#include "send.h"

/* One rule: an address equal to @from becomes @to. */
struct veil_rule {
	const union veil_inaddr *from;
	const union veil_inaddr *to;
};

/*
 * Where the transport header starts and which protocol it is; -1 when
 * there is none to rewrite (a later fragment, or a broken header chain).
 */
static int veil_l4(struct sk_buff *skb, u8 *proto)
{
	if (skb->protocol == htons(ETH_P_IP)) {
		const struct iphdr *iph = ip_hdr(skb);

		if (iph->frag_off & htons(IP_OFFSET))
			return -1;
		*proto = iph->protocol;
		return iph->ihl * 4;
	} else {
		__be16 frag_off = 0;
		int off;

		*proto = ipv6_hdr(skb)->nexthdr;
		off = ipv6_skip_exthdr(skb, sizeof(struct ipv6hdr), proto, &frag_off);
		if (off < 0 || (frag_off & htons(~0x7)))
			return -1;
		return off;
	}
}

/* Offset of the checksum a pseudo-header change affects, or 0 for none. */
static unsigned int veil_l4_csum_off(u8 proto, bool v6)
{
	switch (proto) {
	case IPPROTO_TCP:
		return offsetof(struct tcphdr, check);
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		return offsetof(struct udphdr, check);
	case IPPROTO_ICMPV6:
		return v6 ? offsetof(struct icmp6hdr, icmp6_cksum) : 0;
	}
	return 0;
}

static bool veil_icmp_is_error(u8 type, bool v6)
{
	if (v6)
		return type < 128;
	return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH ||
	       type == ICMP_REDIRECT || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB;
}

/*
 * Replace one IPv4 address at @aoff. @l4sum is the transport checksum
 * covering it through the pseudo-header, or NULL; @ipsum the IP header
 * checksum; @outer, if not NULL, a checksum that covers the address and
 * @ipsum as plain data (an ICMP error quoting the header).
 */
static void veil_set4(struct sk_buff *skb, __be32 *addr, __be32 to, __sum16 *ipsum,
		      __sum16 *l4sum, bool udp, __sum16 *outer)
{
	__be32 from = *addr;
	__sum16 old_ipsum = *ipsum;

	if (l4sum && (!udp || *l4sum || skb->ip_summed == CHECKSUM_PARTIAL)) {
		inet_proto_csum_replace4(l4sum, skb, from, to, true);
		if (udp && !*l4sum)
			*l4sum = CSUM_MANGLED_0;
	}
	csum_replace4(ipsum, from, to);
	*addr = to;
	if (outer) {
		inet_proto_csum_replace4(outer, skb, from, to, false);
		inet_proto_csum_replace2(outer, skb, (__force __be16)old_ipsum,
					 (__force __be16)*ipsum, false);
	}
}

static void veil_set6(struct sk_buff *skb, struct in6_addr *addr, const struct in6_addr *to,
		      __sum16 *l4sum, bool pseudo)
{
	if (l4sum)
		inet_proto_csum_replace16(l4sum, skb, addr->s6_addr32, to->s6_addr32, pseudo);
	*addr = *to;
}

static bool veil_rule_hit4(const struct veil_rule *r, __be32 a)
{
	return r->from && r->from->v4 == a;
}

static bool veil_rule_hit6(const struct veil_rule *r, const struct in6_addr *a)
{
	return r->from && ipv6_addr_equal(&r->from->v6, a);
}

/* IPv4: @rs rewrites the source, @rd the destination. */
static int veil_xlat4(struct sk_buff *skb, const struct veil_rule *rs, const struct veil_rule *rd)
{
	struct iphdr *iph = ip_hdr(skb), *eiph;
	unsigned int need, csoff = 0;
	__sum16 *l4sum = NULL, *icsum;
	bool hs, hd, udp = false;
	int off;
	u8 proto;

	hs = veil_rule_hit4(rs, iph->saddr);
	hd = veil_rule_hit4(rd, iph->daddr);
	off = veil_l4(skb, &proto);
	need = off < 0 ? sizeof(*iph) : off + sizeof(struct icmphdr) + sizeof(struct iphdr);
	if (off >= 0) {
		csoff = veil_l4_csum_off(proto, false);
		udp = proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE;
	}
	/* A short or broken transport header is passed as it is. */
	if (skb_ensure_writable(skb, min(need, skb->len)))
		return -ENOMEM;
	iph = ip_hdr(skb);
	if (csoff && off + csoff + 2 <= skb->len)
		l4sum = (__sum16 *)(skb->data + off + csoff);
	if (hs)
		veil_set4(skb, &iph->saddr, rs->to->v4, &iph->check, l4sum, udp, NULL);
	if (hd)
		veil_set4(skb, &iph->daddr, rd->to->v4, &iph->check, l4sum, udp, NULL);

	/* An ICMP error quotes a packet that went the other way. */
	if (off < 0 || proto != IPPROTO_ICMP || skb->len < need ||
	    !veil_icmp_is_error(skb->data[off], false))
		return 0;
	icsum = &((struct icmphdr *)(skb->data + off))->checksum;
	eiph = (struct iphdr *)(skb->data + off + sizeof(struct icmphdr));
	if (eiph->version != 4)
		return 0;
	if (veil_rule_hit4(rd, eiph->saddr))
		veil_set4(skb, &eiph->saddr, rd->to->v4, &eiph->check, NULL, false, icsum);
	if (veil_rule_hit4(rs, eiph->daddr))
		veil_set4(skb, &eiph->daddr, rs->to->v4, &eiph->check, NULL, false, icsum);
	return 0;
}

static int veil_xlat6(struct sk_buff *skb, const struct veil_rule *rs, const struct veil_rule *rd)
{
	struct ipv6hdr *ip6h = ipv6_hdr(skb), *eip6h;
	unsigned int need, csoff = 0;
	__sum16 *l4sum = NULL, *icsum;
	bool hs, hd;
	int off;
	u8 proto;

	hs = veil_rule_hit6(rs, &ip6h->saddr);
	hd = veil_rule_hit6(rd, &ip6h->daddr);
	off = veil_l4(skb, &proto);
	need = off < 0 ? sizeof(*ip6h) : off + sizeof(struct icmp6hdr) + sizeof(struct ipv6hdr);
	if (off >= 0)
		csoff = veil_l4_csum_off(proto, true);
	if (skb_ensure_writable(skb, min(need, skb->len)))
		return -ENOMEM;
	ip6h = ipv6_hdr(skb);
	if (csoff && off + csoff + 2 <= skb->len)
		l4sum = (__sum16 *)(skb->data + off + csoff);
	if (hs)
		veil_set6(skb, &ip6h->saddr, &rs->to->v6, l4sum, true);
	if (hd)
		veil_set6(skb, &ip6h->daddr, &rd->to->v6, l4sum, true);

	if (off < 0 || proto != IPPROTO_ICMPV6 || skb->len < need ||
	    !veil_icmp_is_error(skb->data[off], true))
		return 0;
	icsum = &((struct icmp6hdr *)(skb->data + off))->icmp6_cksum;
	eip6h = (struct ipv6hdr *)(skb->data + off + sizeof(struct icmp6hdr));
	if (eip6h->version != 6)
		return 0;
	if (veil_rule_hit6(rd, &eip6h->saddr))
		veil_set6(skb, &eip6h->saddr, &rd->to->v6, icsum, false);
	if (veil_rule_hit6(rs, &eip6h->daddr))
		veil_set6(skb, &eip6h->daddr, &rs->to->v6, icsum, false);
	return 0;
}

/*
 * Translate one inner packet of a tunnel. Received: the peer's address
 * becomes its local alias, the address it sent to becomes the target.
 * Sent: the reverse. Returns 0 or -ENOMEM.
 */
int veil_xlat(const struct veil_xlat *x, struct sk_buff *skb, bool rx)
{
	const union veil_inaddr *sf = NULL, *st = NULL, *df = NULL, *dt = NULL;
	u16 family = skb->protocol == htons(ETH_P_IP) ? AF_INET : AF_INET6;
	struct veil_rule rs, rd;

	if (x->src_family == family) {
		sf = &x->src;
		st = &x->src_to;
	}
	if (x->dst_family == family) {
		df = &x->dst;
		dt = &x->dst_to;
	}
	if (rx) {
		rs = (struct veil_rule){ sf, st };
		rd = (struct veil_rule){ df, dt };
	} else {
		rs = (struct veil_rule){ dt, df };
		rd = (struct veil_rule){ st, sf };
	}
	if (!rs.from && !rd.from)
		return 0;
	if (family == AF_INET)
		return veil_xlat4(skb, &rs, &rd);
	return veil_xlat6(skb, &rs, &rd);
}

/*
 * Lower the MSS option of a TCP SYN to what the tunnel carries, so that
 * neither end sends segments the path would have to fragment. Caller
 * holds rcu_read_lock_bh() (or is in softirq).
 */
int veil_clamp_mss(struct sk_buff *skb, struct veil_peer *peer)
{
	bool v6 = skb->protocol == htons(ETH_P_IPV6);
	unsigned int i, optlen, mss, mtu;
	struct tcphdr _th, *th;
	u8 proto, *opt;
	int off;

	off = veil_l4(skb, &proto);
	if (off < 0 || proto != IPPROTO_TCP)
		return 0;
	th = skb_header_pointer(skb, off, sizeof(_th), &_th);
	if (!th || !th->syn || th->doff * 4 < sizeof(*th) || off + th->doff * 4 > skb->len)
		return 0;
	optlen = th->doff * 4 - sizeof(*th);
	if (!optlen)
		return 0;
	/* SYNs are rare: learn the path as it is now, not as it was. */
	mtu = veil_peer_mtu(peer, true);
	if (mtu < 256)
		return 0;
	mss = mtu - (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) - sizeof(struct tcphdr);
	if (skb_ensure_writable(skb, off + th->doff * 4))
		return -ENOMEM;
	th = (struct tcphdr *)(skb->data + off);
	opt = (u8 *)(th + 1);
	for (i = 0; i < optlen; ) {
		if (opt[i] == TCPOPT_EOL)
			break;
		if (opt[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= optlen || opt[i + 1] < 2 || i + opt[i + 1] > optlen)
			break;
		if (opt[i] == TCPOPT_MSS && opt[i + 1] == TCPOLEN_MSS) {
			u16 old = opt[i + 2] << 8 | opt[i + 3];

			if (old <= mss)
				return 0;
			opt[i + 2] = mss >> 8;
			opt[i + 3] = mss & 0xff;
			inet_proto_csum_replace2(&th->check, skb, htons(old), htons(mss), false);
			return 0;
		}
		i += opt[i + 1];
	}
	return 0;
}
