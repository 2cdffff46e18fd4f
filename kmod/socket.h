/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VEIL_SOCKET_H
#define _VEIL_SOCKET_H

#include <linux/netlink.h>
#include <linux/types.h>

struct veil_device;

int veil_socket_open(struct veil_device *vd, u16 port, struct netlink_ext_ack *extack);
void veil_socket_close(struct veil_device *vd);

#endif /* _VEIL_SOCKET_H */
