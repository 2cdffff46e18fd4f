/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VEIL_PEER_H
#define _VEIL_PEER_H

#include <linux/in6.h>
#include <linux/kref.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/u64_stats_sync.h>
#include <net/dst_cache.h>
#include <uapi/linux/veil.h>

#include "replay.h"

struct veil_device;

/**
 * struct veil_keys - one set of session keys; replaced whole, freed after
 *	an RCU grace period and wiped
 * @tx: key for packets sent
 * @rx: key for packets received
 * @tx_counter: next counter (nonce) to send
 * @replay_lock: guards @replay
 * @replay: window of counters received with @rx
 * @phase: key phase carried in the header of packets sealed with @tx
 * @retired: jiffies when a KEY_SWAP replaced these keys (previous keys only)
 */
struct veil_keys {
	u8 tx[VEIL_KEY_LEN];
	u8 rx[VEIL_KEY_LEN];
	u8 phase;
	unsigned long retired;
	atomic64_t tx_counter;
	spinlock_t replay_lock;
	struct veil_replay replay;
	struct rcu_head rcu;
};

/**
 * struct veil_ports - allowed protocol/port ranges, replaced whole (RCU)
 */
struct veil_port_range {
	u8 proto;
	u16 min;
	u16 max;
};

struct veil_ports {
	struct rcu_head rcu;
	unsigned int n;
	struct veil_port_range r[];
};

union veil_inaddr {
	__be32 v4;
	struct in6_addr v6;
};

/**
 * struct veil_xlat - 1:1 inner address translation, replaced whole (RCU)
 * @src_family: family of @src and @src_to, 0 when that pair is unset
 * @src: the peer's own inner address
 * @src_to: the address the peer appears with here
 * @dst_family: family of @dst and @dst_to, 0 when that pair is unset
 * @dst: the address the peer sends to
 * @dst_to: the local or private target it stands for
 */
struct veil_xlat {
	struct rcu_head rcu;
	u16 src_family;
	u16 dst_family;
	union veil_inaddr src, src_to, dst, dst_to;
};

union veil_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

#define VEIL_PSTATS_NDROP (VEIL_A_PSTATS_DROP_NOKEY - VEIL_A_PSTATS_DROP_AUTH + 1)

/**
 * struct veil_pstats - per-tunnel counters of one CPU; each CPU writes its
 *	own with BH disabled, readers sum them (veil_peer_get_stats)
 * @syncp: makes the 64-bit counters readable whole on 32-bit machines
 */
struct veil_pstats {
	u64_stats_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	u64_stats_t drop[VEIL_PSTATS_NDROP];
	struct u64_stats_sync syncp;
};

/**
 * struct veil_pstats_total - the counters of a tunnel summed over CPUs
 */
struct veil_pstats_total {
	u64 rx_packets, rx_bytes, tx_packets, tx_bytes;
	u64 drop[VEIL_PSTATS_NDROP];
};

