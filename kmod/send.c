// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit: find the tunnel for the inner destination, apply its port
 * filter, encrypt in place and send over UDP. Runs on the sending CPU, so
 * tunnels and flows spread over CPUs as their senders do.
 */
#include <crypto/chacha20poly1305.h>
#include <linux/module.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <net/dst_metadata.h>
#include <net/icmp.h>
#include <net/ip6_route.h>
#include <net/ipv6_stubs.h>
#include <net/route.h>
#include <net/udp_tunnel.h>

#include "compat.h"
#include "device.h"
#include "netlink.h"
#include "peer.h"
#include "rewrite.h"
#include "send.h"

/*
 * Counter thresholds of a tx key: past rekey_after userspace is told once
 * (VEIL_CMD_EVENT_REKEY); at reject_after sending stops. Lower them only
 * to exercise rekeying: the defaults keep nonces far from reuse.
 */
static unsigned long long rekey_after = 1ULL << 59;
static unsigned long long reject_after = VEIL_COUNTER_LIMIT;
module_param(rekey_after, ullong, 0644);
MODULE_PARM_DESC(rekey_after, "packets a key sends before a rekey event (default 2^59)");
module_param(reject_after, ullong, 0644);
MODULE_PARM_DESC(reject_after, "packets a key sends before sending stops (at most 2^60)");

/* Bytes an encrypted packet adds to the inner one, outer IP header included. */
static unsigned int veil_overhead(u16 family)
{
	return (family == AF_INET ? sizeof(struct iphdr) : sizeof(struct ipv6hdr)) +
	       sizeof(struct udphdr) + VEIL_PKT_HDR_LEN + VEIL_PKT_TAG_LEN;
}

/* Remember what the path to the endpoint carries; the data path reads it. */
static void veil_note_mtu(struct veil_peer *peer, struct dst_entry *dst, u16 family)
{
	unsigned int mtu = dst_mtu(dst), over = veil_overhead(family);

	mtu = mtu > over + 68 ? mtu - over : 68;
	if (READ_ONCE(peer->mtu) != mtu)
		WRITE_ONCE(peer->mtu, mtu);
}

/* The route to an IPv4 endpoint, from the peer's cache; holds a reference. */
static struct rtable *veil_route4(struct veil_peer *peer, struct sock *sk,
				  const struct sockaddr_in *ep, __be32 *saddr)
{
	struct veil_device *vd = peer->vd;
	struct rtable *rt;

	rt = dst_cache_get_ip4(&peer->dst_cache, saddr);
	if (!rt) {
		struct flowi4 fl4 = {
			.daddr		= ep->sin_addr.s_addr,
			.saddr		= inet_sk(sk)->inet_saddr,	/* an adopted socket's */
			.fl4_dport	= ep->sin_port,
			.fl4_sport	= htons(vd->port),
			.flowi4_proto	= IPPROTO_UDP,
		};

		rt = ip_route_output_flow(sock_net(sk), &fl4, sk);
		if (IS_ERR(rt))
			return rt;
		if (rt->dst.dev == vd->dev) {	/* the tunnel would carry itself */
			ip_rt_put(rt);
			return ERR_PTR(-ELOOP);
		}
		*saddr = fl4.saddr;
		dst_cache_set_ip4(&peer->dst_cache, &rt->dst, *saddr);
	}
	veil_note_mtu(peer, &rt->dst, AF_INET);
	return rt;
}

