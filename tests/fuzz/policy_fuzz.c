// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the policy loader (userspace/controller/policy.c).
 * The input is a policy document. When it loads, every name of every app
 * is resolved for a few subjects, and the node view is built for them and
 * for each app's server.
 *
 * Besides the sanitizers, invariants abort: an error has a message and a
 * place inside the document; a loaded name is never "no such name"; an
 * allowed resolve names its rule and grants ports within the app's, and
 * app_allows agrees;
 * the node view is JSON and the same twice.
 */
// sources: userspace/controller/policy.c
// pkgs: json-c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "policy.h"

#define ASSERT(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();					\
		}							\
	} while (0)

static const char *facts[] = { "disk-encrypted", "firewall-on" };
static const struct veil_posture posture = { "linux", "6.1.0-26-amd64", "0.1.0", facts, 2 };
static const char *enroll[] = { "eng", "ops", "g" };

static const struct veil_subject subjects[] = {
	{ "lap1", "alice", "client", NULL, 0, &posture },
	{ "ci-runner", "bob", "client", enroll, 1, NULL },
	{ "gw1", "carol", "server", enroll, 3, &posture },
	{ NULL, NULL, NULL, NULL, 0, NULL },
};

/* Is @r inside one of the ranges of @ports ("tcp/22,udp/5000-5100")? */
static int covered(const char *ports, const struct veil_port_range *r)
{
	const char *want = r->proto == 17 ? "udp/" : "tcp/";
	const char *s = ports;

	while (s && *s) {
		unsigned long first, last;
		char *end;

		if (!strncmp(s, want, 4)) {
			first = strtoul(s + 4, &end, 10);
			last = *end == '-' ? strtoul(end + 1, &end, 10) : first;
			if (first <= r->first && r->last <= last)
				return 1;
		}
		s = strchr(s, ',');
		if (s)
			s++;
	}
	return 0;
}

static void check_view(const struct veil_policy *p, const struct veil_subject *who)
{
	char *a = veil_policy_node_view(p, who), *b = veil_policy_node_view(p, who);
	json_object *o;

	ASSERT(a && b && !strcmp(a, b));
	o = json_tokener_parse(a);
	ASSERT(o && json_object_get_type(o) == json_type_object);
	json_object_put(o);
	free(a);
	free(b);
}

static int each_app(const char *app, const char *const *names, size_t n_names,
		    const char *server, const char *target, const char *ports, void *ctx)
{
	const struct veil_policy *p = ctx;
	struct veil_subject srv = { server, "svc", "server", NULL, 0, NULL };
	struct veil_decision d;
	size_t i, s;

	ASSERT(app && server && target && ports && n_names);
	for (i = 0; i < n_names; i++) {
		if (names[i][0] == '*')
			continue;
		veil_policy_resolve(p, &subjects[0], names[i], &d);
		ASSERT(!strcmp(d.app, app));
	}
	for (i = 0; i < n_names; i++) {
		char name[300];

		/* A wildcard is asked as one label in its place. */
		snprintf(name, sizeof(name), "%s%s", names[i][0] == '*' ? "wild-x" : "",
			 names[i] + (names[i][0] == '*'));
		for (s = 0; s < sizeof(subjects) / sizeof(subjects[0]); s++) {
			veil_policy_resolve(p, &subjects[s], name, &d);
			ASSERT(strcmp(d.reason, "no such name"));
			/* An exact name may shadow the wildcard's stand-in. */
			ASSERT(names[i][0] == '*' || !strcmp(d.app, app));
			if (d.allowed) {
				ASSERT(d.rule[0] && d.n_ports && d.n_ports <= VEIL_POLICY_MAX_PORTS);
				for (size_t k = 0; k < d.n_ports; k++)
					ASSERT(!strcmp(d.app, app) ? covered(ports, &d.ports[k]) : 1);
				ASSERT(veil_policy_app_allows(p, d.app, &subjects[s]));
			} else {
				ASSERT(d.reason[0] && !d.n_ports);
				ASSERT(!veil_policy_app_allows(p, d.app, &subjects[s]));
			}
		}
	}
	check_view(p, &srv);
	return 0;
}

int LLVMFuzzerTestOneInput(const char *data, size_t size);

int LLVMFuzzerTestOneInput(const char *data, size_t size)
{
	struct veil_policy_error err;
	const char *const *zones;
	struct veil_decision d;
	struct veil_policy *p;
	size_t i, lines = 1;

	p = veil_policy_parse(data, size, &err);
	if (!p) {
		for (i = 0; i < size; i++)
			lines += data[i] == '\n';
		ASSERT(err.msg[0]);
		ASSERT(err.line >= 0 && (size_t)err.line <= lines);
		ASSERT(!err.line || err.column >= 1);
		ASSERT(err.line || !err.column);
		return 0;
	}
	ASSERT(veil_policy_zones(p, &zones) >= 1 && zones[0]);
	veil_policy_apps(p, each_app, p);
	for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		check_view(p, &subjects[i]);
		veil_policy_resolve(p, &subjects[i], "no-such-name.invalid.", &d);
		ASSERT(!d.allowed && !strcmp(d.reason, "no such name"));
	}
	veil_policy_free(p);
	return 0;
}
