// SPDX-License-Identifier: GPL-2.0
/*
 * veil.ko: module init and exit.
 */
#include <linux/module.h>
#include <net/genetlink.h>
#include <net/rtnetlink.h>
#include <uapi/linux/veil.h>

#include "device.h"
#include "dns.h"
#include "netlink.h"
#include "receive.h"
#include "socket.h"

#define VEIL_VERSION "0.1.0"

static int __init veil_init(void)
{
	int err;

	err = veil_socket_init();
	if (err)
		goto err_socket;

	err = veil_rx_wq_init();
	if (err)
		goto err_rx;

	err = veil_device_init();
	if (err)
		goto err_device;

	err = veil_dns_hook_init();
	if (err)
		goto err_hook;

	err = veil_dns_init();
	if (err)
		goto err_dns;

	err = veil_dns_pend_init();
	if (err)
		goto err_pend;

	err = veil_genl_init();
	if (err)
		goto err_genl;

	pr_info("veil " VEIL_VERSION " loaded\n");
	return 0;

err_genl:
	veil_dns_pend_uninit();
err_pend:
	veil_dns_uninit();
err_dns:
	veil_dns_hook_uninit();
err_hook:
	veil_device_uninit();
err_device:
	veil_rx_wq_uninit();
err_rx:
	veil_socket_uninit();
err_socket:
	return err;
}

static void __exit veil_exit(void)
{
	veil_genl_uninit();
	veil_dns_pend_uninit();
	veil_dns_uninit();
	veil_dns_hook_uninit();
	veil_device_uninit();
	veil_rx_wq_uninit();
	veil_socket_uninit();
}

module_init(veil_init);
module_exit(veil_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("veil: hidden applications behind encrypted, on-demand tunnels");
MODULE_VERSION(VEIL_VERSION);
MODULE_ALIAS_RTNL_LINK(VEIL_LINK_KIND);
MODULE_ALIAS_GENL_FAMILY(VEIL_GENL_NAME);