static struct dst_entry *veil_route6(struct veil_peer *peer, struct sock *sk,
				     const struct sockaddr_in6 *ep, struct in6_addr *saddr)
{
#if IS_ENABLED(CONFIG_IPV6)
	struct veil_device *vd = peer->vd;
	struct dst_entry *dst;

	dst = dst_cache_get_ip6(&peer->dst_cache, saddr);
	if (!dst) {
		struct flowi6 fl6 = {
			.daddr		= ep->sin6_addr,
			.saddr		= sk->sk_v6_rcv_saddr,
			.fl6_dport	= ep->sin6_port,
			.fl6_sport	= htons(vd->port),
			.flowi6_proto	= IPPROTO_UDP,
			.flowi6_oif	= ep->sin6_scope_id,
		};

		dst = ipv6_stub->ipv6_dst_lookup_flow(sock_net(sk), sk, &fl6, NULL);
		if (IS_ERR(dst))
			return dst;
		if (dst->dev == vd->dev) {
			dst_release(dst);
			return ERR_PTR(-ELOOP);
		}
		*saddr = fl6.saddr;
		dst_cache_set_ip6(&peer->dst_cache, dst, saddr);
	}
	veil_note_mtu(peer, dst, AF_INET6);
	return dst;
#else
	return ERR_PTR(-EAFNOSUPPORT);
#endif
}

static int veil_send4(struct veil_peer *peer, struct sk_buff *skb, const struct sockaddr_in *ep)
{
	struct sock *sk = rcu_dereference_bh(peer->vd->sock4);
	struct rtable *rt;
	__be32 saddr;

	if (!sk)
		return -ENOTCONN;
	rt = veil_route4(peer, sk, ep, &saddr);
	if (IS_ERR(rt))
		return PTR_ERR(rt);
	udp_tunnel_xmit_skb(rt, sk, skb, saddr, ep->sin_addr.s_addr, 0,
			    ip4_dst_hoplimit(&rt->dst), 0, htons(peer->vd->port), ep->sin_port,
			    false, false);
	return 0;
}

static int veil_send6(struct veil_peer *peer, struct sk_buff *skb, const struct sockaddr_in6 *ep)
{
#if IS_ENABLED(CONFIG_IPV6)
	struct sock *sk = rcu_dereference_bh(peer->vd->sock6);
	struct in6_addr saddr, daddr = ep->sin6_addr;
	struct dst_entry *dst;

	if (!sk)
		return -ENOTCONN;
	dst = veil_route6(peer, sk, ep, &saddr);
	if (IS_ERR(dst))
		return PTR_ERR(dst);
	udp_tunnel6_xmit_skb(dst, sk, skb, peer->vd->dev, &saddr, &daddr, 0,
			     ip6_dst_hoplimit(dst), 0, htons(peer->vd->port), ep->sin6_port, false);
	return 0;
#else
	return -EAFNOSUPPORT;
#endif
}

/*
 * The largest inner packet the tunnel carries without fragmenting the
 * outer one, never more than the device MTU: the path's as of the last
 * packet sent, or, if @fresh or none was sent yet, looked up now (the
 * route comes from the peer's cache). Caller holds rcu_read_lock_bh().
 */
unsigned int veil_peer_mtu(struct veil_peer *peer, bool fresh)
{
	unsigned int mtu = READ_ONCE(peer->mtu), dev_mtu = READ_ONCE(peer->vd->dev->mtu);
	union veil_sockaddr ep;
	struct sock *sk;

	if (!mtu || fresh) {
		spin_lock(&peer->endpoint_lock);
		ep = peer->endpoint;
		spin_unlock(&peer->endpoint_lock);
		if (ep.sa.sa_family == AF_INET) {
			struct rtable *rt;
			__be32 saddr;

			sk = rcu_dereference_bh(peer->vd->sock4);
			rt = sk ? veil_route4(peer, sk, &ep.sin, &saddr) : ERR_PTR(-ENOTCONN);
			if (!IS_ERR(rt))
				ip_rt_put(rt);
		} else if (ep.sa.sa_family == AF_INET6) {
			struct in6_addr saddr;
			struct dst_entry *dst;

			sk = rcu_dereference_bh(peer->vd->sock6);
			dst = sk ? veil_route6(peer, sk, &ep.sin6, &saddr) : ERR_PTR(-ENOTCONN);
			if (!IS_ERR(dst))
				dst_release(dst);
		}
		mtu = READ_ONCE(peer->mtu);
	}
	return mtu && mtu < dev_mtu ? mtu : dev_mtu;
}

/*
 * Encrypt @skb (an inner packet, or empty for a keepalive) for @peer and
 * send it. Consumes the skb. Caller holds rcu_read_lock_bh().
 */
