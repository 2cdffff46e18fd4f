// SPDX-License-Identifier: GPL-2.0
/*
 * veil peer: add, change, remove and show the tunnels ("peers") of a veil
 * device. Every argument is checked, and key files are read, before the
 * netlink socket is opened, so bad input is reported without the module.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/veil.h>

#include "addr.h"
#include "cli.h"
#include "print.h"

/* Bounds that keep a request well inside the netlink client's buffer. */
#define PEER_MAX_ALLOWED	256
#define PEER_MAX_PORTS		256

/* Element type of the ALLOWED and PORTS lists (ignored by the kernel). */
#define PEER_LIST_ELEM		1

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: veil peer { add | set } dev NAME id ID [ remote-id ID ]\n"
		"                 [ endpoint { ADDR:PORT | [ADDR6]:PORT } ]\n"
		"                 [ tx-key FILE ] [ rx-key FILE ] [ allowed PREFIX[,PREFIX...] ]\n"
		"                 [ ports PROTO/PORT[-PORT][,...] ] [ keepalive SECONDS ]\n"
		"                 [ role { client | server } ]\n"
		"                 [ translate-src ADDR=LOCAL ] [ translate-dst ADDR=TARGET ]\n"
		"                 [ next-tx-key FILE next-rx-key FILE ]   (set only)\n"
		"       veil peer key-swap dev NAME id ID\n"
		"       veil peer del dev NAME id ID\n"
		"       veil peer show [ dev NAME [ id ID ] ]\n"
		"       veil peer help\n"
		"where  ID := 1..4294967295 (id: this side's index, remote-id: the other side's)\n"
		"       FILE := a file holding a 32-byte key as 64 hex digits or 44 base64\n"
		"               characters, or - for standard input\n"
		"       PREFIX := { ADDR[/LEN] | ADDR6[/LEN] }, or \"none\" for an empty list\n"
		"       PROTO/PORT := { tcp/PORT[-PORT] | udp/PORT[-PORT] | icmp }, or \"any\"\n"
		"       SECONDS := 0..65535 between keepalives, 0 for none\n"
		"       role: where the services in \"ports\" are: client (remote, the\n"
		"             default) or server (on this host)\n"
		"       translate-src ADDR=LOCAL: packets from the peer's address ADDR\n"
		"             appear here from LOCAL; replies to LOCAL go back to ADDR\n"
		"       translate-dst ADDR=TARGET: packets the peer sends to ADDR go to\n"
		"             TARGET; replies from TARGET appear to come from ADDR\n"
		"       (either one given replaces the whole translation; \"none\" for\n"
		"       both removes it; allowed names LOCAL, not ADDR)\n"
		"next-*-key install the keys key-swap switches to; until then the next rx\n"
		"key already decrypts, and after it the replaced keys decrypt for 30 s.\n"
		"add needs remote-id, tx-key and rx-key; set changes what is given, and\n"
		"allowed or ports given replace the whole list.\n");
}

enum peer_kw {
	KW_DEV,
	KW_ID,
	KW_REMOTE_ID,
	KW_ENDPOINT,
	KW_TX_KEY,
	KW_RX_KEY,
	KW_ALLOWED,
	KW_PORTS,
	KW_KEEPALIVE,
	KW_ROLE,
	KW_NEXT_TX_KEY,
	KW_NEXT_RX_KEY,
	KW_XLAT_SRC,
	KW_XLAT_DST,
	KW_COUNT
};

static const struct {
	const char *name;
	const char *arg;		/* its value in the grammar */
	const char *value;		/* what it needs, for messages */
} keywords[KW_COUNT] = {
	[KW_DEV] = { "dev", "NAME", "a device name" },
	[KW_ID] = { "id", "ID", "an ID (1 to 4294967295)" },
	[KW_REMOTE_ID] = { "remote-id", "ID", "an ID (1 to 4294967295)" },
	[KW_ENDPOINT] = { "endpoint", "ADDR:PORT", "ADDR:PORT" },
	[KW_TX_KEY] = { "tx-key", "FILE", "a key FILE" },
	[KW_RX_KEY] = { "rx-key", "FILE", "a key FILE" },
	[KW_ALLOWED] = { "allowed", "PREFIX[,PREFIX...]", "PREFIX[,PREFIX...]" },
	[KW_PORTS] = { "ports", "PROTO/PORT[-PORT][,...]", "PROTO/PORT[-PORT][,...]" },
	[KW_KEEPALIVE] = { "keepalive", "SECONDS", "SECONDS" },
	[KW_ROLE] = { "role", "{ client | server }", "client or server" },
	[KW_NEXT_TX_KEY] = { "next-tx-key", "FILE", "a key FILE" },
	[KW_NEXT_RX_KEY] = { "next-rx-key", "FILE", "a key FILE" },
	[KW_XLAT_SRC] = { "translate-src", "ADDR=LOCAL", "ADDR=LOCAL or none" },
	[KW_XLAT_DST] = { "translate-dst", "ADDR=TARGET", "ADDR=TARGET or none" },
};

