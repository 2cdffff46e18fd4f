/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VEIL_NETLINK_H
#define _VEIL_NETLINK_H

#include <linux/types.h>

struct sk_buff;

int veil_genl_init(void);
void veil_genl_uninit(void);

struct veil_peer;
void veil_nl_notify_endpoint(struct veil_peer *peer);
void veil_nl_notify_rekey(struct veil_peer *peer, u64 counter);
struct net;
bool veil_nl_has_listeners(struct net *net);
void veil_nl_multicast(struct net *net, struct sk_buff *skb);
void *veil_nl_msg_put(struct sk_buff *skb, u32 portid, u32 seq, int flags, u8 cmd);

#endif /* _VEIL_NETLINK_H */
