/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VEIL_NETLINK_H
#define _VEIL_NETLINK_H

int veil_genl_init(void);
void veil_genl_uninit(void);

#endif /* _VEIL_NETLINK_H */
