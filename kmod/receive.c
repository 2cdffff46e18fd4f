// SPDX-License-Identifier: GPL-2.0
/*
 * Receive: demultiplex the shared UDP port (RFC 7983), decrypt veil data in
 * place, check replay, inner source and ports, and deliver through GRO.
 * A packet that fails any check is dropped and counted, never answered.
 */
#include <crypto/chacha20poly1305.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/hash.h>
#include <linux/udp.h>
#include <linux/workqueue.h>
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

/* Parse the header of the veil data packet @skb and find its tunnel. */
static struct veil_peer *veil_rx_lookup(struct veil_device *vd, struct sk_buff *skb,
					 u8 *hdr, struct veil_pkt_hdr *h)
{
	const unsigned int off = sizeof(struct udphdr);

	if (!pskb_may_pull(skb, off + VEIL_PKT_HDR_LEN))
		return NULL;
	memcpy(hdr, skb->data + off, VEIL_PKT_HDR_LEN);
	if (veil_pkt_parse(hdr, skb->len - off, h))
		return NULL;
	return veil_peer_by_id(vd, h->receiver);
}

/*
 * Check replay, decrypt in place and deliver one data packet of @peer
 * (@skb->data is its UDP header; @hdr and @h its parsed veil header).
 * Caller holds RCU with BH disabled. Consumes the skb.
 */
static void veil_rx_decrypt(struct veil_peer *peer, struct sk_buff *skb,
			    const u8 *hdr, const struct veil_pkt_hdr *h)
{
	struct scatterlist sg[MAX_SKB_FRAGS + 8];
	const unsigned int off = sizeof(struct udphdr);
	struct veil_keys *keys;
	union veil_sockaddr src;
	struct sk_buff *trailer;
	unsigned int len;
	int nsg;
	bool ok;

	keys = veil_peer_rx_keys(peer, h->phase);
	if (unlikely(!keys)) {
		veil_peer_drop(peer, AUTH);
		goto err;
	}
	if (!veil_replay_fresh(&keys->replay, h->counter)) {
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
	if (!chacha20poly1305_decrypt_sg_inplace(sg, len, hdr, VEIL_PKT_HDR_LEN, h->counter,
						 keys->rx)) {
		veil_peer_drop(peer, AUTH);
		goto err;
	}
	spin_lock(&keys->replay_lock);
	ok = veil_replay_accept(&keys->replay, h->counter);
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
		return;
	}

	veil_rx_finish(peer, skb);
	return;

err:
	DEV_STATS_INC(peer->vd->dev, rx_errors);
	kfree_skb(skb);
}

/*
 * Multi-core receive. With veth, or a NIC that hashes a tunnel's 4-tuple
 * to one queue, every packet of a tunnel arrives on one CPU, the one that
 * also runs the sender (veth) or the NIC's interrupt. Decrypting there
 * would put all of a tunnel's crypto, and with one NIC queue all tunnels',
 * on that CPU. So the arriving CPU only parses the header and finds the
 * tunnel; decryption and delivery run on another CPU picked by hashing the
 * receiver index, in a per-device, per-CPU FIFO drained by a work item.
 * Packets of a tunnel that arrive on one CPU all go to the same queue and
 * stay in order; they can only overtake each other when the arriving CPU
 * changes, by at most one queue's length, far inside the replay window.
 * Queued packets hold no reference: the worker looks the tunnel up again
 * under RCU, and a tunnel removed meanwhile just drops them.
 */
#define VEIL_RXQ_LEN		1024	/* packets queued per CPU and device */
#define VEIL_RXQ_BATCH		64	/* packets decrypted per BH-off stretch */
#define VEIL_RXQ_ROUNDS		16	/* batches before the worker yields */

/**
 * struct veil_rxq - packets waiting for decryption on one CPU
 * @queue: the packets, FIFO (its lock guards it)
 * @work: drains @queue on this CPU
 * @vd: the device
 * @cpu: the CPU this queue belongs to
 */
struct veil_rxq {
	struct sk_buff_head queue;
	struct work_struct work;
	struct veil_device *vd;
	int cpu;
};

static struct workqueue_struct *veil_rx_wq;

static void veil_rx_one(struct veil_device *vd, struct sk_buff *skb)
{
	u8 hdr[VEIL_PKT_HDR_LEN];
	struct veil_pkt_hdr h;
	struct veil_peer *peer;

	peer = veil_rx_lookup(vd, skb, hdr, &h);
	if (unlikely(!peer)) {		/* removed while the packet waited */
		DEV_STATS_INC(vd->dev, rx_errors);
		kfree_skb(skb);
		return;
	}
	veil_rx_decrypt(peer, skb, hdr, &h);
}

static void veil_rx_work(struct work_struct *work)
{
	struct veil_rxq *q = container_of(work, struct veil_rxq, work);
	struct sk_buff_head batch;
	struct sk_buff *skb;
	int round, n;

	__skb_queue_head_init(&batch);
	for (round = 0; round < VEIL_RXQ_ROUNDS; round++) {
		/*
		 * BH stays off only for one batch: what it delivers sits in
		 * the GRO cell until BH is enabled again.
		 */
		local_bh_disable();
		spin_lock(&q->queue.lock);
		for (n = 0; n < VEIL_RXQ_BATCH && (skb = __skb_dequeue(&q->queue)); n++)
			__skb_queue_tail(&batch, skb);
		spin_unlock(&q->queue.lock);
		rcu_read_lock();
		while ((skb = __skb_dequeue(&batch)))
			veil_rx_one(q->vd, skb);
		rcu_read_unlock();
		local_bh_enable();
		if (n < VEIL_RXQ_BATCH)
			return;
		cond_resched();
	}
	/* Still more: let other work on this CPU run first. */
	queue_work_on(q->cpu, veil_rx_wq, &q->work);
}

