// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the access policy (userspace/controller/policy.c): loading
 * and its errors with their exact line and column, decisions (groups,
 * ports, posture, deny by default, name forms) and the per-node view. KTAP
 * output; one diagnostic line times 100k resolves on a 1,000-app policy.
 *
 * The documents in tests/controller/policies/ are found from the program's
 * own path (build/tests/unit/policy_test).
 */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"

static int n, failed;
static FILE *out;

static void check(int ok, const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void check(int ok, const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	n++;
	fprintf(out, "%sok %d ", ok ? "" : "not ", n);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	if (!ok) {
		fprintf(out, "# %s:%d: %s\n", file, line, cond);
		failed++;
	}
}

#define CHECK(cond, ...) check(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)

static struct veil_policy *load(const char *doc, struct veil_policy_error *e)
{
	return veil_policy_parse(doc, strlen(doc), e);
}

/* --- documents --- */

#define HEAD "{\"version\": 1, \"zones\": [\"corp.example\"],\n"

static const char *doc_main =
	"{\n"
	"  \"version\": 1,\n"
	"  \"zones\": [\"corp.example\", \"lab.example.\"],\n"
	"  \"groups\": {\n"
	"    \"eng\": { \"users\": [\"alice\", \"bob\"], \"devices\": [\"ci-runner\"] },\n"
	"    \"ops\": { \"users\": [\"carol\"], \"groups\": [\"eng\"] },\n"
	"    \"all\": { \"groups\": [\"ops\"] },\n"
	"    \"contractors\": {},\n"
	"    \"kiosks\": { \"devices\": [\"kiosk1\"] }\n"
	"  },\n"
	"  \"postures\": {\n"
	"    \"managed-linux\": { \"os\": [\"linux\"], \"kernel\": \">=6.1\", \"veil\": \">=0.1.0\",\n"
	"                       \"facts\": [\"disk-encrypted\"] },\n"
	"    \"any\": {}\n"
	"  },\n"
	"  \"apps\": {\n"
	"    \"git\": { \"names\": [\"Git.Corp.Example.\"], \"server\": \"gw1\",\n"
	"             \"target\": \"10.10.0.5\", \"ports\": [\"tcp/22\", \"tcp/443\"] },\n"
	"    \"wiki\": { \"names\": [\"wiki.corp.example\", \"docs.corp.example\"], \"server\": \"gw1\",\n"
	"              \"target\": \"10.10.0.6\", \"ports\": [\"tcp/80-443\", \"udp/53\"] },\n"
	"    \"mon\": { \"names\": [\"mon.lab.example\"], \"server\": \"gw2\",\n"
	"             \"target\": \"mon.internal\", \"ports\": [\"tcp/3000-3010\", \"udp/161\"] },\n"
	"    \"dev\": { \"names\": [\"*.dev.corp.example\"], \"server\": \"gw2\",\n"
	"             \"target\": \"10.20.0.1\", \"ports\": [\"tcp/8000-8999\"] },\n"
	"    \"nobody\": { \"names\": [\"nobody.corp.example\"], \"server\": \"gw2\",\n"
	"             \"target\": \"10.20.0.2\", \"ports\": [\"tcp/1\"] }\n"
	"  },\n"
	"  \"rules\": [\n"
	"    { \"name\": \"eng-git\", \"groups\": [\"eng\"], \"apps\": [\"git\"], \"ports\": [\"tcp/22\"],\n"
	"      \"posture\": \"managed-linux\" },\n"
	"    { \"name\": \"ci-git\", \"devices\": [\"ci-runner\"], \"apps\": [\"git\"] },\n"
	"    { \"name\": \"ops-wiki\", \"groups\": [\"ops\"], \"apps\": [\"wiki\"], \"ports\": [\"tcp/80\"] },\n"
	"    { \"name\": \"ops-wiki-dns\", \"groups\": [\"ops\"], \"apps\": [\"wiki\"], \"ports\": [\"udp/53\"] },\n"
	"    { \"name\": \"contractors-wiki\", \"groups\": [\"contractors\"], \"apps\": [\"wiki\"],\n"
	"      \"ports\": [\"tcp/443\"] },\n"
	"    { \"name\": \"all-mon\", \"groups\": [\"all\"], \"apps\": [\"mon\", \"dev\"] },\n"
	"    { \"name\": \"kiosk-mon\", \"groups\": [\"kiosks\"], \"apps\": [\"mon\"],\n"
	"      \"ports\": [\"tcp/3005\"], \"posture\": \"any\" },\n"
	"    { \"name\": \"dave-mon\", \"users\": [\"dave\"], \"apps\": [\"mon\"],\n"
	"      \"ports\": [\"tcp/3000-3001\", \"tcp/3003\"] },\n"
	"    { \"name\": \"dave-mon-2\", \"users\": [\"dave\"], \"apps\": [\"mon\"],\n"
	"      \"ports\": [\"tcp/3002\", \"udp/161\"] }\n"
	"  ]\n"
	"}\n";

static const char *facts_enc[] = { "disk-encrypted", "firewall-on" };

static struct veil_posture good = { "linux", "6.1.0-26-amd64", "0.1.0", facts_enc, 2 };

static struct veil_subject subject(const char *owner, const char *device)
{
	return (struct veil_subject){ .device = device, .owner = owner, .role = "client",
				      .posture = &good };
}

static bool allows(const struct veil_policy *p, const struct veil_subject *s, const char *name,
		   struct veil_decision *d)
{
	veil_policy_resolve(p, s, name, d);
	return d->allowed;
}

static bool has_port(const struct veil_decision *d, uint8_t proto, uint16_t first, uint16_t last)
{
	size_t i;

	for (i = 0; i < d->n_ports; i++)
		if (d->ports[i].proto == proto && d->ports[i].first == first &&
		    d->ports[i].last == last)
			return true;
	return false;
}

/* --- decisions --- */

static void test_groups(struct veil_policy *p)
{
	struct veil_subject s;
	struct veil_decision d;
	const char *enroll[] = { "contractors" }, *enroll_ops[] = { "nonexistent", "ops" };

	s = subject("alice", "lap1");
	CHECK(allows(p, &s, "git.corp.example", &d) && !strcmp(d.rule, "eng-git"),
	      "groups: a member of eng reaches git through rule eng-git");
	CHECK(!strcmp(d.app, "git") && !strcmp(d.server, "gw1") && !strcmp(d.target, "10.10.0.5"),
	      "groups: the decision names app, server and target");
	s = subject("carol", "lap3");
	CHECK(!allows(p, &s, "git.corp.example", &d),
	      "groups: ops containing eng does not put ops members in eng");
	CHECK(allows(p, &s, "mon.lab.example", &d) && !strcmp(d.rule, "all-mon"),
	      "groups: a member of ops reaches mon through all > ops");
	s = subject("bob", "lap2");
	CHECK(allows(p, &s, "mon.lab.example", &d),
	      "groups: nesting two deep: bob in eng in ops in all");
	s = subject("zed", "ci-runner");
	CHECK(allows(p, &s, "git.corp.example", &d) && !strcmp(d.rule, "eng-git") &&
	      d.n_ports == 2, "groups: a device in eng matches eng-git and ci-git, whoever owns it");
	CHECK(allows(p, &s, "mon.lab.example", &d),
	      "groups: device membership: ci-runner in eng in all");
	s = subject("zed", "lap9");
	CHECK(!allows(p, &s, "wiki.corp.example", &d), "groups: a stranger is denied");
	s.groups = enroll;
	s.n_groups = 1;
	CHECK(allows(p, &s, "wiki.corp.example", &d) && !strcmp(d.rule, "contractors-wiki"),
	      "groups: a group given at enrollment matches a rule on that group");
	s.groups = enroll_ops;
	s.n_groups = 2;
	CHECK(allows(p, &s, "mon.lab.example", &d) && !strcmp(d.rule, "all-mon"),
	      "groups: an enrollment group nested in a rule's group matches");
	CHECK(!allows(p, &s, "git.corp.example", &d),
	      "groups: enrollment in ops does not grant eng's rules");
}

static void test_ports(struct veil_policy *p)
{
	struct veil_subject s = subject("carol", "lap3");
	struct veil_decision d;

	CHECK(allows(p, &s, "wiki.corp.example", &d) && d.n_ports == 2 &&
	      has_port(&d, IPPROTO_TCP, 80, 80) && has_port(&d, IPPROTO_UDP, 53, 53),
	      "ports: the union over two matching rules (tcp/80, udp/53)");
	CHECK(!strcmp(d.rule, "ops-wiki"), "ports: the first matching rule is named");
	CHECK(allows(p, &s, "mon.lab.example", &d) && d.n_ports == 2 &&
	      has_port(&d, IPPROTO_TCP, 3000, 3010) && has_port(&d, IPPROTO_UDP, 161, 161),
	      "ports: a rule without ports grants all of the app's");
	s = subject("dave", "lap4");
	CHECK(allows(p, &s, "mon.lab.example", &d) && d.n_ports == 2 &&
	      has_port(&d, IPPROTO_TCP, 3000, 3003) && has_port(&d, IPPROTO_UDP, 161, 161),
	      "ports: adjacent ranges of two rules merge (3000-3001, 3002, 3003)");
	s = subject("zed", "kiosk1");
	CHECK(allows(p, &s, "mon.lab.example", &d) && d.n_ports == 1 &&
	      has_port(&d, IPPROTO_TCP, 3005, 3005), "ports: a one-port rule grants one port");
	s = subject("alice", "lap1");
	CHECK(allows(p, &s, "git.corp.example", &d) && d.n_ports == 1 &&
	      has_port(&d, IPPROTO_TCP, 22, 22), "ports: a rule's ports limit the app's");
}

static void test_posture(void)
{
	static const struct {
		const char *req, *kernel;
		bool ok;
		const char *reason;
	} cases[] = {
		{ ">=6.1", "6.1.0-26-amd64", true, NULL },
		{ ">=6.1", "5.10.0", false, "posture p: kernel 5.10.0 is below 6.1" },
		{ ">=6.1", "6.12.3", true, NULL },
		{ ">6.1", "6.1.0", false, "posture p: kernel 6.1.0 is not above 6.1" },
		{ ">6.1", "6.1.1", true, NULL },
		{ "<=6.1", "6.1", true, NULL },
		{ "<=6.1", "6.2", false, "posture p: kernel 6.2 is above 6.1" },
		{ "<6.1", "6.0.19", true, NULL },
		{ "<6.1", "6.1", false, "posture p: kernel 6.1 is not below 6.1" },
		{ "=6.1.0", "6.1-rc7", true, NULL },
		{ "=6.1.0", "6.1.1", false, "posture p: kernel 6.1.1 is not 6.1.0" },
		{ "6.1-6.12", "6.1.0", true, NULL },
		{ "6.1-6.12", "6.12.99", false, "posture p: kernel 6.12.99 is outside 6.1-6.12" },
		{ "6.1-6.12", "6.12", true, NULL },
		{ "6.1-6.12", "6.9.7+", true, NULL },
		{ "6.1-6.12", "6.0.9", false, "posture p: kernel 6.0.9 is outside 6.1-6.12" },
		{ ">=6.1", "linux-6.1", false, "posture p: kernel \"linux-6.1\" is not a version" },
		{ ">=6.1", NULL, false, "posture p: device reported no kernel version" },
	};
	const char *fmt = HEAD "\"postures\": {\"p\": {\"kernel\": \"%s\"}},\n"
		"\"apps\": {\"a\": {\"names\": [\"a.corp.example\"], \"server\": \"s\", "
		"\"target\": \"10.0.0.1\", \"ports\": [\"tcp/1\"]}},\n"
		"\"rules\": [{\"name\": \"r\", \"users\": [\"u\"], \"apps\": [\"a\"], \"posture\": \"p\"}]}";
	struct veil_policy_error e;
	struct veil_decision d;
	struct veil_policy *p;
	struct veil_posture rep;
	struct veil_subject s = subject("u", "dev1");
	char doc[1024];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(doc, sizeof(doc), fmt, cases[i].req);
		p = load(doc, &e);
		if (!p) {
			CHECK(p, "posture: kernel %s loads (%d:%d: %s)", cases[i].req, e.line,
			      e.column, e.msg);
			continue;
		}
		rep = (struct veil_posture){ .os = "linux", .kernel = cases[i].kernel };
		s.posture = &rep;
		veil_policy_resolve(p, &s, "a.corp.example", &d);
		CHECK(d.allowed == cases[i].ok &&
		      (!cases[i].reason || !strcmp(d.reason, cases[i].reason)),
		      "posture: kernel %s %s %s (%s)", cases[i].kernel ? cases[i].kernel : "(none)",
		      cases[i].ok ? "meets" : "fails", cases[i].req, d.reason);
		veil_policy_free(p);
	}
}