static void veil_encrypt_send(struct veil_peer *peer, struct sk_buff *skb)
{
	struct scatterlist sg[MAX_SKB_FRAGS + 8];
	struct veil_device *vd = peer->vd;
	union veil_sockaddr ep;
	u8 hdr[VEIL_PKT_HDR_LEN];
	struct sk_buff *trailer;
	struct veil_keys *keys;
	unsigned int len;
	u64 counter;
	int nsg, err;

	keys = rcu_dereference_bh(peer->keys);
	spin_lock(&peer->endpoint_lock);
	ep = peer->endpoint;
	spin_unlock(&peer->endpoint_lock);
	if (unlikely(!keys || ep.sa.sa_family == AF_UNSPEC))
		goto nokey;
	counter = atomic64_inc_return(&keys->tx_counter) - 1;
	if (unlikely(counter >= min_t(u64, READ_ONCE(reject_after), VEIL_COUNTER_LIMIT)))
		goto nokey;
	if (unlikely(counter == READ_ONCE(rekey_after)))
		veil_nl_notify_rekey(peer, counter);

	if (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb))
		goto err;
	len = skb->len;
	nsg = skb_cow_data(skb, VEIL_PKT_TAG_LEN, &trailer);
	if (unlikely(nsg < 0 || nsg > ARRAY_SIZE(sg)))
		goto err;
	if (unlikely(skb_cow_head(skb, VEIL_PKT_HDR_LEN + sizeof(struct udphdr) +
				  sizeof(struct ipv6hdr) + LL_MAX_HEADER)))
		goto err;
	if (unlikely(pskb_put(skb, trailer, VEIL_PKT_TAG_LEN) == NULL))
		goto err;
	sg_init_table(sg, nsg);
	if (unlikely(skb_to_sgvec(skb, sg, 0, len + VEIL_PKT_TAG_LEN) < 0))
		goto err;
	veil_pkt_build(hdr, peer->remote_id, counter, keys->phase);
	if (unlikely(!chacha20poly1305_encrypt_sg_inplace(sg, len, hdr, sizeof(hdr), counter,
							  keys->tx)))
		goto err;
	skb_reset_inner_headers(skb);
	memcpy(skb_push(skb, VEIL_PKT_HDR_LEN), hdr, VEIL_PKT_HDR_LEN);

	skb_dst_drop(skb);
	nf_reset_ct(skb);
	skb->ip_summed = CHECKSUM_NONE;
	skb->mark = 0;
	skb_clear_hash(skb);

	veil_peer_tx_add(peer, len);
	WRITE_ONCE(peer->last_tx, jiffies);

	if (ep.sa.sa_family == AF_INET)
		err = veil_send4(peer, skb, &ep.sin);
	else
		err = veil_send6(peer, skb, &ep.sin6);
	if (unlikely(err)) {
		DEV_STATS_INC(vd->dev, tx_errors);
		kfree_skb(skb);
	}
	return;

nokey:
	veil_peer_drop(peer, NOKEY);
	dev_core_stats_tx_dropped_inc(vd->dev);
	kfree_skb(skb);
	return;
err:
	DEV_STATS_INC(vd->dev, tx_errors);
	kfree_skb(skb);
}

void veil_send_keepalive(struct veil_peer *peer)
{
	struct sk_buff *skb;

	skb = alloc_skb(VEIL_PKT_HDR_LEN + VEIL_PKT_TAG_LEN + sizeof(struct udphdr) +
			sizeof(struct ipv6hdr) + LL_MAX_HEADER, GFP_ATOMIC);
	if (!skb)
		return;
	skb_reserve(skb, VEIL_PKT_HDR_LEN + sizeof(struct udphdr) + sizeof(struct ipv6hdr) +
		    LL_MAX_HEADER);
	skb->dev = peer->vd->dev;
	rcu_read_lock_bh();
	veil_encrypt_send(peer, skb);
	rcu_read_unlock_bh();
}