#define KW(k)		(1u << (k))
#define KW_CHANGE	(KW(KW_DEV) | KW(KW_ID) | KW(KW_REMOTE_ID) | KW(KW_ENDPOINT) | \
			 KW(KW_TX_KEY) | KW(KW_RX_KEY) | KW(KW_ALLOWED) | KW(KW_PORTS) | \
			 KW(KW_KEEPALIVE) | KW(KW_ROLE) | KW(KW_XLAT_SRC) | KW(KW_XLAT_DST))

struct peer_args {
	const char *verb;		/* "add", for messages */
	const char *val[KW_COUNT];	/* the words given; NULL when absent */
	uint32_t id;
	uint32_t remote_id;
	struct sockaddr_storage endpoint;
	socklen_t endpoint_len;
	uint8_t tx_key[VEIL_KEY_SIZE];
	uint8_t rx_key[VEIL_KEY_SIZE];
	uint8_t next_tx_key[VEIL_KEY_SIZE];
	uint8_t next_rx_key[VEIL_KEY_SIZE];
	struct veil_prefix *allowed;
	size_t n_allowed;
	struct veil_port_range *ports;
	size_t n_ports;
	uint16_t keepalive;
	uint8_t role;
	struct veil_addr_pair xlat_src;
	struct veil_addr_pair xlat_dst;
};

static void peer_args_free(struct peer_args *a)
{
	explicit_bzero(a->tx_key, sizeof(a->tx_key));
	explicit_bzero(a->rx_key, sizeof(a->rx_key));
	explicit_bzero(a->next_tx_key, sizeof(a->next_tx_key));
	explicit_bzero(a->next_rx_key, sizeof(a->next_rx_key));
	free(a->allowed);
	free(a->ports);
	a->allowed = NULL;
	a->ports = NULL;
}

/* Check one keyword's value as soon as it is read. */
static int peer_parse_value(struct peer_args *a, enum peer_kw kw, const char *v)
{
	char err[VEIL_ERR_SIZE];
	uint64_t num;
	int ret = 0;

	switch (kw) {
	case KW_DEV:
		return veil_cli_ifname_ok(v) ? 0 : -1;
	case KW_ID:
	case KW_REMOTE_ID:
		ret = veil_parse_uint(v, keywords[kw].name, 1, UINT32_MAX, &num, err, sizeof(err));
		if (!ret && kw == KW_ID)
			a->id = (uint32_t)num;
		else if (!ret)
			a->remote_id = (uint32_t)num;
		break;
	case KW_ENDPOINT:
		ret = veil_parse_endpoint(v, &a->endpoint, &a->endpoint_len, err, sizeof(err));
		break;
	case KW_TX_KEY:
	case KW_RX_KEY:
	case KW_NEXT_TX_KEY:
	case KW_NEXT_RX_KEY:
		if (!*v) {
			fprintf(stderr, "Invalid \"%s\": the file name is empty.\n",
				keywords[kw].name);
			return -1;
		}
		break;		/* read once the whole command line is known good */
	case KW_ALLOWED:
		ret = veil_parse_prefix_list(v, &a->allowed, &a->n_allowed, err, sizeof(err));
		if (!ret && a->n_allowed > PEER_MAX_ALLOWED) {
			fprintf(stderr, "Too many prefixes in \"allowed\": at most %d.\n",
				PEER_MAX_ALLOWED);
			return -1;
		}
		break;
	case KW_PORTS:
		ret = veil_parse_port_list(v, &a->ports, &a->n_ports, err, sizeof(err));
		if (!ret && a->n_ports > PEER_MAX_PORTS) {
			fprintf(stderr, "Too many entries in \"ports\": at most %d.\n",
				PEER_MAX_PORTS);
			return -1;
		}
		break;
	case KW_KEEPALIVE:
		ret = veil_parse_uint(v, "keepalive", 0, UINT16_MAX, &num, err, sizeof(err));
		if (!ret)
			a->keepalive = (uint16_t)num;
		break;
	case KW_ROLE:
		if (!strcmp(v, "client")) {
			a->role = VEIL_ROLE_CLIENT;
		} else if (!strcmp(v, "server")) {
			a->role = VEIL_ROLE_SERVER;
		} else {
			fprintf(stderr, "Invalid \"role\": \"%s\" is neither client nor server.\n",
				v);
			return -1;
		}
		break;
	case KW_XLAT_SRC:
	case KW_XLAT_DST:
		ret = veil_parse_addr_pair(v, keywords[kw].name,
					   kw == KW_XLAT_SRC ? &a->xlat_src : &a->xlat_dst,
					   err, sizeof(err));
		break;
	case KW_COUNT:
		break;
	}
	if (ret)
		fprintf(stderr, "%s.\n", err);
	return ret;
}

