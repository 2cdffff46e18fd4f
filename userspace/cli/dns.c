// SPDX-License-Identifier: GPL-2.0
/*
 * veil zone: the secure zones of this network namespace.
 * veil cache: the answers the kernel gives for names inside them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/veil.h>

#include "addr.h"
#include "cli.h"
#include "print.h"

static void zone_usage(FILE *f)
{
	fprintf(f,
		"Usage: veil zone { add | del } NAME\n"
		"       veil zone show\n"
		"       veil zone help\n"
		"where  NAME := a domain name such as corp.example: the name and every\n"
		"               name below it are answered by veil, never by a resolver\n");
}

static void cache_usage(FILE *f)
{
	fprintf(f,
		"Usage: veil cache add NAME { ADDR [ ADDR... ] | nxdomain } ttl SECONDS\n"
		"       veil cache { del | flush } [ NAME ]\n"
		"       veil cache show [ NAME ]\n"
		"       veil cache help\n"
		"where  NAME := a name inside a secure zone (see \"veil zone\")\n"
		"       ADDR := an IPv4 or IPv6 address, at most %d of each family\n"
		"       SECONDS := 1..%d, how long the answer is given out\n"
		"flush without NAME forgets every answer of this network namespace.\n",
		VEIL_DNS_MAX_ADDRS, VEIL_DNS_MAX_TTL);
}

/* A name as the kernel takes it: checked there, only its length here. */
static int name_ok(const char *what, const char *name)
{
	if (!*name || strlen(name) > 254) {
		fprintf(stderr, "Invalid %s \"%.80s\": a domain name of 1 to 253 characters "
			"is expected.\n", what, name);
		return 0;
	}
	return 1;
}

static int run(uint8_t cmd, uint16_t flags, const char *attr_name, int attr_type,
	       veil_nl_reply_cb cb, void *data, const char *what,
	       void (*fill)(struct nlmsghdr *nlh, void *arg), void *arg)
{
	struct nlmsghdr *nlh;
	struct veil_nl *nl;
	int err;

	nl = veil_cli_nl_open();
	if (!nl)
		return 1;
	nlh = veil_nl_msg(nl, cmd, flags);
	if (attr_name)
		mnl_attr_put_strz(nlh, (uint16_t)attr_type, attr_name);
	if (fill)
		fill(nlh, arg);
	err = veil_nl_run(nl, nlh, cb, data);
	if (err < 0) {
		veil_print_discard();
		veil_cli_nl_error(nl, err, what);
	}
	veil_nl_close(nl);
	return err < 0 ? 1 : 0;
}

static int zone_print_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *attr;

	(void)data;
	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(attr) == VEIL_A_DNS_ZONE &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
			veil_print_open_object(NULL);
			veil_print_string("zone", "%s\n", mnl_attr_get_str(attr));
			veil_print_close_object();
		}
	}
	return MNL_CB_OK;
}

int do_zone(int argc, char **argv)
{
	int ret;

	if (argc < 1 || matches(*argv, "show") || matches(*argv, "list")) {
		if (argc > 1) {
			fprintf(stderr, "Either \"%s\" is duplicate, or \"%s\" is garbage.\n",
				argv[0], argv[1]);
			return 1;
		}
		veil_print_start(veil_opts.json, veil_opts.pretty);
		veil_print_open_array(NULL);
		ret = run(VEIL_CMD_ZONE_GET, NLM_F_DUMP, NULL, 0, zone_print_cb, NULL,
			  "cannot list the zones", NULL, NULL);
		if (!ret) {
			veil_print_close_array();
			veil_print_end();
		}
		return ret;
	}
	if (matches(*argv, "help")) {
		zone_usage(stdout);
		return 0;
	}
	if (matches(*argv, "add") || matches(*argv, "delete")) {
		bool add = matches(*argv, "add");

		if (argc != 2) {
			fprintf(stderr, argc < 2 ?
				"Command line is not complete: \"veil zone %s\" needs a NAME.\n" :
				"\"veil zone %s\" takes one NAME, try \"veil zone help\".\n",
				add ? "add" : "del");
			return 1;
		}
		if (!name_ok("zone", argv[1]))
			return 1;
		return run(add ? VEIL_CMD_ZONE_ADD : VEIL_CMD_ZONE_DEL, 0, argv[1],
			   VEIL_A_DNS_ZONE, NULL, NULL,
			   add ? "cannot add the zone" : "cannot delete the zone", NULL, NULL);
	}
	fprintf(stderr, "Command \"%s\" is unknown, try \"veil zone help\".\n", *argv);
	return 1;
}

