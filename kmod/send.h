/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VEIL_SEND_H
#define _VEIL_SEND_H

#include <linux/netdevice.h>

struct veil_peer;

netdev_tx_t veil_xmit(struct sk_buff *skb, struct net_device *dev);
void veil_send_keepalive(struct veil_peer *peer);
unsigned int veil_peer_mtu(struct veil_peer *peer, bool fresh);

#endif /* _VEIL_SEND_H */