enum { PARSE_OK, PARSE_HELP, PARSE_ERROR };

/* Read "KEYWORD VALUE" pairs; @accepted is the KW() mask of the verb. */
static int peer_parse(struct peer_args *a, unsigned int accepted, int argc, char **argv)
{
	int kw;

	for (; argc > 0; argc -= 2, argv += 2) {
		for (kw = 0; kw < KW_COUNT; kw++)
			if (!strcmp(*argv, keywords[kw].name))
				break;
		if (kw == KW_COUNT) {
			if (matches(*argv, "help")) {
				usage(stdout);
				return PARSE_HELP;
			}
			fprintf(stderr, "Unknown keyword \"%s\", try \"veil peer help\".\n", *argv);
			return PARSE_ERROR;
		}
		if (!(accepted & KW(kw))) {
			fprintf(stderr, "\"%s\" is not accepted by \"veil peer %s\", try "
				"\"veil peer help\".\n", *argv, a->verb);
			return PARSE_ERROR;
		}
		if (argc < 2) {
			fprintf(stderr, "Command line is not complete: \"%s\" needs %s.\n", *argv,
				keywords[kw].value);
			return PARSE_ERROR;
		}
		if (a->val[kw]) {
			fprintf(stderr, "Either \"%s\" is duplicate, or \"%s\" is garbage.\n",
				*argv, argv[1]);
			return PARSE_ERROR;
		}
		a->val[kw] = argv[1];
		if (peer_parse_value(a, kw, argv[1]) < 0)
			return PARSE_ERROR;
	}
	return PARSE_OK;
}

/* Every keyword of the @required mask must have been given. */
static int peer_require(const struct peer_args *a, unsigned int required)
{
	int kw;

	for (kw = 0; kw < KW_COUNT; kw++) {
		if ((required & KW(kw)) && !a->val[kw]) {
			fprintf(stderr, "Command line is not complete: \"veil peer %s\" needs "
				"\"%s %s\".\n", a->verb, keywords[kw].name, keywords[kw].arg);
			return -1;
		}
	}
	return 0;
}

/* Read one tx/rx pair of key files named by keywords @ktx and @krx. */
static int peer_read_pair(struct peer_args *a, enum peer_kw ktx, enum peer_kw krx,
			  uint8_t *txk, uint8_t *rxk)
{
	const char *tx = a->val[ktx], *rx = a->val[krx];
	char err[VEIL_ERR_SIZE];

	if (tx && rx && !strcmp(tx, "-") && !strcmp(rx, "-")) {
		fprintf(stderr, "Only one key can be read from standard input: give \"%s\" "
			"or \"%s\" a file.\n", keywords[ktx].name, keywords[krx].name);
		return -1;
	}
	if ((tx && veil_read_key_file(tx, txk, err, sizeof(err)) < 0) ||
	    (rx && veil_read_key_file(rx, rxk, err, sizeof(err)) < 0)) {
		fprintf(stderr, "%s.\n", err);
		return -1;
	}
	/* The same key both ways would make both sides encrypt with one key and nonce. */
	if (tx && rx && !memcmp(txk, rxk, VEIL_KEY_SIZE)) {
		fprintf(stderr, "Invalid keys: \"%s\" and \"%s\" hold the same key; each "
			"direction needs its own.\n", keywords[ktx].name, keywords[krx].name);
		return -1;
	}
	return 0;
}

static int peer_read_keys(struct peer_args *a)
{
	if (!!a->val[KW_NEXT_TX_KEY] != !!a->val[KW_NEXT_RX_KEY]) {
		fprintf(stderr, "Next keys come in pairs: give both \"next-tx-key\" and "
			"\"next-rx-key\".\n");
		return -1;
	}
	return peer_read_pair(a, KW_TX_KEY, KW_RX_KEY, a->tx_key, a->rx_key) ||
	       peer_read_pair(a, KW_NEXT_TX_KEY, KW_NEXT_RX_KEY, a->next_tx_key,
			      a->next_rx_key) ? -1 : 0;
}

static void put_allowed(struct nlmsghdr *nlh, const struct peer_args *a)
{
	struct nlattr *list, *elem;
	size_t i;

	list = mnl_attr_nest_start(nlh, VEIL_A_PEER_ALLOWED);
	for (i = 0; i < a->n_allowed; i++) {
		elem = mnl_attr_nest_start(nlh, PEER_LIST_ELEM);
		mnl_attr_put_u16(nlh, VEIL_A_PREFIX_FAMILY, a->allowed[i].family);
		mnl_attr_put(nlh, VEIL_A_PREFIX_ADDR, veil_addr_len(a->allowed[i].family),
			     a->allowed[i].addr);
		mnl_attr_put_u8(nlh, VEIL_A_PREFIX_LEN, a->allowed[i].len);
		mnl_attr_nest_end(nlh, elem);
	}
	mnl_attr_nest_end(nlh, list);
}

