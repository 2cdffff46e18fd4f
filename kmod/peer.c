// SPDX-License-Identifier: GPL-2.0
/*
 * Tunnels ("peers"): lookup by receiver index and by inner address, their
 * keys, allowed prefixes and allowed ports. Configuration runs under
 * vd->lock; the data path only reads, under RCU.
 */
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/jhash.h>
#include <linux/slab.h>
#include <net/ip.h>
#include <net/ipv6.h>

#include "device.h"
#include "peer.h"
#include "send.h"

struct veil_peer *veil_peer_by_id(struct veil_device *vd, u32 id)
{
	struct veil_peer *peer;

	hash_for_each_possible_rcu(vd->peers, peer, id_node, id) {
		if (peer->id == id)
			return peer;
	}
	return NULL;
}

static u32 veil_allowed_hash(u16 family, const void *addr, u8 cidr)
{
	if (family == AF_INET)
		return jhash_2words(*(const u32 *)addr, cidr, 0);
	return jhash2(addr, 4, cidr);
}

static void veil_mask(u16 family, const void *addr, u8 cidr, void *out)
{
	if (family == AF_INET) {
		__be32 a = *(const __be32 *)addr;

		*(__be32 *)out = cidr ? a & htonl(~0U << (32 - cidr)) : 0;
	} else {
		ipv6_addr_prefix(out, addr, cidr);
	}
}

static struct veil_peer *veil_allowed_find(struct veil_device *vd, u16 family,
					   const void *masked, u8 cidr)
{
	struct veil_allowed *a;
	size_t len = family == AF_INET ? 4 : 16;

	hash_for_each_possible_rcu(vd->allowed, a, node,
				   veil_allowed_hash(family, masked, cidr)) {
		if (a->family == family && a->cidr == cidr && !memcmp(&a->addr, masked, len))
			return a->peer;
	}
	return NULL;
}

/* The tunnel that has exactly this prefix, if any; under vd->lock. */
struct veil_peer *veil_prefix_owner(struct veil_device *vd, u16 family, const void *addr, u8 cidr)
{
	struct in6_addr masked;

	veil_mask(family, addr, cidr, &masked);
	return veil_allowed_find(vd, family, &masked, cidr);
}

/* Longest-prefix match of an inner address; caller holds RCU. */
struct veil_peer *veil_peer_by_addr(struct veil_device *vd, u16 family, const void *addr)
{
	struct in6_addr masked;
	struct veil_peer *peer;
	int cidr;

	if (family == AF_INET) {
		u64 lens = READ_ONCE(vd->lens4);

		while (lens) {
			cidr = fls64(lens) - 1;
			lens &= ~(1ULL << cidr);
			veil_mask(family, addr, cidr, &masked);
			peer = veil_allowed_find(vd, family, &masked, cidr);
			if (peer)
				return peer;
		}
		return NULL;
	}
	for (cidr = 128; cidr >= 0; cidr--) {
		if (!test_bit(cidr, vd->lens6))
			continue;
		veil_mask(family, addr, cidr, &masked);
		peer = veil_allowed_find(vd, family, &masked, cidr);
		if (peer)
			return peer;
	}
	return NULL;
}

/* Recompute which prefix lengths exist; under vd->lock. */
static void veil_allowed_update_lens(struct veil_device *vd)
{
	DECLARE_BITMAP(lens6, 129);
	struct veil_allowed *a;
	u64 lens4 = 0;
	int bkt;

	bitmap_zero(lens6, 129);
	hash_for_each(vd->allowed, bkt, a, node) {
		if (a->family == AF_INET)
			lens4 |= 1ULL << a->cidr;
		else
			__set_bit(a->cidr, lens6);
	}
	WRITE_ONCE(vd->lens4, lens4);
	/* Readers tolerate a stale bit: a miss for one length costs a lookup. */
	bitmap_copy(vd->lens6, lens6, 129);
}

