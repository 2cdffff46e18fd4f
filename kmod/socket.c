// SPDX-License-Identifier: GPL-2.0
/*
 * The device's UDP sockets. veil data arriving on them is taken in the
 * kernel through encap_rcv; everything else belongs to the socket's owner.
 *
 * A device has either sockets the module opened itself (LISTEN_PORT) or one
 * socket a daemon created, bound and handed over by file descriptor
 * (SOCK_FD). An adopted socket stays the daemon's: the module holds a
 * reference on its struct sock, never on its file, so closing the last
 * descriptor (or exiting) destroys it as usual. UDP calls encap_destroy on
 * the way; the tunnels bound to the socket then go, from a work item,
 * since removing them sleeps and encap_destroy may race with the device's
 * own teardown.
 *
 * Lifetimes, in short:
 *   - sk_user_data points at the device. It is cleared (and RCU waited
 *     for) before the device can go, so whoever finds the device through
 *     it under rcu_read_lock() may take a device reference.
 *   - encap_destroy only takes such a reference and queues vd->sock_gone;
 *     it never blocks. The work item re-checks under vd->lock that the
 *     device's socket is the dead one.
 *   - Detaching (replace, port 0, device deletion, module unload) restores
 *     a plain UDP socket under lock_sock(). udp_destroy_sock() marks the
 *     socket SOCK_DEAD under that lock before it reads encap_destroy: a
 *     socket found alive has its callbacks cleared before UDP can read
 *     them; one found dead may still be entering encap_destroy, so its
 *     callbacks stay and the module waits (on veil_wq, which module exit
 *     drains) until the socket is orphaned, which UDP does after the
 *     callback returned.
 */
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ipv6.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/addrconf.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/udp.h>
#include <net/udp_tunnel.h>

#include "compat.h"
#include "device.h"
#include "peer.h"
#include "receive.h"
#include "socket.h"

/* Arbitrary but non-zero: UDP hands packets to encap_rcv only then. */
#define VEIL_ENCAP_TYPE 1

static struct workqueue_struct *veil_wq;

/**
 * struct veil_adopted - a daemon's UDP socket bound to a device
 * @sk: the socket, held with sock_hold() while the device uses it
 * @reap: waits for a socket that died while being detached (see above)
 */
struct veil_adopted {
	struct sock *sk;
	struct work_struct reap;
};

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
		.encap_type	= VEIL_ENCAP_TYPE,
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

/*
 * UDP destroys an adopted socket: its last descriptor was closed. Called
 * in process context with no lock held, but must not sleep on anything the
 * detach path holds while it waits for this to return.
 */
static void veil_sock_destroy(struct sock *sk)
{
	struct veil_device *vd;

	rcu_read_lock();
	vd = rcu_dereference_sk_user_data(sk);
	if (vd) {
		/* Cleared and waited for before the device can be freed. */
		dev_hold(vd->dev);
		if (!queue_work(veil_wq, &vd->sock_gone))
			dev_put(vd->dev);
	}
	rcu_read_unlock();
}

/* The daemon closed the device's socket: its tunnels go with it. */
static void veil_sock_gone(struct work_struct *work)
{
	struct veil_device *vd = container_of(work, struct veil_device, sock_gone);

	mutex_lock(&vd->lock);
	/* It may have been replaced or detached since. */
	if (vd->adopted && sock_flag(vd->adopted->sk, SOCK_DEAD)) {
		if (vd->npeers)
			netdev_info(vd->dev, "adopted UDP socket closed by its owner: %u tunnels removed\n",
				    vd->npeers);
		veil_socket_close(vd);
	}
	mutex_unlock(&vd->lock);
	dev_put(vd->dev);
}

static void veil_adopted_reap(struct work_struct *work)
{
	struct veil_adopted *a = container_of(work, struct veil_adopted, reap);
	struct sock *sk = a->sk;
	bool orphaned;

	/* sock_orphan() follows udp_destroy_sock(), hence encap_destroy. */
	for (;;) {
		read_lock_bh(&sk->sk_callback_lock);
		orphaned = !sk->sk_socket;
		read_unlock_bh(&sk->sk_callback_lock);
		if (orphaned)
			break;
		msleep(1);
	}
	sock_put(sk);
	kfree(a);
}

/*
 * Make the socket a plain UDP socket again, as the daemon handed it over.
 * The caller waits for an RCU grace period, then calls veil_adopted_put().
 */
static void veil_adopted_detach(struct veil_adopted *a)
{
	struct sock *sk = a->sk;

	lock_sock(sk);
	if (!sock_flag(sk, SOCK_DEAD)) {
		/* UDP reads these only after taking this lock: it sees NULL. */
		veil_compat_set_mc_loop(sk);
		inet_dec_convert_csum(sk);
		WRITE_ONCE(udp_sk(sk)->encap_type, 0);
		WRITE_ONCE(udp_sk(sk)->encap_rcv, NULL);
		WRITE_ONCE(udp_sk(sk)->encap_destroy, NULL);
	}
	/* A callback still to come finds no device and does nothing. */
	rcu_assign_sk_user_data(sk, NULL);
	release_sock(sk);
}

static void veil_adopted_put(struct veil_adopted *a)
{
	if (sock_flag(a->sk, SOCK_DEAD)) {
		/* encap_destroy may still be running: wait off this path. */
		INIT_WORK(&a->reap, veil_adopted_reap);
		queue_work(veil_wq, &a->reap);
		return;
	}
	sock_put(a->sk);
	kfree(a);
}

