// SPDX-License-Identifier: GPL-2.0
/*
 * veil-controller: the control plane. "init" makes the state directory,
 * "serve" runs the mTLS server, every other command administers the store,
 * locally or on a remote controller through an admin session.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "admin.h"
#include "client.h"
#include "pki.h"
#include "server.h"
#include "store.h"
#include "token.h"

#ifndef VEIL_VERSION
#define VEIL_VERSION "0.1.0"
#endif

#define DEFAULT_STATE_DIR	"/var/lib/veil-controller"
#define DEFAULT_PORT		4443

static const char *state_dir = DEFAULT_STATE_DIR;
static bool json;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: veil-controller [ OPTIONS ] COMMAND\n"
		"where  OPTIONS := { -d STATE_DIR | -j | --remote [ HOST:PORT ] | -h | -V }\n"
		"       COMMAND := { init [ --org NAME ] [ --address HOST:PORT ] [ --hosts H,H ] |\n"
		"                    serve [ --listen ADDR:PORT ] [ --heartbeat S ] [ --idle S ]\n"
		"                          [ --max-message BYTES ] |\n"
		"                    device { list | show NAME | revoke NAME } | app list |\n"
		"                    policy { show | check FILE | load FILE } |\n"
		"                    audit show [ --since WHEN ] [ --device NAME ] |\n"
		"                    enroll add NAME --owner USER --role ROLE [ --groups G,G ]\n"
		"                               [ --expires DURATION ] [ --cert-lifetime DURATION ] |\n"
		"                    session list | help | version }\n"
		"STATE_DIR defaults to " DEFAULT_STATE_DIR ". --remote runs the command on the\n"
		"controller at HOST:PORT (default: the one this device enrolled with) with\n"
		"this device's admin certificate. \"veil-controller help\" for more.\n");
}

static int usage_err(const char *msg, const char *arg)
{
	fprintf(stderr, "Error: ");
	fprintf(stderr, msg, arg);
	fprintf(stderr, "\n");
	usage(stderr);
	return 2;
}

static int path_in(char *buf, size_t size, const char *file)
{
	if ((size_t)snprintf(buf, size, "%s/%s", state_dir, file) >= size) {
		fprintf(stderr, "Error: the state directory path is too long.\n");
		return -1;
	}
	return 0;
}

static bool exists(const char *file)
{
	char p[PATH_MAX];

	return !path_in(p, sizeof(p), file) && access(p, F_OK) == 0;
}

static bool org_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (!len || len > 64)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '\n')
			return false;
	return true;
}

/* Remove what a failed init made, so that the next init starts clean. */
static void init_undo(void)
{
	static const char *const files[] = {
		"ca.key", "ca.crt", "server.key", "server.crt", "controller.db",
		"controller.db-wal", "controller.db-shm", "controller.conf",
	};
	char p[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!path_in(p, sizeof(p), files[i]))
			unlink(p);
}

