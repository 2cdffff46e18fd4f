/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Access policy: a JSON document, deny by default (format in
 * Documentation/policy.md). Plain C over json-c: no event loop, no store, so
 * the loader is unit-tested and fuzzed on its own.
 *
 * A document is validated whole: the first error is reported with its line,
 * column and reason, and nothing of the document is used.
 */
#ifndef VEIL_POLICY_H
#define VEIL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct veil_policy;

struct veil_policy_error {
	int line;			/* 1-based; 0 when not tied to a place */
	int column;			/* 1-based, in bytes */
	char msg[256];			/* "rule \"ops\": unknown group \"opz\"" */
};

struct veil_policy *veil_policy_parse(const char *text, size_t len,
				      struct veil_policy_error *err);
void veil_policy_free(struct veil_policy *p);

/* What the device reported about itself (posture). NULL fields: unknown. */
struct veil_posture {
	const char *os;			/* "linux" */
	const char *kernel;		/* "6.1.0-26-amd64" */
	const char *veil_version;	/* "0.1.0" */
	const char *const *facts;	/* "disk-encrypted", "firewall-on", ... */
	size_t n_facts;
};

/* Who asks: from the certificate and the store. */
struct veil_subject {
	const char *device;
	const char *owner;		/* user */
	const char *role;		/* "client", "server", "admin" */
	const char *const *groups;	/* groups given at enrollment */
	size_t n_groups;
	const struct veil_posture *posture;	/* NULL: nothing reported */
};

#define VEIL_POLICY_MAX_PORTS	64

struct veil_port_range {
	uint8_t proto;			/* IPPROTO_TCP, IPPROTO_UDP */
	uint16_t first, last;
};

struct veil_decision {
	bool allowed;
	char rule[64];			/* the rule that allowed it */
	char reason[256];		/* why not: "no rule for user bob", "posture: kernel 5.10 < 6.1" */
	/* When allowed: the app and what the device may reach. */
	char app[64];
	char server[64];		/* publishing server node */
	char target[256];		/* address or name behind the server */
	struct veil_port_range ports[VEIL_POLICY_MAX_PORTS];
	size_t n_ports;			/* union over the matching rules */
};

/*
 * Decide whether @who may resolve @name (any case, with or without the
 * trailing dot). A name in no app is denied with reason "no such name".
 */
void veil_policy_resolve(const struct veil_policy *p, const struct veil_subject *who,
			 const char *name, struct veil_decision *d);

/*
 * The part of the policy that concerns one node, as a JSON text (malloc'd):
 * for every node the zones to intercept and the names it may resolve; for a
 * server node also, for each app it publishes, its names, target, ports and
 * the users, groups and devices allowed to reach it.
 */
char *veil_policy_node_view(const struct veil_policy *p, const struct veil_subject *who);

/* Would @client (a device asking through a server) be allowed to @app? */
bool veil_policy_app_allows(const struct veil_policy *p, const char *app,
			    const struct veil_subject *client);

/* Enumerate apps (for "app list"): name, names, server, target, ports text. */
typedef int (*veil_policy_app_cb)(const char *app, const char *const *names, size_t n_names,
				  const char *server, const char *target, const char *ports,
				  void *ctx);
int veil_policy_apps(const struct veil_policy *p, veil_policy_app_cb cb, void *ctx);

/* The zones every node intercepts. */
size_t veil_policy_zones(const struct veil_policy *p, const char *const **zones);

#endif /* VEIL_POLICY_H */