static void test_posture_facts(struct veil_policy *p)
{
	const char *one[] = { "firewall-on" };
	struct veil_subject s = subject("alice", "lap1");
	struct veil_posture rep = good;
	struct veil_decision d;

	rep.facts = one;
	rep.n_facts = 1;
	s.posture = &rep;
	CHECK(!allows(p, &s, "git.corp.example", &d) &&
	      !strcmp(d.reason, "posture managed-linux: fact disk-encrypted is missing"),
	      "posture: a missing fact denies (%s)", d.reason);
	rep.n_facts = 0;
	CHECK(!allows(p, &s, "git.corp.example", &d) &&
	      !strcmp(d.reason, "posture managed-linux: device reported no facts"),
	      "posture: no facts reported denies (%s)", d.reason);
	rep = good;
	rep.os = "freebsd";
	CHECK(!allows(p, &s, "git.corp.example", &d) &&
	      !strcmp(d.reason, "posture managed-linux: os freebsd is not linux"),
	      "posture: another os denies (%s)", d.reason);
	rep.os = "Linux";
	CHECK(allows(p, &s, "git.corp.example", &d), "posture: os compares without case");
	rep.veil_version = "0.0.9";
	CHECK(!allows(p, &s, "git.corp.example", &d) &&
	      !strcmp(d.reason, "posture managed-linux: veil 0.0.9 is below 0.1.0"),
	      "posture: an old veil denies (%s)", d.reason);
	s.posture = NULL;
	CHECK(!allows(p, &s, "git.corp.example", &d) &&
	      !strcmp(d.reason, "posture managed-linux: device reported no posture"),
	      "posture: no report at all denies (%s)", d.reason);
	s = subject("zed", "kiosk1");
	s.posture = NULL;
	CHECK(allows(p, &s, "mon.lab.example", &d),
	      "posture: an empty posture needs no report");
	s = subject("alice", "ci-runner");
	s.posture = NULL;
	CHECK(allows(p, &s, "git.corp.example", &d) && !strcmp(d.rule, "ci-git") &&
	      d.n_ports == 2, "posture: a failed posture on one rule leaves other rules");
}

