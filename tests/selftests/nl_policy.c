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
#include <errno.h>
#include <net/if.h>
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

	printf("TAP version 13\n1..13\n");

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

	veil_nl_close(nl);
	printf("# totals: pass:%d fail:%d skip:0\n", n - failed, failed);
	return failed ? 1 : 0;
}