static int write_conf(const char *address, const char *org)
{
	char p[PATH_MAX];
	FILE *f;
	int fd;

	if (path_in(p, sizeof(p), "controller.conf"))
		return -1;
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0) {
		fprintf(stderr, "Error: cannot create %s: %s.\n", p, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	fprintf(f, "# veil-controller settings, written by \"veil-controller init\".\n"
		"# address: what enrollment tokens tell devices to dial (HOST:PORT).\n"
		"address=%s\norg=%s\n", address, org);
	if (fflush(f) || fsync(fd) || fclose(f)) {
		fprintf(stderr, "Error: cannot write %s: %s.\n", p, strerror(errno));
		return -1;
	}
	return 0;
}

static int cmd_init(int argc, char **argv)
{
	const char *org = "veil", *address = NULL, *hosts = NULL;
	char host[256], addr[VEIL_TOKEN_ADDR_MAX + 8], db[PATH_MAX], err[VEIL_ERR_MAX];
	char tokbuf[1024];
	struct veil_enroll_token probe;
	struct veil_store *st;
	struct veil_ca ca;
	struct stat sb;
	int i;

	for (i = 0; i < argc; i++) {
		if (i + 1 >= argc)
			return usage_err("\"%s\" needs a value.", argv[i]);
		if (!strcmp(argv[i], "--org"))
			org = argv[++i];
		else if (!strcmp(argv[i], "--address"))
			address = argv[++i];
		else if (!strcmp(argv[i], "--hosts"))
			hosts = argv[++i];
		else
			return usage_err("\"init\" does not take \"%s\".", argv[i]);
	}
	if (!org_ok(org))
		return usage_err("--org \"%s\": give 1 to 64 printable characters.", org);
	if (!hosts) {
		if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		hosts = host;
	}
	if (!address) {
		size_t len = strcspn(hosts, ",");

		snprintf(addr, sizeof(addr), memchr(hosts, ':', len) ? "[%.*s]:%d" : "%.*s:%d",
			 (int)len, hosts, DEFAULT_PORT);
		address = addr;
	}
	/* The address goes into every token: check it as a device would. */
	memset(&probe, 0, sizeof(probe));
	memset(probe.ca_fpr, '0', VEIL_FPR_LEN);
	if (strlen(address) >= sizeof(probe.address) ||
	    (snprintf(probe.address, sizeof(probe.address), "%s", address),
	     veil_token_format(&probe, tokbuf, sizeof(tokbuf)) < 0))
		return usage_err("--address \"%s\": give HOST:PORT or [IPv6]:PORT.", address);

	if (mkdir(state_dir, 0700) == 0) {
		if (chmod(state_dir, 0700) < 0) {
			fprintf(stderr, "Error: cannot make %s private: %s.\n", state_dir,
				strerror(errno));
			return 1;
		}
	} else if (errno != EEXIST) {
		fprintf(stderr, "Error: cannot create %s: %s%s.\n", state_dir, strerror(errno),
			errno == EACCES ? " (run as root or the controller's user)" :
			errno == ENOENT ? " (its parent directory does not exist)" : "");
		return 1;
	} else if (stat(state_dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "Error: %s exists and is not a directory.\n", state_dir);
		return 1;
	}
	if (exists("ca.key") || exists("ca.crt") || exists("controller.db") ||
	    exists("controller.conf") || exists("server.key")) {
		fprintf(stderr, "Error: %s is already initialized: nothing was changed (a new CA "
			"would cut off every enrolled device; to start over, move the "
			"directory away).\n", state_dir);
		return 1;
	}

	if (veil_pki_init(state_dir, org, hosts, err)) {
		fprintf(stderr, "Error: %s.\n", err);
		init_undo();
		return 1;
	}
	if (path_in(db, sizeof(db), "controller.db") || veil_store_open(db, &st)) {
		fprintf(stderr, "Error: %s.\n", veil_store_errmsg(NULL));
		init_undo();
		return 1;
	}
	veil_store_close(st);
	if (write_conf(address, org) || veil_ca_load(state_dir, &ca, err)) {
		if (*err)
			fprintf(stderr, "Error: %s.\n", err);
		init_undo();
		return 1;
	}
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "state_dir", json_object_new_string(state_dir));
		json_object_object_add(o, "org", json_object_new_string(org));
		json_object_object_add(o, "address", json_object_new_string(address));
		json_object_object_add(o, "ca_fingerprint", json_object_new_string(ca.fingerprint));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		printf("Initialized %s for \"%s\".\nDevices will dial %s.\n"
		       "CA fingerprint (SHA-256): %s\n", state_dir, org, address, ca.fingerprint);
	}
	veil_ca_free(&ca);
	return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end || *v > max ? -EINVAL : 0;
}

static int cmd_serve(int argc, char **argv)
{
	struct veil_server_config cfg = {
		.state_dir = state_dir,
		.listen = "[::]:4443",
		.heartbeat_s = 15,
		.idle_s = 45,
		.handshake_s = 10,
		.max_message = 64 * 1024,
		.max_sessions = 20000,
	};
	unsigned long long v;
	int i;

	for (i = 0; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val)
			return usage_err("\"%s\" needs a value.", opt);
		i++;
		if (!strcmp(opt, "--listen")) {
			cfg.listen = val;
		} else if (!strcmp(opt, "--heartbeat")) {
			if (parse_uint(val, 3600, &v) || !v)
				return usage_err("--heartbeat \"%s\": give seconds, 1 to 3600.", val);
			cfg.heartbeat_s = (unsigned int)v;
		} else if (!strcmp(opt, "--idle")) {
			if (parse_uint(val, 86400, &v) || !v)
				return usage_err("--idle \"%s\": give seconds, 1 to 86400.", val);
			cfg.idle_s = (unsigned int)v;
		} else if (!strcmp(opt, "--max-message")) {
			if (parse_uint(val, 16 << 20, &v) || v < 1024)
				return usage_err("--max-message \"%s\": give bytes, 1024 to 16777216.",
						 val);
			cfg.max_message = (size_t)v;
		} else {
			return usage_err("\"serve\" does not take \"%s\".", opt);
		}
	}
	if (cfg.idle_s <= cfg.heartbeat_s) {
		fprintf(stderr, "Error: --idle (%u s) must be longer than --heartbeat (%u s), or "
			"every session would be cut between two heartbeats.\n", cfg.idle_s,
			cfg.heartbeat_s);
		return 2;
	}
	if (!exists("ca.key") || !exists("controller.db")) {
		fprintf(stderr, "Error: %s is not initialized (run \"veil-controller -d %s "
			"init\").\n", state_dir, state_dir);
		return 1;
	}
	return veil_server_run(&cfg);
}