static void test_deny(struct veil_policy *p)
{
	struct veil_subject s = subject("bob", "lap1");
	struct veil_policy_error e;
	struct veil_decision d;
	struct veil_policy *none;

	CHECK(!allows(p, &s, "nobody.corp.example", &d) &&
	      !strcmp(d.reason, "no rule allows user bob on device lap1 to reach nobody"),
	      "deny: an app no rule names (%s)", d.reason);
	CHECK(!allows(p, &s, "nothere.corp.example", &d) && !strcmp(d.reason, "no such name"),
	      "deny: a name in no app is \"no such name\"");
	CHECK(!allows(p, &s, "www.example.org", &d) && !strcmp(d.reason, "no such name"),
	      "deny: a name outside the zones is \"no such name\"");
	CHECK(!allows(p, &s, "", &d) && !allows(p, &s, ".", &d) &&
	      !allows(p, &s, "a..corp.example", &d) && !strcmp(d.reason, "no such name"),
	      "deny: malformed names are \"no such name\"");
	s = subject("mallory", "lap1");
	CHECK(!allows(p, &s, "wiki.corp.example", &d) &&
	      !strcmp(d.reason, "no rule allows user mallory on device lap1 to reach wiki"),
	      "deny: the wrong user is denied (%s)", d.reason);
	CHECK(!allows(p, NULL, "wiki.corp.example", &d) && !allows(NULL, &s, "wiki", &d),
	      "deny: no subject or no policy denies");
	none = load(HEAD "\"apps\": {\"a\": {\"names\": [\"a.corp.example\"], \"server\": \"s\", "
		    "\"target\": \"10.0.0.1\", \"ports\": [\"tcp/1\"]}}}", &e);
	CHECK(none, "deny: a policy without rules loads");
	s = subject("alice", "lap1");
	CHECK(none && !allows(none, &s, "a.corp.example", &d) && d.reason[0],
	      "deny: no rules deny everything");
	veil_policy_free(none);
}

