// SPDX-License-Identifier: GPL-2.0
/*
 * Strict netlink policy of the veil family: malformed requests (missing,
 * wrong-typed, oversized, unknown or read-only attributes, unknown
 * commands) are refused with the right errno and a message from the
 * kernel, and a well-formed request still works afterwards.
 *
 * Run as root with veil.ko loaded, a veil device named by argv[1] and a
 * non-veil device named by argv[2] in the current namespace. KTAP output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/veil.h>

#include "nl.h"

static int failed;
static int n;

static void result(int ok, const char *name, int err, const char *msg)
{
	n++;
	printf("%sok %d %s\n", ok ? "" : "not ", n, name);
	if (!ok) {
		printf("# got errno %d (%s), kernel message: %s\n", -err, strerror(-err),
		       msg ? msg : "(none)");
		failed++;
	}
}

/* Expect @err (negative errno) and, if @need_msg, a kernel message. */
static void expect(struct veil_nl *nl, struct nlmsghdr *nlh, int want, int need_msg,
		   const char *name)
{
	int err = veil_nl_run(nl, nlh, NULL, NULL);
	const char *msg = veil_nl_errmsg(nl);

	result(err == want && (!need_msg || msg), name, err, msg);
	if (msg)
		printf("# kernel says: %s\n", msg);
}

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(*(int *)data)++;
	return MNL_CB_OK;
}

/* Start a peer request for the veil device; returns the open PEER nest. */
static struct nlattr *peer_msg(struct veil_nl *nl, struct nlmsghdr **nlh, uint8_t cmd,
			       unsigned int ifindex)
{
	*nlh = veil_nl_msg(nl, cmd, 0);
	mnl_attr_put_u32(*nlh, VEIL_A_DEV_IFINDEX, ifindex);
	return mnl_attr_nest_start(*nlh, VEIL_A_DEV_PEER);
}

static void put_good_peer(struct nlmsghdr *nlh, uint32_t id)
{
	static const uint8_t k1[VEIL_KEY_LEN] = { 1 }, k2[VEIL_KEY_LEN] = { 2 };

	mnl_attr_put_u32(nlh, VEIL_A_PEER_ID, id);
	mnl_attr_put_u32(nlh, VEIL_A_PEER_REMOTE_ID, 9);
	mnl_attr_put(nlh, VEIL_A_PEER_TX_KEY, sizeof(k1), k1);
	mnl_attr_put(nlh, VEIL_A_PEER_RX_KEY, sizeof(k2), k2);
}