static void put_ports(struct nlmsghdr *nlh, const struct peer_args *a)
{
	struct nlattr *list, *elem;
	size_t i;

	list = mnl_attr_nest_start(nlh, VEIL_A_PEER_PORTS);
	for (i = 0; i < a->n_ports; i++) {
		elem = mnl_attr_nest_start(nlh, PEER_LIST_ELEM);
		mnl_attr_put_u8(nlh, VEIL_A_PORT_PROTO, a->ports[i].proto);
		mnl_attr_put_u16(nlh, VEIL_A_PORT_MIN, a->ports[i].min);
		mnl_attr_put_u16(nlh, VEIL_A_PORT_MAX, a->ports[i].max);
		mnl_attr_nest_end(nlh, elem);
	}
	mnl_attr_nest_end(nlh, list);
}

static void put_pair(struct nlmsghdr *nlh, uint16_t from, uint16_t to,
		     const struct veil_addr_pair *p)
{
	if (!p->family)
		return;
	mnl_attr_put(nlh, from, veil_addr_len(p->family), p->from);
	mnl_attr_put(nlh, to, veil_addr_len(p->family), p->to);
}

/* VEIL_A_DEV_IFNAME, then one VEIL_A_DEV_PEER nest with what was given. */
static void put_peer(struct nlmsghdr *nlh, const struct peer_args *a)
{
	struct nlattr *peer;

	mnl_attr_put_strz(nlh, VEIL_A_DEV_IFNAME, a->val[KW_DEV]);
	peer = mnl_attr_nest_start(nlh, VEIL_A_DEV_PEER);
	if (a->val[KW_ID])
		mnl_attr_put_u32(nlh, VEIL_A_PEER_ID, a->id);
	if (a->val[KW_REMOTE_ID])
		mnl_attr_put_u32(nlh, VEIL_A_PEER_REMOTE_ID, a->remote_id);
	if (a->val[KW_ENDPOINT])
		mnl_attr_put(nlh, VEIL_A_PEER_ENDPOINT, a->endpoint_len, &a->endpoint);
	if (a->val[KW_TX_KEY])
		mnl_attr_put(nlh, VEIL_A_PEER_TX_KEY, VEIL_KEY_LEN, a->tx_key);
	if (a->val[KW_RX_KEY])
		mnl_attr_put(nlh, VEIL_A_PEER_RX_KEY, VEIL_KEY_LEN, a->rx_key);
	if (a->val[KW_NEXT_TX_KEY])
		mnl_attr_put(nlh, VEIL_A_PEER_NEXT_TX_KEY, VEIL_KEY_LEN, a->next_tx_key);
	if (a->val[KW_NEXT_RX_KEY])
		mnl_attr_put(nlh, VEIL_A_PEER_NEXT_RX_KEY, VEIL_KEY_LEN, a->next_rx_key);
	if (a->val[KW_ALLOWED])
		put_allowed(nlh, a);
	if (a->val[KW_PORTS])
		put_ports(nlh, a);
	if (a->val[KW_KEEPALIVE])
		mnl_attr_put_u16(nlh, VEIL_A_PEER_KEEPALIVE, a->keepalive);
	if (a->val[KW_ROLE])
		mnl_attr_put_u8(nlh, VEIL_A_PEER_ROLE, a->role);
	if (a->val[KW_XLAT_SRC] || a->val[KW_XLAT_DST]) {
		struct nlattr *x = mnl_attr_nest_start(nlh, VEIL_A_PEER_XLAT);

		put_pair(nlh, VEIL_A_XLAT_SRC, VEIL_A_XLAT_SRC_TO, &a->xlat_src);
		put_pair(nlh, VEIL_A_XLAT_DST, VEIL_A_XLAT_DST_TO, &a->xlat_dst);
		mnl_attr_nest_end(nlh, x);
	}
	mnl_attr_nest_end(nlh, peer);
}

static void peer_error(struct veil_nl *nl, int err, const struct peer_args *a, const char *what)
{
	const char *dev = a->val[KW_DEV];

	if (err == -ENODEV)
		fprintf(stderr, "Device \"%s\" does not exist.\n", dev);
	else if (err == -ENOENT && !veil_nl_errmsg(nl) && a->val[KW_ID])
		fprintf(stderr, "Peer %" PRIu32 " does not exist on \"%s\".\n", a->id, dev);
	else if (err == -EEXIST && !veil_nl_errmsg(nl) && a->val[KW_ID])
		fprintf(stderr, "Peer %" PRIu32 " already exists on \"%s\".\n", a->id, dev);
	else
		veil_cli_nl_error(nl, err, what);
}

