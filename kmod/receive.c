// SPDX-License-Identifier: GPL-2.0
/*
 * Receive: demultiplex the shared UDP port (RFC 7983), decrypt veil data in
 * place, check replay, inner source and ports, and deliver through GRO.
 * A packet that fails any check is dropped and counted, never answered.
 */
#include <crypto/chacha20poly1305.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <net/addrconf.h>
#include <net/ipv6.h>
#include <net/udp_tunnel.h>

#include "device.h"
#include "netlink.h"
#include "peer.h"
#include "receive.h"
#include "rewrite.h"
#include "send.h"

/* Roaming: an authenticated packet from a new address moves the endpoint. */
static void veil_rx_endpoint(struct veil_peer *peer, const union veil_sockaddr *src)
{
	union veil_sockaddr *ep = &peer->endpoint;
	bool same;

	spin_lock(&peer->endpoint_lock);
	if (src->sa.sa_family == AF_INET)
		same = ep->sa.sa_family == AF_INET &&
		       ep->sin.sin_addr.s_addr == src->sin.sin_addr.s_addr &&
		       ep->sin.sin_port == src->sin.sin_port;
	else
		same = ep->sa.sa_family == AF_INET6 &&
		       ipv6_addr_equal(&ep->sin6.sin6_addr, &src->sin6.sin6_addr) &&
		       ep->sin6.sin6_port == src->sin6.sin6_port;
	if (!same) {
		*ep = *src;
		dst_cache_reset(&peer->dst_cache);
	}
	spin_unlock(&peer->endpoint_lock);
	if (!same)
		veil_nl_notify_endpoint(peer);
}

static bool veil_rx_source(struct sk_buff *skb, union veil_sockaddr *src)
{
	memset(src, 0, sizeof(*src));
	if (ip_hdr(skb)->version == 4) {
		src->sin.sin_family = AF_INET;
		src->sin.sin_addr.s_addr = ip_hdr(skb)->saddr;
		src->sin.sin_port = udp_hdr(skb)->source;
		return true;
	}
	if (ip_hdr(skb)->version == 6) {
		src->sin6.sin6_family = AF_INET6;
		src->sin6.sin6_addr = ipv6_hdr(skb)->saddr;
		src->sin6.sin6_port = udp_hdr(skb)->source;
		if (ipv6_addr_type(&src->sin6.sin6_addr) & IPV6_ADDR_LINKLOCAL)
			src->sin6.sin6_scope_id = inet6_iif(skb);
		return true;
	}
	return false;
}

/* Check the decrypted inner packet is one well-formed IP packet; trim it. */
static int veil_rx_inner(struct sk_buff *skb, u16 *family, const void **saddr)
{
	unsigned int len;

	skb_reset_network_header(skb);
	if (!pskb_may_pull(skb, 1))
		return -EINVAL;
	switch (skb->data[0] >> 4) {
	case 4:
		if (!pskb_may_pull(skb, sizeof(struct iphdr)) || ip_hdr(skb)->ihl < 5)
			return -EINVAL;
		len = ntohs(ip_hdr(skb)->tot_len);
		if (len < ip_hdr(skb)->ihl * 4 || len > skb->len || pskb_trim(skb, len))
			return -EINVAL;
		skb->protocol = htons(ETH_P_IP);
		*family = AF_INET;
		*saddr = &ip_hdr(skb)->saddr;
		return 0;
	case 6:
		if (!pskb_may_pull(skb, sizeof(struct ipv6hdr)))
			return -EINVAL;
		len = sizeof(struct ipv6hdr) + ntohs(ipv6_hdr(skb)->payload_len);
		if (len > skb->len || pskb_trim(skb, len))
			return -EINVAL;
		skb->protocol = htons(ETH_P_IPV6);
		*family = AF_INET6;
		*saddr = &ipv6_hdr(skb)->saddr;
		return 0;
	}
	return -EINVAL;
}

/*
 * An authentic inner packet of @peer: check it is well formed, comes from
 * an address the peer may use and is within its ports, then deliver it.
 * Consumes the skb.
 */
