/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VEIL_NETLINK_H
#define _VEIL_NETLINK_H

#include <linux/types.h>

int veil_genl_init(void);
void veil_genl_uninit(void);

struct veil_peer;
void veil_nl_notify_endpoint(struct veil_peer *peer);
void veil_nl_notify_rekey(struct veil_peer *peer, u64 counter);

#endif /* _VEIL_NETLINK_H */