/* add, set, del: one request, one ACK. */
static int peer_change(uint8_t cmd, const char *verb, unsigned int accepted,
		       unsigned int required, const char *what, int argc, char **argv)
{
	struct peer_args a = { .verb = verb };
	struct veil_nl *nl = NULL;
	struct nlmsghdr *nlh;
	int ret = 1, err;
	size_t len;

	switch (peer_parse(&a, accepted, argc, argv)) {
	case PARSE_HELP:
		ret = 0;
		goto out;
	case PARSE_ERROR:
		goto out;
	}
	if (peer_require(&a, required) < 0 || peer_read_keys(&a) < 0)
		goto out;

	nl = veil_cli_nl_open();
	if (!nl)
		goto out;
	nlh = veil_nl_msg(nl, cmd, 0);
	put_peer(nlh, &a);
	peer_args_free(&a);		/* the keys now live only in the request */
	len = nlh->nlmsg_len;
	err = veil_nl_run(nl, nlh, NULL, NULL);
	explicit_bzero(nlh, len);	/* the request buffer, keys and all */
	if (err)
		peer_error(nl, err, &a, what);
	else
		ret = 0;
out:
	peer_args_free(&a);
	veil_nl_close(nl);
	return ret;
}

/* Attribute types of a peer reply; anything else, or of another shape, is ignored. */
static const enum mnl_attr_data_type peer_attr_types[VEIL_A_PEER_MAX + 1] = {
	[VEIL_A_PEER_ID] = MNL_TYPE_U32,
	[VEIL_A_PEER_REMOTE_ID] = MNL_TYPE_U32,
	[VEIL_A_PEER_ENDPOINT] = MNL_TYPE_BINARY,
	[VEIL_A_PEER_ALLOWED] = MNL_TYPE_NESTED,
	[VEIL_A_PEER_PORTS] = MNL_TYPE_NESTED,
	[VEIL_A_PEER_KEEPALIVE] = MNL_TYPE_U16,
	[VEIL_A_PEER_STATS] = MNL_TYPE_NESTED,
	[VEIL_A_PEER_LAST_RX] = MNL_TYPE_U64,
	[VEIL_A_PEER_ROLE] = MNL_TYPE_U8,
	[VEIL_A_PEER_KEY_PHASE] = MNL_TYPE_U8,
	[VEIL_A_PEER_TX_COUNTER] = MNL_TYPE_U64,
	[VEIL_A_PEER_XLAT] = MNL_TYPE_NESTED,
};

static int peer_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= VEIL_A_PEER_MAX && peer_attr_types[type] != MNL_TYPE_UNSPEC &&
	    mnl_attr_validate(attr, peer_attr_types[type]) == 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int prefix_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= VEIL_A_PREFIX_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int port_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= VEIL_A_PORT_MAX_ATTR)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int xlat_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= VEIL_A_XLAT_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int pstats_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= VEIL_A_PSTATS_MAX && mnl_attr_validate(attr, MNL_TYPE_U64) == 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

/* One element of VEIL_A_PEER_ALLOWED as text; -1 if malformed. */
static int format_prefix_attr(const struct nlattr *elem, char *buf, size_t bufsz)
{
	const struct nlattr *tb[VEIL_A_PREFIX_MAX + 1] = { 0 };
	struct veil_prefix p = { 0 };

	if (mnl_attr_parse_nested(elem, prefix_attr_cb, tb) < 0 || !tb[VEIL_A_PREFIX_FAMILY] ||
	    !tb[VEIL_A_PREFIX_ADDR] || !tb[VEIL_A_PREFIX_LEN] ||
	    mnl_attr_validate(tb[VEIL_A_PREFIX_FAMILY], MNL_TYPE_U16) < 0 ||
	    mnl_attr_validate(tb[VEIL_A_PREFIX_LEN], MNL_TYPE_U8) < 0)
		return -1;
	p.family = mnl_attr_get_u16(tb[VEIL_A_PREFIX_FAMILY]);
	p.len = mnl_attr_get_u8(tb[VEIL_A_PREFIX_LEN]);
	if (!veil_addr_len(p.family) ||
	    mnl_attr_get_payload_len(tb[VEIL_A_PREFIX_ADDR]) != veil_addr_len(p.family))
		return -1;
	memcpy(p.addr, mnl_attr_get_payload(tb[VEIL_A_PREFIX_ADDR]), veil_addr_len(p.family));
	return veil_format_prefix(&p, buf, bufsz);
}

