/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VEIL_SOCKET_H
#define _VEIL_SOCKET_H

#include <linux/netlink.h>
#include <linux/socket.h>
#include <linux/types.h>

struct veil_device;

struct socket;

int veil_socket_init(void);
void veil_socket_uninit(void);
void veil_socket_init_dev(struct veil_device *vd);
int veil_socket_open(struct veil_device *vd, u16 port, struct netlink_ext_ack *extack);
int veil_socket_adopt(struct veil_device *vd, struct socket *sock, struct netlink_ext_ack *extack);
void veil_socket_close(struct veil_device *vd);
bool veil_socket_carries(struct veil_device *vd, sa_family_t family);

#endif /* _VEIL_SOCKET_H */
