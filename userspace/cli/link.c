// SPDX-License-Identifier: GPL-2.0
/*
 * veil link: show veil devices and their counters, and set their UDP port.
 * Devices are created and configured with ip(8): "ip link add veil0 type veil".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/veil.h>

#include "addr.h"
#include "cli.h"
#include "print.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: veil link show [ dev NAME ]\n"
		"       veil link set [ dev ] NAME port PORT\n"
		"       veil link help\n"
		"Devices are created with \"ip link add NAME type veil\".\n"
		"PORT (0 to 65535) is the UDP port of the device's own socket; 0 closes it.\n"
		"A daemon may instead hand the device its own UDP socket (netlink only):\n"
		"\"show\" then says \"socket adopted\" rather than \"socket own\".\n"
		"Opening, moving or closing the socket removes every peer of the device.\n");
}

struct link_attrs {
	const struct nlattr *dev[VEIL_A_DEV_MAX + 1];
	const struct nlattr *stats[VEIL_A_STATS_MAX + 1];
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= VEIL_A_DEV_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int stats_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= VEIL_A_STATS_MAX && mnl_attr_validate(attr, MNL_TYPE_U64) == 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

static uint64_t stat_of(const struct link_attrs *a, int type)
{
	return a->stats[type] ? mnl_attr_get_u64(a->stats[type]) : 0;
}

static void print_dir(const struct link_attrs *a, const char *dir, int packets, int bytes,
		      int errors, int dropped)
{
	veil_print_open_object(dir);
	veil_print_text("    %s:", dir);
	veil_print_uint("bytes", " %" PRIu64 " bytes", stat_of(a, bytes));
	veil_print_uint("packets", " %" PRIu64 " packets", stat_of(a, packets));
	veil_print_uint("errors", " %" PRIu64 " errors", stat_of(a, errors));
	veil_print_uint("dropped", " %" PRIu64 " dropped", stat_of(a, dropped));
	veil_print_text("\n");
	veil_print_close_object();
}

static int link_print_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_attrs a = { 0 };

	(void)data;
	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), link_attr_cb, a.dev) < 0)
		return MNL_CB_ERROR;
	if (!a.dev[VEIL_A_DEV_IFINDEX] || !a.dev[VEIL_A_DEV_IFNAME])
		return MNL_CB_OK;
	if (a.dev[VEIL_A_DEV_STATS])
		mnl_attr_parse_nested(a.dev[VEIL_A_DEV_STATS], stats_attr_cb, a.stats);

	veil_print_open_object(NULL);
	veil_print_uint("ifindex", "%" PRIu64 ": ", mnl_attr_get_u32(a.dev[VEIL_A_DEV_IFINDEX]));
	veil_print_string("ifname", "%s:", mnl_attr_get_str(a.dev[VEIL_A_DEV_IFNAME]));
	if (a.dev[VEIL_A_DEV_MTU])
		veil_print_uint("mtu", " mtu %" PRIu64, mnl_attr_get_u32(a.dev[VEIL_A_DEV_MTU]));
	if (a.dev[VEIL_A_DEV_LISTEN_PORT] &&
	    mnl_attr_validate(a.dev[VEIL_A_DEV_LISTEN_PORT], MNL_TYPE_U16) == 0 &&
	    mnl_attr_get_u16(a.dev[VEIL_A_DEV_LISTEN_PORT])) {
		veil_print_uint("listen_port", " listen-port %" PRIu64,
				mnl_attr_get_u16(a.dev[VEIL_A_DEV_LISTEN_PORT]));
		/* Whose socket: the module's own, or a daemon's it adopted. */
		if (a.dev[VEIL_A_DEV_SOCK_ADOPTED] &&
		    mnl_attr_validate(a.dev[VEIL_A_DEV_SOCK_ADOPTED], MNL_TYPE_U8) == 0)
			veil_print_string("socket", " socket %s",
					  mnl_attr_get_u8(a.dev[VEIL_A_DEV_SOCK_ADOPTED]) ?
					  "adopted" : "own");
	}
	if (a.dev[VEIL_A_DEV_PEER_COUNT] &&
	    mnl_attr_validate(a.dev[VEIL_A_DEV_PEER_COUNT], MNL_TYPE_U32) == 0)
		veil_print_uint("peers", " peers %" PRIu64,
				mnl_attr_get_u32(a.dev[VEIL_A_DEV_PEER_COUNT]));
	veil_print_text("\n");
	veil_print_open_object("stats64");
	print_dir(&a, "rx", VEIL_A_STATS_RX_PACKETS, VEIL_A_STATS_RX_BYTES,
		  VEIL_A_STATS_RX_ERRORS, VEIL_A_STATS_RX_DROPPED);
	print_dir(&a, "tx", VEIL_A_STATS_TX_PACKETS, VEIL_A_STATS_TX_BYTES,
		  VEIL_A_STATS_TX_ERRORS, VEIL_A_STATS_TX_DROPPED);
	veil_print_close_object();
	veil_print_close_object();
	return MNL_CB_OK;
}