/* No tunnel carries this destination: tell the sender at once. */
static void veil_unreachable(struct sk_buff *skb)
{
	if (skb->protocol == htons(ETH_P_IP))
		icmp_ndo_send(skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
	else
		icmpv6_ndo_send(skb, ICMPV6_DEST_UNREACH, ICMPV6_ADDR_UNREACH, 0);
}

/*
 * Path MTU: a packet the tunnel cannot carry whole lowers the route's
 * PMTU (local senders pick it up at once) and, unless it is a GSO packet
 * or an IPv4 packet that may be fragmented, is refused with an ICMP error
 * to its sender. Returns true when the packet must be dropped.
 */
static bool veil_too_big(struct sk_buff *skb, unsigned int mtu)
{
	/* IPv6 links carry 1280 bytes; below that the outer packet fragments. */
	if (skb->protocol == htons(ETH_P_IPV6) && mtu < IPV6_MIN_MTU)
		mtu = IPV6_MIN_MTU;
	if (skb_is_gso(skb) ? skb_gso_validate_network_len(skb, mtu) : skb->len <= mtu)
		return false;
	if (skb_valid_dst(skb))
		skb_dst_update_pmtu_no_confirm(skb, mtu);
	if (skb_is_gso(skb))
		return false;	/* segments leave fragmented; later ones fit */
	if (skb->protocol == htons(ETH_P_IP)) {
		if (!(ip_hdr(skb)->frag_off & htons(IP_DF)))
			return false;
		icmp_ndo_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, htonl(mtu));
	} else {
		icmpv6_ndo_send(skb, ICMPV6_PKT_TOOBIG, 0, mtu);
	}
	return true;
}

netdev_tx_t veil_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct veil_device *vd = netdev_priv(dev);
	const struct veil_xlat *xlat;
	struct veil_peer *peer;
	const void *daddr;
	unsigned int mtu;
	u16 family;

	if (skb->protocol == htons(ETH_P_IP) && pskb_network_may_pull(skb, sizeof(struct iphdr))) {
		family = AF_INET;
		daddr = &ip_hdr(skb)->daddr;
	} else if (skb->protocol == htons(ETH_P_IPV6) &&
		   pskb_network_may_pull(skb, sizeof(struct ipv6hdr))) {
		family = AF_INET6;
		daddr = &ipv6_hdr(skb)->daddr;
	} else {
		goto drop;
	}

	rcu_read_lock_bh();
	peer = veil_peer_by_addr(vd, family, daddr);
	if (unlikely(!peer)) {
		rcu_read_unlock_bh();
		veil_unreachable(skb);
		goto drop;
	}
	if (unlikely(!veil_ports_allow(peer, skb, false))) {
		veil_peer_drop(peer, PORT);
		rcu_read_unlock_bh();
		goto drop;
	}
	mtu = veil_peer_mtu(peer, false);
	if (unlikely(veil_too_big(skb, mtu))) {
		rcu_read_unlock_bh();
		goto drop;
	}
	xlat = rcu_dereference_bh(peer->xlat);
	if (unlikely(xlat) && veil_xlat(xlat, skb, false)) {
		rcu_read_unlock_bh();
		goto drop;
	}
	if (unlikely(veil_clamp_mss(skb, peer))) {
		rcu_read_unlock_bh();
		goto drop;
	}
	if (skb_is_gso(skb)) {
		struct sk_buff *segs, *next;

		/* The stack hands over super-packets; each segment is sealed alone. */
		segs = skb_gso_segment(skb, 0);
		if (IS_ERR_OR_NULL(segs)) {
			rcu_read_unlock_bh();
			goto drop;
		}
		consume_skb(skb);
		skb_list_walk_safe(segs, skb, next) {
			skb_mark_not_on_list(skb);
			veil_encrypt_send(peer, skb);
		}
	} else {
		veil_encrypt_send(peer, skb);
	}
	rcu_read_unlock_bh();
	return NETDEV_TX_OK;

drop:
	dev_core_stats_tx_dropped_inc(dev);
	kfree_skb(skb);
	return NETDEV_TX_OK;
}