static void test_names(struct veil_policy *p)
{
	struct veil_subject s = subject("alice", "lap1");
	struct veil_decision d;

	CHECK(allows(p, &s, "git.corp.example", &d), "names: written in mixed case, asked lower");
	CHECK(allows(p, &s, "GIT.CORP.EXAMPLE.", &d), "names: asked in upper case with a dot");
	CHECK(allows(p, &s, "wiki.corp.example.", &d), "names: trailing dot dropped");
	CHECK(allows(p, &s, "docs.corp.example", &d) && !strcmp(d.app, "wiki"),
	      "names: an app's second name");
	CHECK(allows(p, &s, "Feature-1.dev.corp.example", &d) && !strcmp(d.app, "dev"),
	      "names: a wildcard matches one more label");
	CHECK(!allows(p, &s, "a.b.dev.corp.example", &d) && !strcmp(d.reason, "no such name"),
	      "names: a wildcard does not match two more labels");
	CHECK(!allows(p, &s, "dev.corp.example", &d) && !strcmp(d.reason, "no such name"),
	      "names: a wildcard does not match its base");
	CHECK(veil_policy_app_allows(p, "git", &s), "app_allows: alice may reach git");
	s = subject("mallory", "lap1");
	CHECK(!veil_policy_app_allows(p, "git", &s) && !veil_policy_app_allows(p, "nope", &s),
	      "app_allows: mallory may not; an unknown app is refused");
}

/* --- load errors --- */

