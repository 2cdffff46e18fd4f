// SPDX-License-Identifier: GPL-2.0
/*
 * The device's UDP sockets. veil data arriving on them is taken in the
 * kernel through encap_rcv; everything else belongs to the socket's owner.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <net/udp_tunnel.h>

#include "device.h"
#include "peer.h"
#include "receive.h"
#include "socket.h"

static int veil_sock_create(struct veil_device *vd, int family, u16 port, struct sock **out)
{
	struct udp_port_cfg cfg = {
		.family			= family,
		.local_udp_port		= htons(port),
		.use_udp_checksums	= true,
		.use_udp6_tx_checksums	= true,
		.use_udp6_rx_checksums	= true,
		.ipv6_v6only		= 1,
	};
	struct udp_tunnel_sock_cfg tcfg = {
		.sk_user_data	= vd,
		.encap_type	= 1,
		.encap_rcv	= veil_udp_encap_rcv,
	};
	struct net *net = dev_net(vd->dev);
	struct socket *sock;
	int err;

	if (family == AF_INET)
		cfg.local_ip.s_addr = htonl(INADDR_ANY);
	else
		cfg.local_ip6 = in6addr_any;
	err = udp_sock_create(net, &cfg, &sock);
	if (err)
		return err;
	setup_udp_tunnel_sock(net, sock, &tcfg);
	*out = sock->sk;
	return 0;
}

static void veil_sock_release(struct sock *sk)
{
	if (sk)
		udp_tunnel_sock_release(sk->sk_socket);
}

/* Under vd->lock. Tunnels are bound to the socket: they go with it. */
void veil_socket_close(struct veil_device *vd)
{
	struct sock *s4, *s6;

	lockdep_assert_held(&vd->lock);
	veil_peer_remove_all(vd);
	s4 = rcu_replace_pointer(vd->sock4, NULL, lockdep_is_held(&vd->lock));
	s6 = rcu_replace_pointer(vd->sock6, NULL, lockdep_is_held(&vd->lock));
	vd->port = 0;
	if (!s4 && !s6)
		return;
	synchronize_net();
	veil_sock_release(s4);
	veil_sock_release(s6);
}

static void veil_socket_err(struct netlink_ext_ack *extack, int err)
{
	if (err == -EADDRINUSE)
		NL_SET_ERR_MSG_MOD(extack, "UDP port already in use in this namespace");
	else if (err == -EACCES)
		NL_SET_ERR_MSG_MOD(extack, "not permitted to bind this UDP port");
	else
		NL_SET_ERR_MSG_MOD(extack, "cannot open the UDP socket");
}

int veil_socket_open(struct veil_device *vd, u16 port, struct netlink_ext_ack *extack)
{
	struct sock *s4 = NULL, *s6 = NULL;
	int err;

	lockdep_assert_held(&vd->lock);
	if (port == vd->port)
		return 0;
	err = veil_sock_create(vd, AF_INET, port, &s4);
	if (err) {
		veil_socket_err(extack, err);
		return err;
	}
#if IS_ENABLED(CONFIG_IPV6)
	err = veil_sock_create(vd, AF_INET6, port, &s6);
	if (err == -EAFNOSUPPORT) {
		s6 = NULL;	/* IPv6 disabled: serve IPv4 only */
	} else if (err) {
		veil_socket_err(extack, err);
		veil_sock_release(s4);
		return err;
	}
#endif
	veil_socket_close(vd);
	rcu_assign_pointer(vd->sock4, s4);
	rcu_assign_pointer(vd->sock6, s6);
	vd->own_sock = true;
	vd->port = port;
	return 0;
}