static void peer_cases(struct veil_nl *nl, unsigned int ifindex)
{
	struct nlmsghdr *nlh;
	struct nlattr *p, *l, *e;
	uint8_t short_key[VEIL_KEY_LEN - 1] = { 0 };
	uint32_t addr = htonl(0x64400004);
	int count = 0, err;

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_NEW, ifindex);
	put_good_peer(nlh, 7);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, -ENOTCONN, 1, "PEER_NEW on a device without a socket");

	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_SET, 0);
	mnl_attr_put_u32(nlh, VEIL_A_DEV_IFINDEX, ifindex);
	mnl_attr_put_u16(nlh, VEIL_A_DEV_LISTEN_PORT, 4600);
	expect(nl, nlh, 0, 0, "DEV_SET opens port 4600");

	nlh = veil_nl_msg(nl, VEIL_CMD_PEER_NEW, 0);
	mnl_attr_put_u32(nlh, VEIL_A_DEV_IFINDEX, ifindex);
	expect(nl, nlh, -EINVAL, 1, "PEER_NEW without a peer");

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_NEW, ifindex);
	mnl_attr_put_u32(nlh, VEIL_A_PEER_ID, 7);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, -EINVAL, 1, "PEER_NEW without remote id and keys");

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_NEW, ifindex);
	put_good_peer(nlh, 0);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, -ERANGE, 1, "peer id 0");

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_NEW, ifindex);
	mnl_attr_put_u32(nlh, VEIL_A_PEER_ID, 7);
	mnl_attr_put(nlh, VEIL_A_PEER_TX_KEY, sizeof(short_key), short_key);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, -ERANGE, 1, "a 31-byte key");

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_NEW, ifindex);
	put_good_peer(nlh, 7);
	mnl_attr_put(nlh, VEIL_A_PEER_ENDPOINT, 3, "abc");
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, -ERANGE, 1, "a 3-byte endpoint");

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_NEW, ifindex);
	put_good_peer(nlh, 7);
	l = mnl_attr_nest_start(nlh, VEIL_A_PEER_ALLOWED);
	e = mnl_attr_nest_start(nlh, 1);
	mnl_attr_put_u16(nlh, VEIL_A_PREFIX_FAMILY, 99);
	mnl_attr_put(nlh, VEIL_A_PREFIX_ADDR, 4, &addr);
	mnl_attr_put_u8(nlh, VEIL_A_PREFIX_LEN, 32);
	mnl_attr_nest_end(nlh, e);
	mnl_attr_nest_end(nlh, l);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, -EAFNOSUPPORT, 1, "an allowed prefix of family 99");

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_NEW, ifindex);
	put_good_peer(nlh, 7);
	l = mnl_attr_nest_start(nlh, VEIL_A_PEER_ALLOWED);
	e = mnl_attr_nest_start(nlh, 1);
	mnl_attr_put_u16(nlh, VEIL_A_PREFIX_FAMILY, AF_INET);
	mnl_attr_put(nlh, VEIL_A_PREFIX_ADDR, 4, &addr);
	mnl_attr_put_u8(nlh, VEIL_A_PREFIX_LEN, 33);
	mnl_attr_nest_end(nlh, e);
	mnl_attr_nest_end(nlh, l);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, -EINVAL, 1, "an IPv4 prefix of length 33");

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_NEW, ifindex);
	put_good_peer(nlh, 7);
	l = mnl_attr_nest_start(nlh, VEIL_A_PEER_PORTS);
	e = mnl_attr_nest_start(nlh, 1);
	mnl_attr_put_u8(nlh, VEIL_A_PORT_PROTO, 47);
	mnl_attr_nest_end(nlh, e);
	mnl_attr_nest_end(nlh, l);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, -EINVAL, 1, "a port entry for GRE");

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_NEW, ifindex);
	put_good_peer(nlh, 7);
	mnl_attr_put_u8(nlh, VEIL_A_PEER_ROLE, 5);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, -ERANGE, 1, "role 5");

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_NEW, ifindex);
	put_good_peer(nlh, 7);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, 0, 0, "a well-formed PEER_NEW after the refusals");

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_NEW, ifindex);
	put_good_peer(nlh, 7);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, -EEXIST, 1, "the same id twice");

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_GET, ifindex);
	mnl_attr_put_u32(nlh, VEIL_A_PEER_ID, 7);
	mnl_attr_nest_end(nlh, p);
	err = veil_nl_run(nl, nlh, count_cb, &count);
	result(err == 0 && count == 1, "PEER_GET returns the tunnel", err, veil_nl_errmsg(nl));

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_DEL, ifindex);
	mnl_attr_put_u32(nlh, VEIL_A_PEER_ID, 7);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, 0, 0, "PEER_DEL removes it");

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_DEL, ifindex);
	mnl_attr_put_u32(nlh, VEIL_A_PEER_ID, 7);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, -ENOENT, 1, "PEER_DEL of an id that is gone");

	p = peer_msg(nl, &nlh, VEIL_CMD_PEER_SET, ifindex);
	mnl_attr_put_u32(nlh, VEIL_A_PEER_ID, 7);
	mnl_attr_put_u16(nlh, VEIL_A_PEER_KEEPALIVE, 5);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, -ENOENT, 1, "PEER_SET of an unknown id");

	p = peer_msg(nl, &nlh, VEIL_CMD_KEY_SWAP, ifindex);
	mnl_attr_put_u32(nlh, VEIL_A_PEER_ID, 7);
	mnl_attr_nest_end(nlh, p);
	expect(nl, nlh, -ENOENT, 1, "KEY_SWAP of an unknown id");
}