static const struct {
	const char *what, *doc;
	int line, column;
	const char *msg;
} errors[] = {
	{ "syntax: missing comma", "{\n  \"version\": 1,\n  \"zones\": [\"corp.example\"]\n  \"apps\": {}\n}",
	  4, 3, "JSON syntax: " },
	{ "syntax: truncated", "{\n  \"version\": 1,\n  \"zones\": [\"corp.", 3, 19,
	  "JSON syntax: unexpected end of document" },
	{ "syntax: trailing comma", HEAD "\"rules\": [],\n}", 2, 12, "JSON syntax: a comma before '}'" },
	{ "syntax: single quotes", "{\n 'version': 1}", 2, 2,
	  "JSON syntax: strings and keys must be in double quotes" },
	{ "syntax: NaN", HEAD "\"version\": NaN}", 2, 12, "JSON syntax: not a JSON value" },
	{ "syntax: raw newline in a string", "{\"zones\": [\"a\nb\"]}", 1, 14,
	  "JSON syntax: control character in a string" },
	{ "syntax: text after the document", HEAD "\"rules\": []} {}", 2, 14,
	  "JSON syntax: " },
	{ "syntax: empty document", "", 1, 1, "JSON syntax: unexpected end of document" },
	{ "syntax: not an object", "\n  [1, 2]", 2, 3, "the document must be an object, not a list" },
	{ "type: zones as a string", "{\"version\": 1,\n \"zones\": \"corp.example\"}", 2, 11,
	  "\"zones\" must be a list, not a string" },
	{ "type: a user as a number", HEAD "\"groups\": {\"eng\": {\"users\": [\"a\", 7]}}}", 2, 35, "group \"eng\": user must be a string, not a number" },
	{ "type: a group as a list", HEAD "\"groups\": {\"eng\": []}}", 2, 19,
	  "group \"eng\": must be an object" },
	{ "type: version as a string", "{\"version\": \"1\", \"zones\": [\"corp.example\"]}", 1, 13,
	  "\"version\" must be 1" },
	{ "unknown key with a suggestion", HEAD "\n  \"rule\": []}", 3, 3,
	  "unknown key \"rule\" (did you mean \"rules\"?)" },
	{ "unknown key in an app", HEAD "\"apps\": {\"git\": {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\", \"port\": [\"tcp/22\"]}}}", 2, 86,
	  "app \"git\": unknown key \"port\" (did you mean \"ports\"?)" },
	{ "unknown key without a suggestion", HEAD "\"zzzzzz\": 1}", 2, 1,
	  "unknown key \"zzzzzz\"" },
	{ "duplicate key", HEAD "\"rules\": [],\n  \"rules\": []}", 3, 3,
	  "duplicate key \"rules\"" },
	{ "missing version", "{\"zones\": [\"corp.example\"]}", 1, 1, "missing key \"version\"" },
	{ "missing target", HEAD "\"apps\": {\"git\":\n {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"ports\": [\"tcp/22\"]}}}", 3, 2,
	  "app \"git\": missing key \"target\"" },
	{ "version 2", "{\"version\": 2, \"zones\": [\"corp.example\"]}", 1, 13,
	  "\"version\" must be 1" },
	{ "unknown group in a group", HEAD "\"groups\": {\"ops\": {\"groups\": [\"egn\"]}, "
	  "\"eng\": {}}}", 2, 31, "group \"ops\": unknown group \"egn\" (did you mean \"eng\"?)" },
	{ "group cycle", HEAD "\"groups\": {\n \"a\": {\"groups\": [\"b\"]},\n"
	  " \"b\": {\"groups\": [\"a\"]}}}", 4, 19, "group \"b\": groups nest in a cycle: a -> b -> a" },
	{ "group nested in itself", HEAD "\"groups\": {\"a\": {\"groups\": [\"a\"]}}}", 2, 29,
	  "groups nest in a cycle: a -> a" },
	{ "unknown app in a rule", HEAD "\"rules\": [{\"name\": \"r\", \"users\": [\"u\"],\n"
	  "  \"apps\": [\"gti\"]}]}", 3, 12, "rule \"r\": unknown app \"gti\"" },
	{ "unknown posture in a rule", HEAD "\"apps\": {\"git\": {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\", \"ports\": [\"tcp/22\"]}},\n"
	  "\"rules\": [{\"name\": \"r\", \"users\": [\"u\"], \"apps\": [\"git\"], \"posture\": \"mngd\"}]}",
	  3, 69, "rule \"r\": unknown posture \"mngd\"" },
	{ "rule allowing nobody", HEAD "\"apps\": {\"git\": {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\", \"ports\": [\"tcp/22\"]}},\n"
	  "\"rules\": [{\"name\": \"r\", \"users\": [], \"apps\": [\"git\"]}]}", 3, 11,
	  "rule \"r\": names no users, groups or devices" },
	{ "duplicate rule name", HEAD "\"apps\": {\"git\": {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\", \"ports\": [\"tcp/22\"]}},\n"
	  "\"rules\": [{\"name\": \"r\", \"users\": [\"u\"], \"apps\": [\"git\"]},\n"
	  "{\"name\": \"r\", \"users\": [\"v\"], \"apps\": [\"git\"]}]}", 4, 10,
	  "rule #2: the name \"r\" is taken by an earlier rule" },
	{ "port out of range", HEAD "\"apps\": {\"git\": {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\",\n \"ports\": [\"tcp/22\", \"tcp/70000\"]}}}",
	  3, 22, "app \"git\": port \"tcp/70000\": 70000 is out of range 1-65535" },
	{ "port 0", HEAD "\"apps\": {\"git\": {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\",\n \"ports\": [\"udp/0\"]}}}",
	  3, 12, "port \"udp/0\": 0 is out of range 1-65535" },
	{ "port protocol", HEAD "\"apps\": {\"git\": {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\",\n \"ports\": [\"icmp/1\"]}}}",
	  3, 12, "app \"git\": port \"icmp/1\": the protocol must be tcp or udp" },
	{ "port range backwards", HEAD "\"apps\": {\"git\": {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\",\n \"ports\": [\"tcp/90-80\"]}}}",
	  3, 12, "port \"tcp/90-80\": the range is backwards (90 > 80)" },
	{ "port syntax", HEAD "\"apps\": {\"git\": {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\",\n \"ports\": [\"tcp/22-\"]}}}",
	  3, 12, "port \"tcp/22-\": expected PROTO/PORT or PROTO/FIRST-LAST" },
	{ "rule port outside the app", HEAD "\"apps\": {\"git\": {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\", \"ports\": [\"tcp/22\", \"tcp/443\"]}},\n"
	  "\"rules\": [{\"name\": \"r\", \"users\": [\"u\"], \"apps\": [\"git\"],\n"
	  "  \"ports\": [\"tcp/22\", \"tcp/80-443\"]}]}", 4, 23,
	  "rule \"r\": port tcp/80-443 is not among the ports of app \"git\" (tcp/22,tcp/443)" },
	{ "rule port outside the app, merged", HEAD "\"apps\": {\"git\": {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\", \"ports\": [\"tcp/22\"]}},\n"
	  "\"rules\": [{\"name\": \"r\", \"users\": [\"u\"], \"apps\": [\"git\"],\n"
	  "  \"ports\": [\"tcp/22\", \"tcp/23\"]}]}", 4, 23,
	  "rule \"r\": port tcp/23 is not among the ports of app \"git\" (tcp/22)" },
	{ "rule with empty ports", HEAD "\"apps\": {\"git\": {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\", \"ports\": [\"tcp/22\"]}},\n"
	  "\"rules\": [{\"name\": \"r\", \"users\": [\"u\"], \"apps\": [\"git\"], \"ports\": []}]}",
	  3, 67, "rule \"r\": \"ports\" is empty" },
	{ "name outside the zones", HEAD "\"apps\": {\"git\": {\n  \"names\": [\"git.corp.example\", "
	  "\"git.corp.example.org\"], \"server\": \"gw\", \"target\": \"1.2.3.4\", \"ports\": [\"tcp/22\"]}}}",
	  3, 33, "app \"git\": name \"git.corp.example.org\" is in none of the zones" },
	{ "bad name", HEAD "\"apps\": {\"git\": {\n  \"names\": [\"git..corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\", \"ports\": [\"tcp/22\"]}}}",
	  3, 13, "app \"git\": name \"git..corp.example\" is not a valid name: it has an empty label" },
	{ "bad wildcard", HEAD "\"apps\": {\"git\": {\n  \"names\": [\"a.*.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\", \"ports\": [\"tcp/22\"]}}}",
	  3, 13, "'*' is only allowed as the whole first label" },
	{ "duplicate name across apps", HEAD "\"apps\": {\"git\": {\"names\": [\"git.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\", \"ports\": [\"tcp/22\"]},\n"
	  " \"git2\": {\"names\": [\"GIT.corp.example.\"], \"server\": \"gw\", \"target\": \"1.2.3.4\", "
	  "\"ports\": [\"tcp/22\"]}}}", 3, 21,
	  "app \"git2\": name \"git.corp.example\" is already a name of app \"git\"" },
	{ "bad zone", "{\"version\": 1, \"zones\": [\"corp example\"]}", 1, 26,
	  "zone \"corp example\" is not a valid name" },
	{ "duplicate zone", "{\"version\": 1, \"zones\": [\"corp.example\", \"Corp.Example.\"]}", 1, 42, "zone \"corp.example\" is listed twice" },
	{ "bad identifier", HEAD "\"groups\": {\"eng\": {\"users\": [\"al ice\"]}}}", 2, 30,
	  "group \"eng\": user \"al ice\": character ' ' is not allowed" },
	{ "bad group name", HEAD "\"groups\": {\"e,g\": {}}}", 2, 12,
	  "group name \"e,g\": character ',' is not allowed" },
	{ "NUL in a string", HEAD "\"groups\": {\"eng\": {\"users\": [\"a\\u0000b\"]}}}", 2, 30,
	  "group \"eng\": user contains a NUL character" },
	{ "long name", HEAD "\"apps\": {\"git\": {\"names\": [\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.corp.example\"], "
	  "\"server\": \"gw\", \"target\": \"1.2.3.4\", \"ports\": [\"tcp/22\"]}}}", 2, 28,
	  "a label is longer than 63 bytes" },
	{ "bad version requirement", HEAD "\"postures\": {\"p\": {\"veil\": \">= 0.1\"}}}", 2, 28,
	  "posture \"p\": \"veil\": \">= 0.1\" is not a version requirement" },
	{ "empty version range", HEAD "\"postures\": {\"p\": {\"kernel\": \"6.12-6.1\"}}}", 2, 30,
	  "posture \"p\": \"kernel\": the range \"6.12-6.1\" is empty" },
};