struct cache_add {
	uint8_t addr[2 * VEIL_DNS_MAX_ADDRS][16];
	uint16_t len[2 * VEIL_DNS_MAX_ADDRS];
	int n;
	int nxdomain;
	uint32_t ttl;
};

static void cache_add_fill(struct nlmsghdr *nlh, void *arg)
{
	const struct cache_add *c = arg;
	struct nlattr *nest;
	int i;

	mnl_attr_put_u32(nlh, VEIL_A_DNS_TTL, c->ttl);
	if (c->nxdomain) {
		mnl_attr_put(nlh, VEIL_A_DNS_NXDOMAIN, 0, NULL);
		return;
	}
	nest = mnl_attr_nest_start(nlh, VEIL_A_DNS_ADDRS);
	for (i = 0; i < c->n; i++)
		mnl_attr_put(nlh, 1, c->len[i], c->addr[i]);
	mnl_attr_nest_end(nlh, nest);
}

static int cache_add(int argc, char **argv)
{
	struct cache_add c = { 0 };
	char err[VEIL_ERR_SIZE];
	const char *name;
	uint64_t ttl;
	int n4 = 0, n6 = 0, have_ttl = 0;

	if (argc < 1) {
		fprintf(stderr, "Command line is not complete: \"veil cache add\" needs a NAME.\n");
		return 1;
	}
	name = *argv++;
	argc--;
	if (!name_ok("name", name))
		return 1;
	for (; argc > 0; argc--, argv++) {
		if (!strcmp(*argv, "ttl")) {
			if (argc < 2) {
				fprintf(stderr, "Command line is not complete: \"ttl\" needs "
					"SECONDS.\n");
				return 1;
			}
			if (have_ttl) {
				fprintf(stderr, "\"ttl\" is given twice.\n");
				return 1;
			}
			if (veil_parse_uint(argv[1], "ttl", 1, VEIL_DNS_MAX_TTL, &ttl, err,
					    sizeof(err))) {
				fprintf(stderr, "%s.\n", err);
				return 1;
			}
			c.ttl = (uint32_t)ttl;
			have_ttl = 1;
			argc--;
			argv++;
		} else if (!strcmp(*argv, "nxdomain")) {
			c.nxdomain = 1;
		} else if (inet_pton(AF_INET, *argv, c.addr[c.n]) == 1) {
			if (++n4 > VEIL_DNS_MAX_ADDRS)
				goto too_many;
			c.len[c.n++] = 4;
		} else if (inet_pton(AF_INET6, *argv, c.addr[c.n]) == 1) {
			if (++n6 > VEIL_DNS_MAX_ADDRS)
				goto too_many;
			c.len[c.n++] = 16;
		} else {
			fprintf(stderr, "Invalid \"%.80s\": expected an IPv4 or IPv6 address, "
				"\"nxdomain\" or \"ttl SECONDS\".\n", *argv);
			return 1;
		}
	}
	if (c.nxdomain == !!c.n) {
		fprintf(stderr, "Give either addresses or \"nxdomain\" for %s, %s.\n", name,
			c.n ? "not both" : "one of them");
		return 1;
	}
	if (!have_ttl) {
		fprintf(stderr, "Command line is not complete: \"veil cache add\" needs "
			"\"ttl SECONDS\".\n");
		return 1;
	}
	return run(VEIL_CMD_CACHE_ADD, 0, name, VEIL_A_DNS_NAME, NULL, NULL,
		   "cannot add the answer", cache_add_fill, &c);
too_many:
	fprintf(stderr, "Too many addresses: at most %d of each family.\n", VEIL_DNS_MAX_ADDRS);
	return 1;
}