/* The CPU that decrypts for this receiver index, or -1 for this one. */
static int veil_rx_cpu(u32 receiver)
{
	unsigned int n = num_online_cpus(), self = smp_processor_id(), cpu;

	if (n < 2)
		return -1;
	/* Never this CPU: it already carries the arrival (and the sender). */
	cpu = self + 1 + reciprocal_scale(hash_32(receiver, 32), nr_cpu_ids - 1);
	if (cpu >= nr_cpu_ids)
		cpu -= nr_cpu_ids;
	if (unlikely(!cpu_online(cpu)))
		cpu = cpumask_any_but(cpu_online_mask, self);
	return cpu < nr_cpu_ids ? cpu : -1;
}

/*
 * A hand-off wakes another CPU, which only pays when there is load to
 * share: a tunnel that carried fewer than VEIL_RX_STEER_MIN packets in the
 * previous tick (a ping, keepalives, an interactive session) is decrypted
 * where it arrives, without that latency. The choice is made once per
 * tick, and a tunnel goes back to the synchronous path only once its
 * queue is empty, so packets cannot overtake those still queued.
 */
#define VEIL_RX_STEER_MIN	8

static int veil_rx_steer(struct veil_device *vd, struct veil_peer *peer, u32 receiver)
{
	unsigned long now = jiffies, tick = READ_ONCE(peer->rx_tick);
	bool steer = READ_ONCE(peer->rx_steer);
	int cpu = veil_rx_cpu(receiver);

	if (cpu < 0)
		return -1;
	if (likely(tick == now)) {
		WRITE_ONCE(peer->rx_count, READ_ONCE(peer->rx_count) + 1);
		return steer ? cpu : -1;
	}
	if (tick == now - 1 && READ_ONCE(peer->rx_count) >= VEIL_RX_STEER_MIN)
		steer = true;
	else if (steer)
		steer = !skb_queue_empty_lockless(&per_cpu_ptr(vd->rxq, cpu)->queue);
	WRITE_ONCE(peer->rx_steer, steer);
	WRITE_ONCE(peer->rx_count, 1);
	WRITE_ONCE(peer->rx_tick, now);
	return steer ? cpu : -1;
}

static void veil_rx_enqueue(struct veil_device *vd, struct sk_buff *skb, int cpu)
{
	struct veil_rxq *q = per_cpu_ptr(vd->rxq, cpu);

	/*
	 * The route may be a reference-free one, valid only in this RCU
	 * section, and the arrival device may go before the packet is
	 * decrypted: keep neither.
	 */
	skb_dst_drop(skb);
	skb->dev = vd->dev;
	spin_lock(&q->queue.lock);
	if (unlikely(skb_queue_len(&q->queue) >= VEIL_RXQ_LEN)) {
		spin_unlock(&q->queue.lock);
		dev_core_stats_rx_dropped_inc(vd->dev);
		kfree_skb(skb);
		return;
	}
	__skb_queue_tail(&q->queue, skb);
	spin_unlock(&q->queue.lock);
	queue_work_on(cpu, veil_rx_wq, &q->work);
}

int veil_rx_init(struct veil_device *vd)
{
	int cpu;

	vd->rxq = alloc_percpu(struct veil_rxq);
	if (!vd->rxq)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct veil_rxq *q = per_cpu_ptr(vd->rxq, cpu);

		skb_queue_head_init(&q->queue);
		INIT_WORK(&q->work, veil_rx_work);
		q->vd = vd;
		q->cpu = cpu;
	}
	return 0;
}

/* After the device's sockets are released: nothing can queue any more. */
void veil_rx_uninit(struct veil_device *vd)
{
	int cpu;

	if (!vd->rxq)
		return;
	/* Wait for encap_rcv calls that found the device before the release. */
	synchronize_net();
	for_each_possible_cpu(cpu) {
		struct veil_rxq *q = per_cpu_ptr(vd->rxq, cpu);

		cancel_work_sync(&q->work);
		skb_queue_purge(&q->queue);
	}
	free_percpu(vd->rxq);
	vd->rxq = NULL;
}

int __init veil_rx_wq_init(void)
{
	veil_rx_wq = alloc_workqueue("veil-rx", WQ_CPU_INTENSIVE | WQ_HIGHPRI | WQ_MEM_RECLAIM, 0);
	return veil_rx_wq ? 0 : -ENOMEM;
}

void veil_rx_wq_uninit(void)
{
	destroy_workqueue(veil_rx_wq);
}

int veil_udp_encap_rcv(struct sock *sk, struct sk_buff *skb)
{
	const unsigned int off = sizeof(struct udphdr);
	u8 hdr[VEIL_PKT_HDR_LEN];
	struct veil_device *vd;
	struct veil_peer *peer;
	struct veil_pkt_hdr h;
	int cpu;

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
	/* Unknown tunnels are dropped here, before they cost a queue slot. */
	peer = veil_rx_lookup(vd, skb, hdr, &h);
	if (unlikely(!peer)) {
		DEV_STATS_INC(vd->dev, rx_errors);
		goto drop;
	}
	cpu = veil_rx_steer(vd, peer, h.receiver);
	if (cpu < 0)
		veil_rx_decrypt(peer, skb, hdr, &h);
	else
		veil_rx_enqueue(vd, skb, cpu);
	return 0;

drop:
	kfree_skb(skb);
	return 0;
}