#define veil_peer_drop(p, what) \
	veil_peer_drop_idx(p, VEIL_A_PSTATS_DROP_##what - VEIL_A_PSTATS_DROP_AUTH)

/**
 * struct veil_peer - one tunnel
 * @vd: the device it belongs to
 * @id: local receiver index (key of @id_node)
 * @remote_id: the other end's receiver index
 * @id_node: in vd->peers (under vd->lock, RCU readers)
 * @keys: current keys (RCU, replaced under vd->lock)
 * @next: keys installed for the next KEY_SWAP, or NULL (RCU, under vd->lock)
 * @prev: keys the last KEY_SWAP replaced, decrypting during the grace
 *	period, or NULL (RCU, under vd->lock)
 * @ports: allowed ports or NULL for all (RCU, replaced under vd->lock)
 * @xlat: address translation or NULL for none (RCU, under vd->lock)
 * @mtu: largest inner packet the path to @endpoint carries unfragmented,
 *	0 until a route is known
 * @role: enum veil_role
 * @endpoint_lock: guards @endpoint (written on config and on roaming)
 * @endpoint: where to send; family AF_UNSPEC when unknown
 * @dst_cache: route to @endpoint
 * @keepalive: seconds, 0 for none
 * @keepalive_timer: fires every @keepalive seconds
 * @last_rx: jiffies of the last authenticated packet, 0 if none
 * @last_tx: jiffies of the last packet sent
 * @rx_tick: jiffies of the last arrival (receive.c, written racily by
 *	arriving CPUs: it only steers where packets are decrypted)
 * @rx_count: packets arrived in the tick @rx_tick
 * @rx_steer: decrypt on another CPU during this tick
 * @allowed: this peer's entries in vd->allowed
 * @stats: counters, one set per CPU
 * @dead: set when the peer is being removed
 * @dying: in a list of peers being removed together (under vd->lock)
 * @rcu: for freeing after a grace period
 */
struct veil_peer {
	struct veil_device *vd;
	u32 id;
	u32 remote_id;
	struct hlist_node id_node;
	struct veil_keys __rcu *keys;
	struct veil_keys __rcu *next;
	struct veil_keys __rcu *prev;
	struct veil_ports __rcu *ports;
	struct veil_xlat __rcu *xlat;
	unsigned int mtu;
	u8 role;
	spinlock_t endpoint_lock;
	union veil_sockaddr endpoint;
	struct dst_cache dst_cache;
	u16 keepalive;
	struct timer_list keepalive_timer;
	unsigned long last_rx;
	unsigned long last_tx;
	unsigned long rx_tick;
	u32 rx_count;
	bool rx_steer;
	struct list_head allowed;
	struct veil_pstats __percpu *stats;
	bool dead;
	struct list_head dying;
	struct rcu_head rcu;
};

/**
 * struct veil_allowed - one allowed inner prefix of a peer
 */
struct veil_allowed {
	struct hlist_node node;		/* in vd->allowed, RCU */
	struct list_head peer_list;	/* in peer->allowed, under vd->lock */
	struct veil_peer *peer;
	u16 family;
	u8 cidr;
	union {
		__be32 v4;
		struct in6_addr v6;
	} addr;				/* masked to cidr */
	struct rcu_head rcu;
};

struct veil_peer *veil_peer_by_id(struct veil_device *vd, u32 id);
struct veil_peer *veil_prefix_owner(struct veil_device *vd, u16 family, const void *addr, u8 cidr);
struct veil_peer *veil_peer_by_addr(struct veil_device *vd, u16 family, const void *addr);
int veil_peer_add_allowed(struct veil_peer *peer, u16 family, const void *addr, u8 cidr);
void veil_peer_clear_allowed(struct veil_peer *peer);
struct veil_peer *veil_peer_create(struct veil_device *vd, u32 id);
void veil_peer_remove(struct veil_peer *peer);
void veil_peer_remove_all(struct veil_device *vd);
void veil_peer_set_keys(struct veil_peer *peer, struct veil_keys *keys);
void veil_peer_set_next_keys(struct veil_peer *peer, struct veil_keys *keys);
int veil_peer_swap_keys(struct veil_peer *peer);
struct veil_keys *veil_peer_rx_keys(struct veil_peer *peer, u8 phase);
void veil_peer_set_ports(struct veil_peer *peer, struct veil_ports *ports);
void veil_peer_set_xlat(struct veil_peer *peer, struct veil_xlat *xlat);
void veil_peer_set_endpoint(struct veil_peer *peer, const union veil_sockaddr *ep);
void veil_peer_set_keepalive(struct veil_peer *peer, u16 seconds);

void veil_peer_get_stats(const struct veil_peer *peer, struct veil_pstats_total *t);

/*
 * Counter updates run on the data path with BH disabled (softirq, the
 * transmit path, the receive workers), so this CPU's set is ours alone.
 */
static inline void veil_peer_rx_add(struct veil_peer *peer, unsigned int len)
{
	struct veil_pstats *s = this_cpu_ptr(peer->stats);

	u64_stats_update_begin(&s->syncp);
	u64_stats_inc(&s->rx_packets);
	u64_stats_add(&s->rx_bytes, len);
	u64_stats_update_end(&s->syncp);
}

static inline void veil_peer_tx_add(struct veil_peer *peer, unsigned int len)
{
	struct veil_pstats *s = this_cpu_ptr(peer->stats);

	u64_stats_update_begin(&s->syncp);
	u64_stats_inc(&s->tx_packets);
	u64_stats_add(&s->tx_bytes, len);
	u64_stats_update_end(&s->syncp);
}

static inline void veil_peer_drop_idx(struct veil_peer *peer, unsigned int i)
{
	struct veil_pstats *s = this_cpu_ptr(peer->stats);

	u64_stats_update_begin(&s->syncp);
	u64_stats_inc(&s->drop[i]);
	u64_stats_update_end(&s->syncp);
}

bool veil_ports_allow(const struct veil_peer *peer, struct sk_buff *skb, bool rx);

#endif /* _VEIL_PEER_H */