static void test_errors(void)
{
	struct veil_policy_error e;
	struct veil_policy *p;
	size_t i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		p = load(errors[i].doc, &e);
		CHECK(!p && e.line == errors[i].line && e.column == errors[i].column &&
		      strstr(e.msg, errors[i].msg),
		      "error: %s at %d:%d (got %d:%d: %s)", errors[i].what, errors[i].line,
		      errors[i].column, e.line, e.column, e.msg);
		veil_policy_free(p);
	}
}

static char *big_doc(size_t n_apps, size_t extra)
{
	size_t size = 256 + n_apps * 400 + extra, len;
	char *doc = malloc(size);
	size_t i;

	if (!doc)
		return NULL;
	len = (size_t)snprintf(doc, size, "{\"version\": 1, \"zones\": [\"corp.example\"],\n"
			       "\"groups\": {\"g\": {\"users\": [\"u0\", \"u1\", \"u2\"]}},\n\"apps\": {");
	for (i = 0; i < n_apps; i++)
		len += (size_t)snprintf(doc + len, size - len, "%s\"app%zu\": {\"names\": "
					"[\"app%zu.corp.example\", \"alt%zu.corp.example\"], "
					"\"server\": \"gw%zu\", \"target\": \"10.0.%zu.%zu\", "
					"\"ports\": [\"tcp/443\", \"udp/5000-5100\"]}\n",
					i ? "," : "", i, i, i, i % 4, i / 250, i % 250);
	len += (size_t)snprintf(doc + len, size - len, "},\n\"rules\": [");
	for (i = 0; i < n_apps; i++)
		len += (size_t)snprintf(doc + len, size - len, "%s{\"name\": \"r%zu\", "
					"\"%s\": [\"%s\"], \"apps\": [\"app%zu\"]}\n", i ? "," : "",
					i, i % 2 ? "groups" : "users", i % 2 ? "g" : "u1", i);
	snprintf(doc + len, size - len, "]}");
	return doc;
}

static void test_limits(void)
{
	struct veil_policy_error e;
	struct veil_policy *p;
	char *doc, *big;
	size_t len, i;

	big = malloc((1u << 20) + 2);
	if (big) {
		memset(big, ' ', (1u << 20) + 1);
		memcpy(big, "{\"version\": 1, \"zones\": [\"corp.example\"]}", 41);
		p = veil_policy_parse(big, (1u << 20) + 1, &e);
		CHECK(!p && e.line == 0 && strstr(e.msg, "more than the limit of 1048576"),
		      "error: a document over 1 MiB (%s)", e.msg);
		p = veil_policy_parse(big, 1u << 20, &e);
		CHECK(p, "limits: a 1 MiB document loads (%s)", p ? "" : e.msg);
		veil_policy_free(p);
		free(big);
	}

	/* 4097 users in a list: the error points at the 4097th. */
	doc = malloc(64 * 1024);
	if (doc) {
		len = (size_t)snprintf(doc, 64 * 1024, HEAD "\"groups\": {\"g\": {\"users\": [");
		for (i = 0; i < 4097; i++)
			len += (size_t)snprintf(doc + len, 64 * 1024 - len, "%s\"u%zu\"", i ? "," : "", i);
		snprintf(doc + len, 64 * 1024 - len, "]}}}");
		p = load(doc, &e);
		CHECK(!p && e.line == 2 && e.column == (int)(strstr(doc, "\"u4096\"") -
							    strchr(doc, '\n')) &&
		      strstr(e.msg, "\"users\" has more than 4096 entries"),
		      "error: a list of 4097 entries (%d:%d: %s)", e.line, e.column, e.msg);
		free(doc);
	}
	p = veil_policy_parse(NULL, 0, &e);
	CHECK(!p && e.line == 1 && e.column == 1, "error: a NULL text is an empty document");
}

/*
 * Live heap blocks, counted by wrapping glibc's allocator (not under
 * AddressSanitizer, which has its own and checks leaks itself).
 */
#if defined(__SANITIZE_ADDRESS__)
#define COUNT_BLOCKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_BLOCKS 0
#endif
#endif
#if !defined(COUNT_BLOCKS) && defined(__GLIBC__)
#define COUNT_BLOCKS 1

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static long live_blocks;
static long fail_after = -1;	/* >= 0: that many more allocations succeed */

extern char __executable_start[], etext[];

/*
 * Only allocations made by veil's own code (in this program, not in
 * json-c or libc) are refused: json-c 0.16 does not survive every failed
 * allocation of its own.
 */
static bool refuse(const void *caller)
{
	if (fail_after < 0 || (const char *)caller < __executable_start ||
	    (const char *)caller >= etext)
		return false;
	return fail_after-- == 0;
}

void *malloc(size_t size)
{
	void *p = refuse(__builtin_return_address(0)) ? NULL : __libc_malloc(size);

	live_blocks += p != NULL;
	return p;
}