int veil_peer_add_allowed(struct veil_peer *peer, u16 family, const void *addr, u8 cidr)
{
	struct veil_device *vd = peer->vd;
	struct veil_allowed *a;
	struct in6_addr masked;

	lockdep_assert_held(&vd->lock);
	veil_mask(family, addr, cidr, &masked);
	if (veil_allowed_find(vd, family, &masked, cidr))
		return -EEXIST;
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	a->peer = peer;
	a->family = family;
	a->cidr = cidr;
	memcpy(&a->addr, &masked, family == AF_INET ? 4 : 16);
	list_add_tail(&a->peer_list, &peer->allowed);
	hash_add_rcu(vd->allowed, &a->node, veil_allowed_hash(family, &masked, cidr));
	veil_allowed_update_lens(vd);
	return 0;
}

void veil_peer_clear_allowed(struct veil_peer *peer)
{
	struct veil_allowed *a, *tmp;

	lockdep_assert_held(&peer->vd->lock);
	list_for_each_entry_safe(a, tmp, &peer->allowed, peer_list) {
		hash_del_rcu(&a->node);
		list_del(&a->peer_list);
		kfree_rcu(a, rcu);
	}
	veil_allowed_update_lens(peer->vd);
}

static void veil_keepalive_fire(struct timer_list *t)
{
	struct veil_peer *peer = from_timer(peer, t, keepalive_timer);
	unsigned long period = READ_ONCE(peer->keepalive) * HZ;

	if (READ_ONCE(peer->dead) || !period)
		return;
	if (time_after_eq(jiffies, READ_ONCE(peer->last_tx) + period - HZ / 4))
		veil_send_keepalive(peer);
	mod_timer(&peer->keepalive_timer, jiffies + period);
}

struct veil_peer *veil_peer_create(struct veil_device *vd, u32 id)
{
	struct veil_peer *peer;

	lockdep_assert_held(&vd->lock);
	peer = kzalloc(sizeof(*peer), GFP_KERNEL);
	if (!peer)
		return ERR_PTR(-ENOMEM);
	peer->stats = netdev_alloc_pcpu_stats(struct veil_pstats);
	if (!peer->stats) {
		kfree(peer);
		return ERR_PTR(-ENOMEM);
	}
	if (dst_cache_init(&peer->dst_cache, GFP_KERNEL)) {
		free_percpu(peer->stats);
		kfree(peer);
		return ERR_PTR(-ENOMEM);
	}
	peer->vd = vd;
	peer->id = id;
	spin_lock_init(&peer->endpoint_lock);
	INIT_LIST_HEAD(&peer->allowed);
	timer_setup(&peer->keepalive_timer, veil_keepalive_fire, 0);
	hash_add_rcu(vd->peers, &peer->id_node, id);
	vd->npeers++;
	return peer;
}

static void veil_keys_free_rcu(struct rcu_head *rcu)
{
	kfree_sensitive(container_of(rcu, struct veil_keys, rcu));
}

static void veil_peer_free_rcu(struct rcu_head *rcu)
{
	struct veil_peer *peer = container_of(rcu, struct veil_peer, rcu);

	kfree_sensitive(rcu_dereference_protected(peer->keys, 1));
	kfree_sensitive(rcu_dereference_protected(peer->next, 1));
	kfree_sensitive(rcu_dereference_protected(peer->prev, 1));
	kfree(rcu_dereference_protected(peer->ports, 1));
	kfree(rcu_dereference_protected(peer->xlat, 1));
	dst_cache_destroy(&peer->dst_cache);
	free_percpu(peer->stats);
	kfree(peer);
}

void veil_peer_get_stats(const struct veil_peer *peer, struct veil_pstats_total *t)
{
	int cpu, i;

	memset(t, 0, sizeof(*t));
	for_each_possible_cpu(cpu) {
		const struct veil_pstats *s = per_cpu_ptr(peer->stats, cpu);
		u64 rxp, rxb, txp, txb, drop[VEIL_PSTATS_NDROP];
		unsigned int start;

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			rxp = u64_stats_read(&s->rx_packets);
			rxb = u64_stats_read(&s->rx_bytes);
			txp = u64_stats_read(&s->tx_packets);
			txb = u64_stats_read(&s->tx_bytes);
			for (i = 0; i < VEIL_PSTATS_NDROP; i++)
				drop[i] = u64_stats_read(&s->drop[i]);
		} while (u64_stats_fetch_retry(&s->syncp, start));
		t->rx_packets += rxp;
		t->rx_bytes += rxb;
		t->tx_packets += txp;
		t->tx_bytes += txb;
		for (i = 0; i < VEIL_PSTATS_NDROP; i++)
			t->drop[i] += drop[i];
	}
}