void veil_rx_finish(struct veil_peer *peer, struct sk_buff *skb)
{
	struct veil_device *vd = peer->vd;
	const struct veil_xlat *xlat;
	const void *saddr;
	unsigned int len;
	u16 family;

	if (veil_rx_inner(skb, &family, &saddr)) {
		veil_peer_drop(peer, MALFORMED);
		goto drop;
	}
	/* Checksums are updated in place below; the stack is told not to check. */
	skb->ip_summed = CHECKSUM_NONE;
	xlat = rcu_dereference(peer->xlat);
	if (unlikely(xlat)) {
		if (veil_xlat(xlat, skb, true))
			goto drop;
		saddr = family == AF_INET ? (void *)&ip_hdr(skb)->saddr :
					    (void *)&ipv6_hdr(skb)->saddr;
	}
	if (veil_peer_by_addr(vd, family, saddr) != peer) {
		veil_peer_drop(peer, SOURCE);
		goto drop;
	}
	if (!veil_ports_allow(peer, skb, true)) {
		veil_peer_drop(peer, PORT);
		goto drop;
	}
	if (veil_clamp_mss(skb, peer))
		goto drop;

	len = skb->len;
	skb_scrub_packet(skb, true);
	skb->dev = vd->dev;
	skb->pkt_type = PACKET_HOST;
	/* The AEAD vouched for every byte; the inner checksums need no check. */
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	skb->csum_level = ~0;
	skb_reset_mac_header(skb);
	skb_reset_transport_header(skb);
	veil_peer_rx_add(peer, len);
	if (gro_cells_receive(&vd->gro, skb) == NET_RX_SUCCESS)
		dev_sw_netstats_rx_add(vd->dev, len);
	return;

drop:
	DEV_STATS_INC(vd->dev, rx_errors);
	kfree_skb(skb);
}

int veil_udp_encap_rcv(struct sock *sk, struct sk_buff *skb)
{
	struct scatterlist sg[MAX_SKB_FRAGS + 8];
	const unsigned int off = sizeof(struct udphdr);
	struct veil_device *vd;
	struct veil_peer *peer;
	struct veil_keys *keys;
	struct veil_pkt_hdr h;
	union veil_sockaddr src;
	u8 hdr[VEIL_PKT_HDR_LEN];
	struct sk_buff *trailer;
	unsigned int len;
	int nsg;
	bool ok;

	vd = rcu_dereference_sk_user_data(sk);
	if (unlikely(!vd))
		goto drop;
	if (!pskb_may_pull(skb, off + 1))
		goto drop;
	/* RFC 7983: 128..191 is ours; STUN, DTLS, TURN go to the owner. */
	if (skb->data[off] < 128 || skb->data[off] > 191) {
		if (vd->own_sock)
			goto drop;
		return 1;
	}
	if (!pskb_may_pull(skb, off + VEIL_PKT_HDR_LEN))
		goto err;
	memcpy(hdr, skb->data + off, VEIL_PKT_HDR_LEN);
	if (veil_pkt_parse(hdr, skb->len - off, &h))
		goto err;
	peer = veil_peer_by_id(vd, h.receiver);
	if (unlikely(!peer))
		goto err;
	keys = veil_peer_rx_keys(peer, h.phase);
	if (unlikely(!keys)) {
		veil_peer_drop(peer, AUTH);
		goto err;
	}
	if (!veil_replay_fresh(&keys->replay, h.counter)) {
		veil_peer_drop(peer, REPLAY);
		goto err;
	}
	if (!veil_rx_source(skb, &src))
		goto err;

	__skb_pull(skb, off + VEIL_PKT_HDR_LEN);
	len = skb->len;
	nsg = skb_cow_data(skb, 0, &trailer);
	if (unlikely(nsg < 0 || nsg > ARRAY_SIZE(sg)))
		goto err;
	sg_init_table(sg, nsg);
	if (unlikely(skb_to_sgvec(skb, sg, 0, len) < 0))
		goto err;
	/* The length given to decryption includes the tag. */
	if (!chacha20poly1305_decrypt_sg_inplace(sg, len, hdr, sizeof(hdr), h.counter, keys->rx)) {
		veil_peer_drop(peer, AUTH);
		goto err;
	}
	spin_lock(&keys->replay_lock);
	ok = veil_replay_accept(&keys->replay, h.counter);
	spin_unlock(&keys->replay_lock);
	if (!ok) {
		veil_peer_drop(peer, REPLAY);
		goto err;
	}
	/* Authentic: the peer is alive and this is where it is now. */
	WRITE_ONCE(peer->last_rx, jiffies);
	veil_rx_endpoint(peer, &src);
	if (pskb_trim(skb, len - VEIL_PKT_TAG_LEN))
		goto err;
	if (!skb->len) {		/* keepalive */
		consume_skb(skb);
		return 0;
	}

	veil_rx_finish(peer, skb);
	return 0;

err:
	DEV_STATS_INC(vd->dev, rx_errors);
drop:
	kfree_skb(skb);
	return 0;
}