void *calloc(size_t nmemb, size_t size)
{
	void *p = refuse(__builtin_return_address(0)) ? NULL : __libc_calloc(nmemb, size);

	live_blocks += p != NULL;
	return p;
}

void *realloc(void *p, size_t size)
{
	void *q;

	if (refuse(__builtin_return_address(0)))
		return NULL;
	q = __libc_realloc(p, size);

	if (!p && q)
		live_blocks++;
	else if (p && !size && !q)
		live_blocks--;
	return q;
}

void free(void *p)
{
	live_blocks -= p != NULL;
	__libc_free(p);
}
#endif

/* A failed load frees what it allocated. */
static void test_no_leak(void)
{
#if COUNT_BLOCKS
	struct veil_policy_error e;
	struct veil_policy *p;
	char *big;
	long before;
	size_t i, bad = 0;

	/* Warm json-c up in case it keeps state across parses. */
	p = load(doc_main, &e);
	veil_policy_free(p);
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		before = live_blocks;
		p = load(errors[i].doc, &e);
		if (p || live_blocks != before) {
			fprintf(out, "# %s: %ld blocks left\n", errors[i].what, live_blocks - before);
			bad++;
		}
	}
	CHECK(!bad, "a failed load leaves nothing allocated (%zu cases)", i);
	before = live_blocks;
	p = load(doc_main, &e);
	CHECK(p && live_blocks > before, "a loaded policy holds memory");
	veil_policy_free(p);
	CHECK(live_blocks == before, "free releases a loaded policy whole");

	/* Out of memory at every allocation in turn: an error, nothing left. */
	bad = 0;
	big = big_doc(300, 0);
	for (i = 0; big && i < 5000; i++) {
		before = live_blocks;
		fail_after = (long)i;
		p = load(big, &e);
		fail_after = -1;
		if (p)
			break;
		if (live_blocks != before || !strstr(e.msg, "out of memory"))
			bad++;
	}
	CHECK(p && !bad, "out of memory at each of %zu allocations is reported and freed", i);
	veil_policy_free(p);
	free(big);
	p = load(doc_main, &e);
	before = live_blocks;
	for (i = 0; i < 5000; i++) {
		char *v;

		fail_after = (long)i;
		v = veil_policy_node_view(p, &(struct veil_subject){ .owner = "carol",
								     .device = "gw1" });
		fail_after = -1;
		free(v);
		if (v)
			break;
	}
	CHECK(i < 5000 && live_blocks == before,
	      "node view out of memory at each of %zu allocations returns NULL, frees all", i);
	veil_policy_free(p);
#else
	fprintf(out, "ok %d a failed load leaves nothing allocated # SKIP LeakSanitizer checks\n", ++n);
	fprintf(out, "ok %d a loaded policy holds memory # SKIP LeakSanitizer checks\n", ++n);
	fprintf(out, "ok %d free releases a loaded policy whole # SKIP LeakSanitizer checks\n", ++n);
	fprintf(out, "ok %d out of memory while loading # SKIP LeakSanitizer checks\n", ++n);
	fprintf(out, "ok %d out of memory in the node view # SKIP LeakSanitizer checks\n", ++n);
#endif
}

/* --- the node view, apps, zones --- */

static int count_apps(const char *app, const char *const *names, size_t n_names,
		      const char *server, const char *target, const char *ports, void *ctx)
{
	char *s = ctx;

	(void)names;
	(void)target;
	snprintf(s + strlen(s), 512 - strlen(s), "%s:%zu:%s:%s ", app, n_names, server, ports);
	return 0;
}

static void test_view(struct veil_policy *p)
{
	struct veil_subject s = subject("carol", "lap3");
	const char *const *zones;
	char list[512] = "";
	char *v;
	size_t nz;

	v = veil_policy_node_view(p, &s);
	CHECK(v && !strcmp(v,
		"{\"version\":1,\"zones\":[\"corp.example\",\"lab.example\"],\"names\":["
		"{\"name\":\"*.dev.corp.example\",\"app\":\"dev\",\"server\":\"gw2\",\"ports\":[\"tcp/8000-8999\"]},"
		"{\"name\":\"docs.corp.example\",\"app\":\"wiki\",\"server\":\"gw1\",\"ports\":[\"tcp/80\",\"udp/53\"]},"
		"{\"name\":\"mon.lab.example\",\"app\":\"mon\",\"server\":\"gw2\",\"ports\":[\"tcp/3000-3010\",\"udp/161\"]},"
		"{\"name\":\"wiki.corp.example\",\"app\":\"wiki\",\"server\":\"gw1\",\"ports\":[\"tcp/80\",\"udp/53\"]}]}"),
	      "view: a client gets its names, sorted, with app, server and ports");
	if (v && failed)
		fprintf(out, "# %s\n", v);
	free(v);

	s = subject("svc", "gw1");
	v = veil_policy_node_view(p, &s);
	CHECK(v && !strcmp(v,
		"{\"version\":1,\"zones\":[\"corp.example\",\"lab.example\"],\"names\":[],\"publish\":["
		"{\"app\":\"git\",\"names\":[\"git.corp.example\"],\"target\":\"10.10.0.5\","
		"\"ports\":[\"tcp/22\",\"tcp/443\"],\"allow\":{\"users\":[\"alice\",\"bob\"],"
		"\"groups\":[\"eng\"],\"devices\":[\"ci-runner\"]}},"
		"{\"app\":\"wiki\",\"names\":[\"docs.corp.example\",\"wiki.corp.example\"],"
		"\"target\":\"10.10.0.6\",\"ports\":[\"tcp/80-443\",\"udp/53\"],\"allow\":{"
		"\"users\":[\"alice\",\"bob\",\"carol\"],\"groups\":[\"contractors\",\"eng\",\"ops\"],"
		"\"devices\":[\"ci-runner\"]}}]}"),
	      "view: a server gets what it publishes, groups expanded");
	if (v && failed)
		fprintf(out, "# %s\n", v);
	free(v);

	v = veil_policy_node_view(p, NULL);
	CHECK(v && !strcmp(v, "{\"version\":1,\"zones\":[\"corp.example\",\"lab.example\"],"
			   "\"names\":[]}"), "view: nobody gets zones only");
	free(v);

	veil_policy_apps(p, count_apps, list);
	CHECK(!strcmp(list, "dev:1:gw2:tcp/8000-8999 git:1:gw1:tcp/22,tcp/443 "
		      "mon:1:gw2:tcp/3000-3010,udp/161 nobody:1:gw2:tcp/1 "
		      "wiki:2:gw1:tcp/80-443,udp/53 "), "apps: sorted, with ports text (%s)", list);
	nz = veil_policy_zones(p, &zones);
	CHECK(nz == 2 && !strcmp(zones[0], "corp.example") && !strcmp(zones[1], "lab.example"),
	      "zones: normalized and sorted");
}