/* First phase: unpublish. Readers that found the peer may still use it. */
static void veil_peer_unhash(struct veil_peer *peer)
{
	WRITE_ONCE(peer->dead, true);
	hash_del_rcu(&peer->id_node);
	veil_peer_clear_allowed(peer);
	peer->vd->npeers--;
}

/* Second phase, after synchronize_net(): no reader is left. */
static void veil_peer_release(struct veil_peer *peer)
{
	del_timer_sync(&peer->keepalive_timer);
	call_rcu(&peer->rcu, veil_peer_free_rcu);
}

void veil_peer_remove(struct veil_peer *peer)
{
	lockdep_assert_held(&peer->vd->lock);
	veil_peer_unhash(peer);
	synchronize_net();
	veil_peer_release(peer);
}

void veil_peer_remove_all(struct veil_device *vd)
{
	struct veil_peer *peer, *next;
	struct hlist_node *tmp;
	LIST_HEAD(dying);
	int bkt;

	lockdep_assert_held(&vd->lock);
	if (!vd->npeers)
		return;
	/* One grace period for all: unpublish every peer, then release. */
	hash_for_each_safe(vd->peers, bkt, tmp, peer, id_node) {
		veil_peer_unhash(peer);
		list_add(&peer->dying, &dying);
	}
	synchronize_net();
	list_for_each_entry_safe(peer, next, &dying, dying)
		veil_peer_release(peer);
}

static void veil_keys_init(struct veil_keys *keys, u8 phase)
{
	spin_lock_init(&keys->replay_lock);
	veil_replay_init(&keys->replay);
	atomic64_set(&keys->tx_counter, 0);
	keys->phase = phase;
}

/* Publish @keys (or NULL) in @slot; the old ones are wiped after RCU. */
static void veil_keys_replace(struct veil_peer *peer, struct veil_keys __rcu **slot,
			      struct veil_keys *keys)
{
	struct veil_keys *old;

	old = rcu_replace_pointer(*slot, keys, lockdep_is_held(&peer->vd->lock));
	if (old)
		call_rcu(&old->rcu, veil_keys_free_rcu);
}

/* New current keys, phase 0; next and previous keys are forgotten. */
void veil_peer_set_keys(struct veil_peer *peer, struct veil_keys *keys)
{
	veil_keys_init(keys, 0);
	veil_keys_replace(peer, &peer->next, NULL);
	veil_keys_replace(peer, &peer->prev, NULL);
	veil_keys_replace(peer, &peer->keys, keys);
}

/* Keys for the next KEY_SWAP, in the phase after the current one. */
void veil_peer_set_next_keys(struct veil_peer *peer, struct veil_keys *keys)
{
	struct veil_keys *cur = rcu_dereference_protected(peer->keys,
							  lockdep_is_held(&peer->vd->lock));

	veil_keys_init(keys, cur ? !cur->phase : 0);
	/* The previous keys share the next phase: they retire now. */
	veil_keys_replace(peer, &peer->prev, NULL);
	veil_keys_replace(peer, &peer->next, keys);
}

int veil_peer_swap_keys(struct veil_peer *peer)
{
	struct veil_keys *next, *cur;

	next = rcu_dereference_protected(peer->next, lockdep_is_held(&peer->vd->lock));
	if (!next)
		return -ENOKEY;
	cur = rcu_dereference_protected(peer->keys, lockdep_is_held(&peer->vd->lock));
	rcu_assign_pointer(peer->next, NULL);
	if (cur)
		cur->retired = jiffies;
	/* Order: old keys become previous before new keys become current. */
	veil_keys_replace(peer, &peer->prev, cur);
	rcu_assign_pointer(peer->keys, next);
	return 0;
}