/* One element of VEIL_A_PEER_PORTS as text; -1 if malformed. */
static int format_port_attr(const struct nlattr *elem, char *buf, size_t bufsz)
{
	const struct nlattr *tb[VEIL_A_PORT_MAX_ATTR + 1] = { 0 };
	struct veil_port_range r = { 0 };

	if (mnl_attr_parse_nested(elem, port_attr_cb, tb) < 0 || !tb[VEIL_A_PORT_PROTO] ||
	    mnl_attr_validate(tb[VEIL_A_PORT_PROTO], MNL_TYPE_U8) < 0)
		return -1;
	r.proto = mnl_attr_get_u8(tb[VEIL_A_PORT_PROTO]);
	if (tb[VEIL_A_PORT_MIN] && mnl_attr_validate(tb[VEIL_A_PORT_MIN], MNL_TYPE_U16) == 0)
		r.min = mnl_attr_get_u16(tb[VEIL_A_PORT_MIN]);
	if (tb[VEIL_A_PORT_MAX] && mnl_attr_validate(tb[VEIL_A_PORT_MAX], MNL_TYPE_U16) == 0)
		r.max = mnl_attr_get_u16(tb[VEIL_A_PORT_MAX]);
	return veil_format_port_range(&r, buf, bufsz);
}

/*
 * A list nest as a JSON array and a ", "-separated text line. @list may be
 * NULL (not sent): the text then says @none.
 */
static void print_list(const char *key, const char *label, const char *none,
		       const struct nlattr *list,
		       int (*format)(const struct nlattr *elem, char *buf, size_t bufsz))
{
	const struct nlattr *elem;
	char buf[VEIL_PREFIX_STRLEN + VEIL_PORT_STRLEN];	/* either */
	unsigned int n = 0;

	veil_print_open_array(key);
	veil_print_text("    %s", label);
	if (list) {
		mnl_attr_for_each_nested(elem, list) {
			if (format(elem, buf, sizeof(buf)) < 0)
				continue;
			veil_print_string(NULL, n++ ? ", %s" : " %s", buf);
		}
	}
	if (!n)
		veil_print_text(" %s", none);
	veil_print_text("\n");
	veil_print_close_array();
}

static uint64_t pstat(const struct nlattr *const *tb, int type)
{
	return tb[type] ? mnl_attr_get_u64(tb[type]) : 0;
}

static void print_pstats(const struct nlattr *stats)
{
	const struct nlattr *tb[VEIL_A_PSTATS_MAX + 1] = { 0 };

	mnl_attr_parse_nested(stats, pstats_attr_cb, tb);
	veil_print_open_object("stats");
	veil_print_uint("rx_bytes", "    rx: %" PRIu64 " bytes", pstat(tb, VEIL_A_PSTATS_RX_BYTES));
	veil_print_uint("rx_packets", " %" PRIu64 " packets",
			pstat(tb, VEIL_A_PSTATS_RX_PACKETS));
	veil_print_uint("tx_bytes", "  tx: %" PRIu64 " bytes", pstat(tb, VEIL_A_PSTATS_TX_BYTES));
	veil_print_uint("tx_packets", " %" PRIu64 " packets\n",
			pstat(tb, VEIL_A_PSTATS_TX_PACKETS));
	veil_print_close_object();
	veil_print_open_object("drops");
	veil_print_uint("auth", "    drops: auth %" PRIu64, pstat(tb, VEIL_A_PSTATS_DROP_AUTH));
	veil_print_uint("replay", " replay %" PRIu64, pstat(tb, VEIL_A_PSTATS_DROP_REPLAY));
	veil_print_uint("source", " source %" PRIu64, pstat(tb, VEIL_A_PSTATS_DROP_SOURCE));
	veil_print_uint("port", " port %" PRIu64, pstat(tb, VEIL_A_PSTATS_DROP_PORT));
	veil_print_uint("malformed", " malformed %" PRIu64,
			pstat(tb, VEIL_A_PSTATS_DROP_MALFORMED));
	veil_print_uint("nokey", " nokey %" PRIu64 "\n", pstat(tb, VEIL_A_PSTATS_DROP_NOKEY));
	veil_print_close_object();
}

/* One translation pair as "ADDR=ADDR"; -1 if absent or malformed. */
static int format_pair(const struct nlattr *from, const struct nlattr *to, char *buf,
		       size_t bufsz)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	uint16_t len;
	int family;

	if (!from || !to)
		return -1;
	len = mnl_attr_get_payload_len(from);
	family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
	if (!family || mnl_attr_get_payload_len(to) != len ||
	    !inet_ntop(family, mnl_attr_get_payload(from), a, sizeof(a)) ||
	    !inet_ntop(family, mnl_attr_get_payload(to), b, sizeof(b)))
		return -1;
	snprintf(buf, bufsz, "%s=%s", a, b);
	return 0;
}