/* tests/controller/policies/NAME, found from this program's path; malloc'd. */
static char *policy_file(const char *name)
{
	char path[4096], *doc = NULL, *slash;
	ssize_t l = readlink("/proc/self/exe", path, sizeof(path) - 128);
	size_t len;
	FILE *f;
	int up;

	if (l <= 0)
		return NULL;
	path[l] = '\0';
	/* build/tests/unit/policy_test → the top of the tree */
	for (up = 0; up < 4 && (slash = strrchr(path, '/')); up++)
		*slash = '\0';
	snprintf(path + strlen(path), 128, "/tests/controller/policies/%s", name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	doc = malloc(1 << 20);
	len = doc ? fread(doc, 1, (1 << 20) - 1, f) : 0;
	if (doc)
		doc[len] = '\0';
	fclose(f);
	return doc;
}

/* The documents shipped for other tests and the documentation. */
static void test_files(void)
{
	static const struct {
		const char *file;
		int line, column;
		const char *msg;
	} files[] = {
		{ "example.json", 0, 0, NULL },
		{ "minimal.json", 0, 0, NULL },
		{ "broken-typo.json", 11, 3, "unknown key \"rule\" (did you mean \"rules\"?)" },
		{ "broken-syntax.json", 6, 58, "JSON syntax: a comma before '}'" },
		{ "broken-port.json", 6, 57, "app \"git\": port \"tcp/70000\": 70000 is out of range" },
	};
	struct veil_subject s = subject("alice", "lap1");
	struct veil_policy_error e;
	struct veil_decision d;
	struct veil_policy *p;
	size_t i;
	char *doc;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		doc = policy_file(files[i].file);
		if (!doc) {
			fprintf(out, "ok %d %s # SKIP not found next to the program\n", ++n,
				files[i].file);
			continue;
		}
		p = load(doc, &e);
		if (!files[i].msg)
			CHECK(p, "%s loads (%d:%d: %s)", files[i].file, e.line, e.column, e.msg);
		else
			CHECK(!p && e.line == files[i].line && e.column == files[i].column &&
			      strstr(e.msg, files[i].msg), "%s fails at %d:%d (got %d:%d: %s)",
			      files[i].file, files[i].line, files[i].column, e.line, e.column,
			      e.msg);
		if (i == 0)
			CHECK(p && allows(p, &s, "git.corp.example", &d) &&
			      !strcmp(d.rule, "eng-git"), "example.json: alice reaches git");
		veil_policy_free(p);
		free(doc);
	}
}

static void bench(void)
{
	struct veil_policy_error e;
	struct veil_subject s = subject("u1", "lap1");
	struct veil_decision d;
	struct timespec t0, t1;
	struct veil_policy *p;
	char *doc = big_doc(1000, 0), name[64];
	size_t i, allowed = 0;
	double ms;

	p = doc ? load(doc, &e) : NULL;
	CHECK(p, "bench: a 1,000-app policy loads%s%s", p ? "" : ": ", p ? "" : e.msg);
	if (p) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < 100000; i++) {
			snprintf(name, sizeof(name), "%s%zu.corp.example", i & 1 ? "alt" : "app",
				 (i * 7919) % 1000);
			veil_policy_resolve(p, &s, name, &d);
			allowed += d.allowed;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		fprintf(out, "# bench: 100000 resolves on 1000 apps in %.1f ms (%.0f ns each), "
			"%zu allowed\n", ms, ms * 1e6 / 100000, allowed);
		CHECK(allowed == 100000, "bench: u1 is allowed every app (directly or by group)");
	}
	veil_policy_free(p);
	free(doc);
}

int main(void)
{
	struct veil_policy_error e;
	struct veil_policy *p;
	char *buf = NULL;
	size_t len = 0;

	out = open_memstream(&buf, &len);
	if (!out)
		return 1;
	p = load(doc_main, &e);
	CHECK(p, "the test policy loads (%d:%d: %s)", e.line, e.column, e.msg);
	if (p) {
		test_groups(p);
		test_ports(p);
		test_posture_facts(p);
		test_deny(p);
		test_names(p);
		test_view(p);
	}
	veil_policy_free(p);
	test_posture();
	test_errors();
	test_limits();
	test_no_leak();
	test_files();
	bench();
	fclose(out);
	printf("TAP version 13\n1..%d\n%s", n, buf);
	printf("# totals: pass:%d fail:%d skip:0\n", n - failed, failed);
	free(buf);
	return failed ? 1 : 0;
}