static int cmd_admin(int argc, char **argv)
{
	struct veil_admin_ctx ctx = {
		.state_dir = state_dir,
		.json = json,
		.actor = "local",
	};
	char db[PATH_MAX];
	int ret, r;

	if (access(state_dir, F_OK) < 0 || !exists("controller.db")) {
		if (errno == EACCES)
			fprintf(stderr, "Error: cannot read %s: %s (run as root or the "
				"controller's user).\n", state_dir, strerror(errno));
		else
			fprintf(stderr, "Error: %s is not initialized (run \"veil-controller -d %s "
				"init\").\n", state_dir, state_dir);
		return 1;
	}
	if (path_in(db, sizeof(db), "controller.db"))
		return 1;
	if (veil_store_open(db, &ctx.store)) {
		fprintf(stderr, "Error: %s.\n", veil_store_errmsg(NULL));
		return 1;
	}
	ret = veil_admin_exec(&ctx, argc, argv, stdout, stderr);
	if (ctx.changed) {
		r = veil_server_notify(state_dir);
		if (r && r != -ENOENT && r != -ECONNREFUSED)
			fprintf(stderr, "Warning: the change is stored, but the running controller "
				"could not be told (%s): restart it to apply the change now.\n",
				strerror(-r));
	}
	veil_store_close(ctx.store);
	return ret;
}

static bool is_command(const char *s)
{
	static const char *const words[] = {
		"init", "serve", "device", "app", "policy", "audit", "enroll", "session",
		"help", "version",
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const char *remote = NULL;
	bool use_remote = false;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *opt = argv[i];

		if (!strcmp(opt, "-d") || !strcmp(opt, "--state-dir")) {
			if (i + 1 >= argc || !argv[i + 1][0])
				return usage_err("\"%s\" needs a directory.", opt);
			state_dir = argv[++i];
		} else if (!strcmp(opt, "-j") || !strcmp(opt, "--json")) {
			json = true;
		} else if (!strcmp(opt, "--remote")) {
			use_remote = true;
			if (i + 1 < argc && argv[i + 1][0] != '-' && !is_command(argv[i + 1]))
				remote = argv[++i];
		} else if (!strncmp(opt, "--remote=", 9)) {
			use_remote = true;
			remote = opt[9] ? opt + 9 : NULL;
		} else if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(opt, "-V") || !strcmp(opt, "--version")) {
			printf("veil-controller " VEIL_VERSION "\n");
			return 0;
		} else {
			return usage_err("option \"%s\" is unknown.", opt);
		}
	}
	argc -= i;
	argv += i;
	if (argc < 1)
		return usage_err("no command given.%s", "");

	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		printf("\n");
		return veil_admin_exec(&(struct veil_admin_ctx){ .state_dir = state_dir }, 1,
				       (char *[]){ "help", NULL }, stdout, stderr);
	}
	if (!strcmp(argv[0], "version")) {
		printf("veil-controller " VEIL_VERSION "\n");
		return 0;
	}
	if (!strcmp(argv[0], "init") || !strcmp(argv[0], "serve")) {
		if (use_remote)
			return usage_err("\"%s\" runs on the controller's host, not with --remote.",
					 argv[0]);
		return argv[0][0] == 'i' ? cmd_init(argc - 1, argv + 1) :
					   cmd_serve(argc - 1, argv + 1);
	}
	if (!is_command(argv[0])) {
		fprintf(stderr, "Command \"%s\" is unknown, try \"veil-controller help\".\n", argv[0]);
		return 2;
	}
	if (use_remote)
		return veil_client_admin(remote, NULL, argc, argv, json, stdout, stderr);
	return cmd_admin(argc, argv);
}