static int link_show(int argc, char **argv)
{
	const char *dev = NULL;
	struct veil_nl *nl;
	struct nlmsghdr *nlh;
	int err;

	while (argc > 0) {
		if (!strcmp(*argv, "dev")) {
			if (argc < 2) {
				fprintf(stderr, "Command line is not complete: \"dev\" needs a device name.\n");
				return 1;
			}
			if (dev) {
				fprintf(stderr, "Duplicate \"dev\": only one device can be shown.\n");
				return 1;
			}
			dev = argv[1];
			argc--;
			argv++;
		} else if (matches(*argv, "help")) {
			usage(stdout);
			return 0;
		} else {
			/* As with ip: a bare word names the device. */
			if (dev) {
				fprintf(stderr, "Either \"dev\" is duplicate, or \"%s\" is garbage.\n",
					*argv);
				return 1;
			}
			dev = *argv;
		}
		argc--;
		argv++;
	}
	if (dev && !veil_cli_ifname_ok(dev))
		return 1;

	nl = veil_cli_nl_open();
	if (!nl)
		return 1;
	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, dev ? 0 : NLM_F_DUMP);
	if (dev)
		mnl_attr_put_strz(nlh, VEIL_A_DEV_IFNAME, dev);

	veil_print_open_array(NULL);
	err = veil_nl_run(nl, nlh, link_print_cb, NULL);
	veil_print_close_array();
	if (err) {
		if (err == -ENODEV && dev)
			fprintf(stderr, "Device \"%s\" does not exist.\n", dev);
		else
			veil_cli_nl_error(nl, err, dev ? "cannot show the device" :
					  "cannot list veil devices");
		veil_nl_close(nl);
		return 1;
	}
	veil_nl_close(nl);
	return 0;
}

/* Keep @value in @slot, or say "Either ... is duplicate" if it is taken. */
static int set_once(const char **slot, const char *kw, const char *value)
{
	if (*slot) {
		fprintf(stderr, "Either \"%s\" is duplicate, or \"%s\" is garbage.\n", kw, value);
		return -1;
	}
	*slot = value;
	return 0;
}

static int link_set(int argc, char **argv)
{
	const char *dev = NULL, *port = NULL;
	char err[VEIL_ERR_SIZE];
	struct veil_nl *nl;
	struct nlmsghdr *nlh;
	uint64_t num;
	bool is_dev;
	int ret;

	for (; argc > 0; argc--, argv++) {
		is_dev = !strcmp(*argv, "dev");
		if (is_dev || !strcmp(*argv, "port") || !strcmp(*argv, "listen-port")) {
			if (argc < 2) {
				fprintf(stderr, "Command line is not complete: \"%s\" needs %s.\n",
					*argv, is_dev ? "a device name" : "a port number");
				return 1;
			}
			if (set_once(is_dev ? &dev : &port, *argv, argv[1]) < 0)
				return 1;
			argc--;
			argv++;
		} else if (matches(*argv, "help")) {
			usage(stdout);
			return 0;
		} else if (set_once(&dev, "dev", *argv) < 0) {
			return 1;	/* as with ip: a bare word names the device */
		}
	}
	if (!dev) {
		fprintf(stderr, "Command line is not complete: \"veil link set\" needs a device "
			"name.\n");
		return 1;
	}
	if (!veil_cli_ifname_ok(dev))
		return 1;
	if (!port) {
		fprintf(stderr, "Command line is not complete: nothing to set, try \"veil link set "
			"%s port PORT\".\n", dev);
		return 1;
	}
	if (veil_parse_uint(port, "port", 0, 65535, &num, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s.\n", err);
		return 1;
	}

	nl = veil_cli_nl_open();
	if (!nl)
		return 1;
	nlh = veil_nl_msg(nl, VEIL_CMD_DEV_SET, 0);
	mnl_attr_put_strz(nlh, VEIL_A_DEV_IFNAME, dev);
	mnl_attr_put_u16(nlh, VEIL_A_DEV_LISTEN_PORT, (uint16_t)num);
	ret = veil_nl_run(nl, nlh, NULL, NULL);
	if (ret == -ENODEV)
		fprintf(stderr, "Device \"%s\" does not exist.\n", dev);
	else if (ret)
		veil_cli_nl_error(nl, ret, "cannot set the device");
	veil_nl_close(nl);
	return ret ? 1 : 0;
}

int do_link(int argc, char **argv)
{
	if (argc == 0)
		return link_show(0, NULL);
	if (matches(*argv, "show") || matches(*argv, "list") || matches(*argv, "lst"))
		return link_show(argc - 1, argv + 1);
	if (matches(*argv, "set"))
		return link_set(argc - 1, argv + 1);
	if (matches(*argv, "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "Command \"%s\" is unknown, try \"veil link help\".\n", *argv);
	return 1;
}