/* The keys that decrypt a packet of key @phase; caller holds RCU. */
struct veil_keys *veil_peer_rx_keys(struct veil_peer *peer, u8 phase)
{
	struct veil_keys *k = rcu_dereference(peer->keys);

	if (likely(k && k->phase == phase))
		return k;
	k = rcu_dereference(peer->next);
	if (k)
		return k;
	k = rcu_dereference(peer->prev);
	if (k && time_before(jiffies, k->retired + VEIL_KEY_GRACE_SECONDS * HZ))
		return k;
	return NULL;
}

void veil_peer_set_ports(struct veil_peer *peer, struct veil_ports *ports)
{
	struct veil_ports *old;

	old = rcu_replace_pointer(peer->ports, ports, lockdep_is_held(&peer->vd->lock));
	if (old)
		kfree_rcu(old, rcu);
}

void veil_peer_set_xlat(struct veil_peer *peer, struct veil_xlat *xlat)
{
	struct veil_xlat *old;

	old = rcu_replace_pointer(peer->xlat, xlat, lockdep_is_held(&peer->vd->lock));
	if (old)
		kfree_rcu(old, rcu);
}

void veil_peer_set_endpoint(struct veil_peer *peer, const union veil_sockaddr *ep)
{
	spin_lock_bh(&peer->endpoint_lock);
	peer->endpoint = *ep;
	dst_cache_reset(&peer->dst_cache);
	spin_unlock_bh(&peer->endpoint_lock);
}

void veil_peer_set_keepalive(struct veil_peer *peer, u16 seconds)
{
	WRITE_ONCE(peer->keepalive, seconds);
	if (seconds)
		mod_timer(&peer->keepalive_timer, jiffies + seconds * HZ);
	else
		del_timer(&peer->keepalive_timer);
}

/*
 * The port filter. @skb->data is the inner IP header. Which port counts
 * depends on the direction and on which end the services are: a client
 * sends to a service port and hears back from it; a server hears on it.
 */
bool veil_ports_allow(const struct veil_peer *peer, struct sk_buff *skb, bool rx)
{
	const struct veil_ports *ports = rcu_dereference_bh(peer->ports);
	bool want_dst = rx == (READ_ONCE(peer->role) == VEIL_ROLE_SERVER);
	__be16 pp[2], *hp;
	unsigned int i, off;
	u8 proto, type, *tp;
	u16 port;

	if (!ports || !ports->n)
		return true;

	if (skb->protocol == htons(ETH_P_IP)) {
		const struct iphdr *iph = ip_hdr(skb);

		if (ip_is_fragment(iph) && (iph->frag_off & htons(IP_OFFSET)))
			return false;	/* no ports in a later fragment */
		proto = iph->protocol;
		off = iph->ihl * 4;
	} else {
		__be16 frag_off = 0;
		int o;

		proto = ipv6_hdr(skb)->nexthdr;
		o = ipv6_skip_exthdr(skb, sizeof(struct ipv6hdr), &proto, &frag_off);
		if (o < 0 || (frag_off & htons(~0x7)))
			return false;
		off = o;
		if (proto == IPPROTO_ICMPV6)
			proto = IPPROTO_ICMP;
	}

	if (proto == IPPROTO_ICMP) {
		tp = skb_header_pointer(skb, off, 1, &type);
		if (!tp)
			return false;
		/* Errors (unreachable, too big, time exceeded) keep PMTU working. */
		if (skb->protocol == htons(ETH_P_IP) ?
		    (*tp == ICMP_DEST_UNREACH || *tp == ICMP_TIME_EXCEEDED) :
		    (*tp < 128))
			return true;
		for (i = 0; i < ports->n; i++)
			if (ports->r[i].proto == IPPROTO_ICMP)
				return true;
		return false;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return false;
	hp = skb_header_pointer(skb, off, sizeof(pp), pp);
	if (!hp)
		return false;
	port = ntohs(hp[want_dst ? 1 : 0]);
	for (i = 0; i < ports->n; i++) {
		if (ports->r[i].proto == proto && port >= ports->r[i].min &&
		    port <= ports->r[i].max)
			return true;
	}
	return false;
}