static void print_xlat(const struct nlattr *nest)
{
	const struct nlattr *tb[VEIL_A_XLAT_MAX + 1] = { 0 };
	char buf[2 * INET6_ADDRSTRLEN + 2];

	if (mnl_attr_parse_nested(nest, xlat_attr_cb, tb) < 0)
		return;
	veil_print_open_object("translate");
	veil_print_text("   ");
	if (!format_pair(tb[VEIL_A_XLAT_SRC], tb[VEIL_A_XLAT_SRC_TO], buf, sizeof(buf)))
		veil_print_string("src", " translate-src %s", buf);
	if (!format_pair(tb[VEIL_A_XLAT_DST], tb[VEIL_A_XLAT_DST_TO], buf, sizeof(buf)))
		veil_print_string("dst", " translate-dst %s", buf);
	veil_print_text("\n");
	veil_print_close_object();
}

static void print_peer(const char *ifname, const struct nlattr *nest)
{
	const struct nlattr *tb[VEIL_A_PEER_MAX + 1] = { 0 };
	char ep[VEIL_ENDPOINT_STRLEN];
	uint64_t ms;

	if (mnl_attr_parse_nested(nest, peer_attr_cb, tb) < 0 || !tb[VEIL_A_PEER_ID])
		return;
	veil_print_open_object(NULL);
	veil_print_string("ifname", "%s", ifname);
	veil_print_uint("id", " peer %" PRIu64, mnl_attr_get_u32(tb[VEIL_A_PEER_ID]));
	if (tb[VEIL_A_PEER_REMOTE_ID])
		veil_print_uint("remote_id", " remote-id %" PRIu64,
				mnl_attr_get_u32(tb[VEIL_A_PEER_REMOTE_ID]));
	if (tb[VEIL_A_PEER_ENDPOINT] &&
	    veil_format_endpoint(mnl_attr_get_payload(tb[VEIL_A_PEER_ENDPOINT]),
				 mnl_attr_get_payload_len(tb[VEIL_A_PEER_ENDPOINT]),
				 ep, sizeof(ep)) == 0)
		veil_print_string("endpoint", " endpoint %s", ep);
	if (tb[VEIL_A_PEER_KEEPALIVE])
		veil_print_uint("keepalive", " keepalive %" PRIu64,
				mnl_attr_get_u16(tb[VEIL_A_PEER_KEEPALIVE]));
	if (tb[VEIL_A_PEER_ROLE])
		veil_print_string("role", " role %s",
				  mnl_attr_get_u8(tb[VEIL_A_PEER_ROLE]) == VEIL_ROLE_SERVER ?
				  "server" : "client");
	if (tb[VEIL_A_PEER_KEY_PHASE])
		veil_print_uint("key_phase", " key-phase %" PRIu64,
				mnl_attr_get_u8(tb[VEIL_A_PEER_KEY_PHASE]));
	if (tb[VEIL_A_PEER_TX_COUNTER])
		veil_print_uint("tx_counter", " tx-counter %" PRIu64,
				mnl_attr_get_u64(tb[VEIL_A_PEER_TX_COUNTER]));
	veil_print_text("\n");
	if (tb[VEIL_A_PEER_ALLOWED])
		print_list("allowed", "allowed", "none", tb[VEIL_A_PEER_ALLOWED],
			   format_prefix_attr);
	print_list("ports", "ports", "any", tb[VEIL_A_PEER_PORTS], format_port_attr);
	if (tb[VEIL_A_PEER_XLAT])
		print_xlat(tb[VEIL_A_PEER_XLAT]);
	if (tb[VEIL_A_PEER_LAST_RX]) {
		ms = mnl_attr_get_u64(tb[VEIL_A_PEER_LAST_RX]);
		veil_print_uint("last_rx_ms", NULL, ms);
		veil_print_text("    last-rx %" PRIu64 ".%03" PRIu64 "s ago\n", ms / 1000,
				ms % 1000);
	}
	if (tb[VEIL_A_PEER_STATS])
		print_pstats(tb[VEIL_A_PEER_STATS]);
	veil_print_close_object();
}

/* A PEER_GET reply: the device's name, then one (or more) VEIL_A_DEV_PEER nests. */
static int peer_print_cb(const struct nlmsghdr *nlh, void *data)
{
	const char *ifname = data;
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(attr) == VEIL_A_DEV_IFNAME &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			ifname = mnl_attr_get_str(attr);
	}
	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(attr) == VEIL_A_DEV_PEER &&
		    mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
			print_peer(ifname, attr);
	}
	return MNL_CB_OK;
}

struct dev_list {
	char **names;
	size_t n;
	size_t size;
	bool nomem;
};

static int dev_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dev_list *l = data;
	const struct nlattr *attr;
	char **names;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(attr) != VEIL_A_DEV_IFNAME ||
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			continue;
		if (l->n == l->size) {
			l->size = l->size ? 2 * l->size : 16;
			names = realloc(l->names, l->size * sizeof(*names));
			if (!names) {
				l->nomem = true;
				return MNL_CB_ERROR;
			}
			l->names = names;
		}
		l->names[l->n] = strdup(mnl_attr_get_str(attr));
		if (!l->names[l->n]) {
			l->nomem = true;
			return MNL_CB_ERROR;
		}
		l->n++;
	}
	return MNL_CB_OK;
}