static int cache_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= VEIL_A_DNS_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int cache_print_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[VEIL_A_DNS_MAX + 1] = { 0 }, *a;
	char buf[INET6_ADDRSTRLEN];
	unsigned int n = 0;

	(void)data;
	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), cache_attr_cb, tb) < 0 ||
	    !tb[VEIL_A_DNS_NAME] || mnl_attr_validate(tb[VEIL_A_DNS_NAME], MNL_TYPE_NUL_STRING))
		return MNL_CB_OK;
	veil_print_open_object(NULL);
	veil_print_string("name", "%s", mnl_attr_get_str(tb[VEIL_A_DNS_NAME]));
	veil_print_bool("nxdomain", tb[VEIL_A_DNS_NXDOMAIN] ? " nxdomain" : NULL,
			tb[VEIL_A_DNS_NXDOMAIN] != NULL);
	veil_print_open_array("addrs");
	if (tb[VEIL_A_DNS_ADDRS]) {
		mnl_attr_for_each_nested(a, tb[VEIL_A_DNS_ADDRS]) {
			uint16_t len = mnl_attr_get_payload_len(a);

			if ((len != 4 && len != 16) ||
			    !inet_ntop(len == 4 ? AF_INET : AF_INET6, mnl_attr_get_payload(a),
				       buf, sizeof(buf)))
				continue;
			veil_print_string(NULL, " %s", buf);
			n++;
		}
	}
	veil_print_close_array();
	if (tb[VEIL_A_DNS_TTL] && !mnl_attr_validate(tb[VEIL_A_DNS_TTL], MNL_TYPE_U32))
		veil_print_uint("ttl", " ttl %" PRIu64, mnl_attr_get_u32(tb[VEIL_A_DNS_TTL]));
	if (tb[VEIL_A_DNS_EXPIRES] && !mnl_attr_validate(tb[VEIL_A_DNS_EXPIRES], MNL_TYPE_U32))
		veil_print_uint("expires", " expires %" PRIu64 "s",
				mnl_attr_get_u32(tb[VEIL_A_DNS_EXPIRES]));
	veil_print_text("\n");
	veil_print_close_object();
	return MNL_CB_OK;
}

int do_cache(int argc, char **argv)
{
	int ret;

	if (argc < 1 || matches(*argv, "show") || matches(*argv, "list")) {
		const char *name = argc > 1 ? argv[1] : NULL;

		if (argc > 2) {
			fprintf(stderr, "\"veil cache show\" takes at most one NAME.\n");
			return 1;
		}
		if (name && !name_ok("name", name))
			return 1;
		veil_print_start(veil_opts.json, veil_opts.pretty);
		veil_print_open_array(NULL);
		ret = run(VEIL_CMD_CACHE_GET, name ? 0 : NLM_F_DUMP, name, VEIL_A_DNS_NAME,
			  cache_print_cb, NULL, "cannot show the cache", NULL, NULL);
		if (!ret) {
			veil_print_close_array();
			veil_print_end();
		}
		return ret;
	}
	if (matches(*argv, "help")) {
		cache_usage(stdout);
		return 0;
	}
	if (matches(*argv, "add"))
		return cache_add(argc - 1, argv + 1);
	if (matches(*argv, "delete") || matches(*argv, "flush")) {
		const char *name = argc > 1 ? argv[1] : NULL;

		if (argc > 2) {
			fprintf(stderr, "\"veil cache %s\" takes at most one NAME.\n", argv[0]);
			return 1;
		}
		if (name && !name_ok("name", name))
			return 1;
		return run(VEIL_CMD_CACHE_DEL, 0, name, VEIL_A_DNS_NAME, NULL, NULL,
			   "cannot forget the answer", NULL, NULL);
	}
	fprintf(stderr, "Command \"%s\" is unknown, try \"veil cache help\".\n", *argv);
	return 1;
}
