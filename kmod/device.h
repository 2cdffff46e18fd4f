/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VEIL_DEVICE_H
#define _VEIL_DEVICE_H

#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/workqueue.h>
#include <net/gro_cells.h>
#include <net/sock.h>

struct veil_adopted;
struct veil_rxq;

#define VEIL_PEER_HASH_BITS	8
#define VEIL_ALLOWED_HASH_BITS	10

/**
 * struct veil_device - private part of a veil net_device
 * @dev: the net_device this is the private part of
 * @lock: serializes configuration (sockets, peers); the data path only
 *	reads, under RCU
 * @sock4: socket sending and receiving over IPv4, or NULL (RCU, written
 *	under @lock). For a dual-stack adopted socket, the same as @sock6.
 * @sock6: socket for IPv6, or NULL (RCU, written under @lock)
 * @own_sock: the sockets were opened by the module, not adopted from a
 *	daemon: nothing but veil data is expected on them
 * @adopted: the daemon's socket when @sock4/@sock6 is one, else NULL
 *	(written under @lock)
 * @sock_gone: runs when the daemon closes @adopted (socket.c)
 * @port: UDP port of the sockets, 0 when there are none (written under
 *	@lock)
 * @dead: the device is being unregistered: it takes no new socket (under
 *	@lock)
 * @peers: tunnels by receiver index (RCU, written under @lock)
 * @allowed: allowed inner prefixes by masked address (RCU, under @lock)
 * @lens4: bit N set when some IPv4 prefix of length N exists (under @lock)
 * @lens6: the same for IPv6 prefix lengths
 * @npeers: number of tunnels (under @lock)
 * @rxq: per-CPU queues of packets waiting for decryption (receive.c)
 * @gro: GRO cells for delivering decrypted packets
 */
struct veil_device {
	struct net_device *dev;
	struct mutex lock;
	struct sock __rcu *sock4;
	struct sock __rcu *sock6;
	bool own_sock;
	struct veil_adopted *adopted;
	struct work_struct sock_gone;
	u16 port;
	bool dead;
	DECLARE_HASHTABLE(peers, VEIL_PEER_HASH_BITS);
	DECLARE_HASHTABLE(allowed, VEIL_ALLOWED_HASH_BITS);
	u64 lens4;
	unsigned long lens6[BITS_TO_LONGS(129)];
	u32 npeers;
	struct veil_rxq __percpu *rxq;
	struct gro_cells gro;
};

extern struct rtnl_link_ops veil_link_ops;

static inline bool veil_dev_is_veil(const struct net_device *dev)
{
	return dev->rtnl_link_ops == &veil_link_ops;
}

int veil_device_init(void);
void veil_device_uninit(void);

#endif /* _VEIL_DEVICE_H */