/* Dump the peers of one device; a device gone meanwhile is skipped when @quiet. */
static int peer_dump_dev(struct veil_nl *nl, const char *dev, bool quiet)
{
	struct peer_args a = { .verb = "show", .val[KW_DEV] = dev };
	struct nlmsghdr *nlh;
	int err;

	nlh = veil_nl_msg(nl, VEIL_CMD_PEER_GET, NLM_F_DUMP);
	mnl_attr_put_strz(nlh, VEIL_A_DEV_IFNAME, dev);
	err = veil_nl_run(nl, nlh, peer_print_cb, (void *)dev);
	if (!err || (quiet && err == -ENODEV))
		return 0;
	peer_error(nl, err, &a, "cannot list peers");
	return -1;
}

static int peer_show(int argc, char **argv)
{
	struct peer_args a = { .verb = "show" };
	struct dev_list l = { 0 };
	struct veil_nl *nl;
	struct nlmsghdr *nlh;
	int ret = 1, err;
	size_t i;

	switch (peer_parse(&a, KW(KW_DEV) | KW(KW_ID), argc, argv)) {
	case PARSE_HELP:
		ret = 0;
		goto out_args;
	case PARSE_ERROR:
		goto out_args;
	}
	if (a.val[KW_ID] && !a.val[KW_DEV]) {
		fprintf(stderr, "Command line is not complete: \"id\" needs \"dev NAME\" too: peer "
			"IDs are per device.\n");
		goto out_args;
	}

	nl = veil_cli_nl_open();
	if (!nl)
		goto out_args;
	veil_print_open_array(NULL);
	if (a.val[KW_ID]) {
		nlh = veil_nl_msg(nl, VEIL_CMD_PEER_GET, 0);
		put_peer(nlh, &a);
		err = veil_nl_run(nl, nlh, peer_print_cb, (void *)a.val[KW_DEV]);
		if (err) {
			peer_error(nl, err, &a, "cannot show the peer");
			goto out;
		}
	} else if (a.val[KW_DEV]) {
		if (peer_dump_dev(nl, a.val[KW_DEV], false) < 0)
			goto out;
	} else {
		nlh = veil_nl_msg(nl, VEIL_CMD_DEV_GET, NLM_F_DUMP);
		err = veil_nl_run(nl, nlh, dev_list_cb, &l);
		if (err || l.nomem) {
			if (l.nomem)
				fprintf(stderr, "Error: out of memory.\n");
			else
				veil_cli_nl_error(nl, err, "cannot list veil devices");
			goto out;
		}
		for (i = 0; i < l.n; i++)
			if (peer_dump_dev(nl, l.names[i], true) < 0)
				goto out;
	}
	ret = 0;
out:
	veil_print_close_array();
	for (i = 0; i < l.n; i++)
		free(l.names[i]);
	free(l.names);
	veil_nl_close(nl);
out_args:
	peer_args_free(&a);
	return ret;
}

int do_peer(int argc, char **argv)
{
	if (argc == 0)
		return peer_show(0, NULL);
	if (matches(*argv, "show") || matches(*argv, "list") || matches(*argv, "lst"))
		return peer_show(argc - 1, argv + 1);
	if (matches(*argv, "add"))
		return peer_change(VEIL_CMD_PEER_NEW, "add", KW_CHANGE,
				   KW(KW_DEV) | KW(KW_ID) | KW(KW_REMOTE_ID) | KW(KW_TX_KEY) |
				   KW(KW_RX_KEY), "cannot add the peer", argc - 1, argv + 1);
	if (matches(*argv, "set"))
		return peer_change(VEIL_CMD_PEER_SET, "set",
				   KW_CHANGE | KW(KW_NEXT_TX_KEY) | KW(KW_NEXT_RX_KEY),
				   KW(KW_DEV) | KW(KW_ID), "cannot change the peer",
				   argc - 1, argv + 1);
	if (!strcmp(*argv, "key-swap"))
		return peer_change(VEIL_CMD_KEY_SWAP, "key-swap", KW(KW_DEV) | KW(KW_ID),
				   KW(KW_DEV) | KW(KW_ID), "cannot swap the keys",
				   argc - 1, argv + 1);
	if (matches(*argv, "delete"))
		return peer_change(VEIL_CMD_PEER_DEL, "del", KW(KW_DEV) | KW(KW_ID),
				   KW(KW_DEV) | KW(KW_ID), "cannot delete the peer",
				   argc - 1, argv + 1);
	if (matches(*argv, "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "Command \"%s\" is unknown, try \"veil peer help\".\n", *argv);
	return 1;
}