/* Under vd->lock. Tunnels are bound to the socket: they go with it. */
void veil_socket_close(struct veil_device *vd)
{
	struct veil_adopted *a;
	struct sock *s4, *s6;

	lockdep_assert_held(&vd->lock);
	veil_peer_remove_all(vd);
	s4 = rcu_replace_pointer(vd->sock4, NULL, lockdep_is_held(&vd->lock));
	s6 = rcu_replace_pointer(vd->sock6, NULL, lockdep_is_held(&vd->lock));
	a = vd->adopted;
	WRITE_ONCE(vd->adopted, NULL);
	WRITE_ONCE(vd->port, 0);
	if (!s4 && !s6 && !a)
		return;
	if (a)
		veil_adopted_detach(a);
	/* No packet in flight uses the device through the socket any more. */
	synchronize_net();
	if (a) {
		veil_adopted_put(a);
	} else {
		veil_sock_release(s4);
		veil_sock_release(s6);
	}
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
	if (vd->dead) {
		NL_SET_ERR_MSG_MOD(extack, "the device is being deleted");
		return -ENODEV;
	}
	if (port == vd->port && !vd->adopted)
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
	WRITE_ONCE(vd->port, port);
	return 0;
}

/*
 * Which families an adopted socket carries. An AF_INET6 socket that is not
 * IPV6_V6ONLY and is bound to :: (or to a v4-mapped address) also takes
 * IPv4, and sends it: IPv4 goes out through its struct sock like any
 * v4-mapped datagram the daemon sends itself.
 */
static void veil_sock_families(struct sock *sk, bool *v4, bool *v6)
{
	*v4 = sk->sk_family == AF_INET;
	*v6 = false;
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		int type = ipv6_addr_type(&sk->sk_v6_rcv_saddr);

		*v6 = type != IPV6_ADDR_MAPPED;
		*v4 = !ipv6_only_sock(sk) && (type == IPV6_ADDR_ANY || type == IPV6_ADDR_MAPPED);
	}
#endif
}

/* Check, under lock_sock(), that @sk may become a device's socket. */
static int veil_sock_check(struct veil_device *vd, struct sock *sk,
			   struct netlink_ext_ack *extack)
{
	if ((sk->sk_family != AF_INET && sk->sk_family != AF_INET6) ||
	    sk->sk_type != SOCK_DGRAM || sk->sk_protocol != IPPROTO_UDP) {
		NL_SET_ERR_MSG_MOD(extack, "socket is not a UDP socket (AF_INET or AF_INET6)");
		return -EPROTONOSUPPORT;
	}
	if (!net_eq(sock_net(sk), dev_net(vd->dev))) {
		NL_SET_ERR_MSG_MOD(extack,
				   "socket belongs to another network namespace than the device");
		return -EINVAL;
	}
	if (!inet_sk(sk)->inet_num) {
		NL_SET_ERR_MSG_MOD(extack, "socket is not bound to a port: bind() it first");
		return -EINVAL;
	}
	if (rcu_access_pointer(sk->sk_user_data) || READ_ONCE(udp_sk(sk)->encap_type) ||
	    READ_ONCE(udp_sk(sk)->encap_rcv)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "socket is already used for encapsulation (by veil or another tunnel)");
		return -EBUSY;
	}
	return 0;
}

int veil_socket_adopt(struct veil_device *vd, struct socket *sock, struct netlink_ext_ack *extack)
{
	struct udp_tunnel_sock_cfg tcfg = {
		.sk_user_data	= vd,
		.encap_type	= VEIL_ENCAP_TYPE,
		.encap_rcv	= veil_udp_encap_rcv,
		.encap_destroy	= veil_sock_destroy,
	};
	struct sock *sk = sock->sk;
	struct veil_adopted *a;
	bool v4, v6;
	int err;

	lockdep_assert_held(&vd->lock);
	if (vd->dead) {
		NL_SET_ERR_MSG_MOD(extack, "the device is being deleted");
		return -ENODEV;
	}
	if (vd->adopted && vd->adopted->sk == sk)
		return 0;	/* already this device's socket */
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;

	lock_sock(sk);
	err = veil_sock_check(vd, sk, extack);
	if (err) {
		release_sock(sk);
		kfree(a);
		return err;
	}
	sock_hold(sk);
	a->sk = sk;
	/* From here veil data on it is ours, even before it is published. */
	setup_udp_tunnel_sock(sock_net(sk), sock, &tcfg);
	veil_sock_families(sk, &v4, &v6);
	release_sock(sk);

	/* The tunnels of the socket it replaces go with that socket. */
	veil_socket_close(vd);
	rcu_assign_pointer(vd->sock4, v4 ? sk : NULL);
	rcu_assign_pointer(vd->sock6, v6 ? sk : NULL);
	vd->own_sock = false;
	WRITE_ONCE(vd->adopted, a);
	WRITE_ONCE(vd->port, inet_sk(sk)->inet_num);
	return 0;
}

bool veil_socket_carries(struct veil_device *vd, sa_family_t family)
{
	lockdep_assert_held(&vd->lock);
	if (family == AF_INET)
		return rcu_access_pointer(vd->sock4);
	if (family == AF_INET6)
		return rcu_access_pointer(vd->sock6);
	return false;
}

void veil_socket_init_dev(struct veil_device *vd)
{
	INIT_WORK(&vd->sock_gone, veil_sock_gone);
}

int __init veil_socket_init(void)
{
	veil_wq = alloc_workqueue("veil", 0, 0);
	return veil_wq ? 0 : -ENOMEM;
}

void veil_socket_uninit(void)
{
	/* Devices are gone: wait for the sockets they left dying. */
	destroy_workqueue(veil_wq);
}
