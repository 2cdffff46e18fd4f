/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VEIL_DEVICE_H
#define _VEIL_DEVICE_H

#include <linux/netdevice.h>

/**
 * struct veil_device - private part of a veil net_device
 * @dev: the net_device this is the private part of
 */
struct veil_device {
	struct net_device *dev;
};

extern struct rtnl_link_ops veil_link_ops;

static inline bool veil_dev_is_veil(const struct net_device *dev)
{
	return dev->rtnl_link_ops == &veil_link_ops;
}

int veil_device_init(void);
void veil_device_uninit(void);

#endif /* _VEIL_DEVICE_H */
