// SPDX-License-Identifier: GPL-2.0
/*
 * The veil network device: a layer-3 point-to-point interface. Routes to
 * secure addresses (100.64.0.0/10) point at it; what it transmits is carried
 * by the tunnels of this device.
 */
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/rtnetlink.h>
#include <uapi/linux/veil.h>

#include "compat.h"
#include "device.h"
#include "peer.h"
#include "receive.h"
#include "send.h"
#include "socket.h"

/*
 * Worst-case encapsulation: outer IPv6 (40) + UDP (8) + veil header (16) +
 * AEAD tag (16). The MTU may not grow so large that an encapsulated packet
 * no longer fits an IP datagram.
 */
#define VEIL_OVERHEAD (40 + 8 + 16 + 16)

static int veil_dev_init(struct net_device *dev)
{
	struct veil_device *vd = netdev_priv(dev);
	int err;

	vd->dev = dev;
	mutex_init(&vd->lock);
	hash_init(vd->peers);
	hash_init(vd->allowed);
	veil_socket_init_dev(vd);
	dev->tstats = netdev_alloc_pcpu_stats(struct pcpu_sw_netstats);
	if (!dev->tstats)
		return -ENOMEM;
	err = gro_cells_init(&vd->gro, dev);
	if (err)
		goto err_gro;
	err = veil_rx_init(vd);
	if (err)
		goto err_rx;
	return 0;

err_rx:
	gro_cells_destroy(&vd->gro);
err_gro:
	free_percpu(dev->tstats);
	dev->tstats = NULL;
	return err;
}

static void veil_dev_uninit(struct net_device *dev)
{
	struct veil_device *vd = netdev_priv(dev);

	mutex_lock(&vd->lock);
	/* A DEV_SET that held the device before it went must not reopen. */
	vd->dead = true;
	veil_socket_close(vd);
	mutex_unlock(&vd->lock);
	/* Queued packets are delivered through the GRO cells: drop them first. */
	veil_rx_uninit(vd);
	gro_cells_destroy(&vd->gro);
	free_percpu(dev->tstats);
	dev->tstats = NULL;
}

static int veil_dev_open(struct net_device *dev)
{
	netif_carrier_on(dev);
	return 0;
}

static int veil_dev_stop(struct net_device *dev)
{
	netif_carrier_off(dev);
	return 0;
}

static const struct net_device_ops veil_netdev_ops = {
	.ndo_init		= veil_dev_init,
	.ndo_uninit		= veil_dev_uninit,
	.ndo_open		= veil_dev_open,
	.ndo_stop		= veil_dev_stop,
	.ndo_start_xmit		= veil_xmit,
	.ndo_get_stats64	= dev_get_tstats64,
};

static void veil_setup(struct net_device *dev)
{
	dev->netdev_ops = &veil_netdev_ops;
	dev->type = ARPHRD_NONE;
	dev->flags = IFF_POINTOPOINT | IFF_NOARP;
	dev->priv_flags |= IFF_NO_QUEUE;
	/* Keep the inner route: path MTU updates and ICMP errors need it. */
	netif_keep_dst(dev);
	dev->hard_header_len = 0;
	dev->addr_len = 0;
	dev->mtu = VEIL_DEFAULT_MTU;
	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = ETH_MAX_MTU - VEIL_OVERHEAD;
	dev->needs_free_netdev = true;
	dev->needed_headroom = VEIL_PKT_HDR_LEN + sizeof(struct udphdr) +
			       sizeof(struct ipv6hdr) + LL_MAX_HEADER;
	dev->needed_tailroom = VEIL_PKT_TAG_LEN;
	/* Take GSO super-packets and segment them here, as late as possible. */
	dev->features = NETIF_F_SG | NETIF_F_HW_CSUM | NETIF_F_RXCSUM | NETIF_F_HIGHDMA |
			NETIF_F_GSO_SOFTWARE;
	dev->hw_features = dev->features;
	dev->hw_enc_features = dev->features;
	veil_compat_set_lltx(dev);
	/*
	 * The device stays in the namespace it was created in: the tunnels
	 * it will own are bound to that namespace's sockets and routes.
	 */
	veil_compat_set_netns_local(dev);
	netif_carrier_off(dev);
}

struct rtnl_link_ops veil_link_ops __read_mostly = {
	.kind		= VEIL_LINK_KIND,
	.priv_size	= sizeof(struct veil_device),
	.setup		= veil_setup,
};

int veil_device_init(void)
{
	return rtnl_link_register(&veil_link_ops);
}

void veil_device_uninit(void)
{
	/* Deletes every veil device left, in every namespace. */
	rtnl_link_unregister(&veil_link_ops);
}