int main(int argc, char **argv)
{
	char longname[64];
	struct veil_nl *nl;
	struct nlmsghdr *nlh;
	unsigned int veil_idx, other_idx;
	int count = 0, err;

	if (argc != 3) {
		fprintf(stderr, "usage: %s VEIL_DEV OTHER_DEV\n", argv[0]);
		return 1;
	}
	veil_idx = if_nametoindex(argv[1]);
	other_idx = if_nametoindex(argv[2]);
	nl = veil_nl_open();
	if (!nl || !veil_idx || !other_idx) {
		printf("TAP version 13\n1..0 # SKIP cannot open veil family or find devices\n");
		return 4;
	}

	printf("TAP version 13\n1..31\n");

	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, 0);
	expect(nl, nlh, -EINVAL, 1, "DEV_GET without a device");

	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, 0);
	mnl_attr_put_u8(nlh, VEIL_A_DEV_IFINDEX, 1);
	expect(nl, nlh, -EINVAL, 1, "IFINDEX as u8 (wrong length)");

	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, 0);
	mnl_attr_put_u32(nlh, VEIL_A_DEV_IFINDEX, 0);
	expect(nl, nlh, -ERANGE, 1, "IFINDEX 0 (below minimum)");

	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, 0);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	mnl_attr_put_strz(nlh, VEIL_A_DEV_IFNAME, longname);
	expect(nl, nlh, -EINVAL, 1, "IFNAME of 63 bytes (oversized)");

	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, 0);
	mnl_attr_put(nlh, VEIL_A_DEV_IFNAME, strlen(argv[1]), argv[1]);
	expect(nl, nlh, -EINVAL, 1, "IFNAME without NUL terminator");

	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, 0);
	mnl_attr_put_u32(nlh, VEIL_A_DEV_IFINDEX, veil_idx);
	mnl_attr_put_u32(nlh, VEIL_A_DEV_MAX + 5, 1);
	expect(nl, nlh, -EINVAL, 1, "unknown attribute type");

	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, 0);
	mnl_attr_put_u32(nlh, VEIL_A_DEV_IFINDEX, veil_idx);
	mnl_attr_put_u32(nlh, VEIL_A_DEV_MTU, 1000);
	expect(nl, nlh, -EINVAL, 1, "reply-only attribute MTU in a request");

	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, 0);
	mnl_attr_put_u32(nlh, VEIL_A_DEV_IFINDEX, other_idx);
	expect(nl, nlh, -EOPNOTSUPP, 1, "IFINDEX of a device that is not veil");

	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, 0);
	mnl_attr_put_u32(nlh, VEIL_A_DEV_IFINDEX, veil_idx);
	mnl_attr_put_strz(nlh, VEIL_A_DEV_IFNAME, argv[2]);
	expect(nl, nlh, -EINVAL, 1, "IFINDEX and IFNAME naming different devices");

	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, 0);
	mnl_attr_put_u32(nlh, VEIL_A_DEV_IFINDEX, 0x7ffffff0);
	expect(nl, nlh, -ENODEV, 1, "IFINDEX of no device");

	nlh = veil_nl_msg(nl, 200, 0);
	expect(nl, nlh, -EOPNOTSUPP, 0, "unknown command");

	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, 0);
	mnl_attr_put_u32(nlh, VEIL_A_DEV_IFINDEX, veil_idx);
	mnl_attr_put_strz(nlh, VEIL_A_DEV_IFNAME, argv[1]);
	err = veil_nl_run(nl, nlh, count_cb, &count);
	result(err == 0 && count == 1, "well-formed request by index and name", err,
	       veil_nl_errmsg(nl));

	count = 0;
	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, NLM_F_DUMP);
	err = veil_nl_run(nl, nlh, count_cb, &count);
	result(err == 0 && count >= 1, "dump after the refusals", err, veil_nl_errmsg(nl));

	peer_cases(nl, veil_idx);

	veil_nl_close(nl);
	printf("# totals: pass:%d fail:%d skip:0\n", n - failed, failed);
	return failed ? 1 : 0;
}
