// SPDX-License-Identifier: GPL-2.0
/*
 * Weak stand-ins for the policy engine, the server and the control client,
 * so that veil-controller links in a tree where those parts are not built.
 * The real definitions (policy.c, server.c, userspace/ctl/client.c) are
 * strong and replace these at link time; each stand-in says what is
 * missing instead of pretending to work.
 */
#include <errno.h>
#include <stdio.h>

#include "client.h"
#include "policy.h"
#include "server.h"

#define NOT_BUILT "not built into this veil-controller"

__attribute__((weak)) struct veil_policy *veil_policy_parse(const char *text, size_t len,
							     struct veil_policy_error *err)
{
	(void)text;
	(void)len;
	err->line = 0;
	err->column = 0;
	snprintf(err->msg, sizeof(err->msg), "the policy engine is " NOT_BUILT);
	return NULL;
}

__attribute__((weak)) void veil_policy_free(struct veil_policy *p)
{
	(void)p;
}

__attribute__((weak)) int veil_policy_apps(const struct veil_policy *p, veil_policy_app_cb cb,
					   void *ctx)
{
	(void)p;
	(void)cb;
	(void)ctx;
	return -ENOSYS;
}

__attribute__((weak)) int veil_server_run(const struct veil_server_config *cfg)
{
	(void)cfg;
	fprintf(stderr, "Error: the server is " NOT_BUILT ".\n");
	return 1;
}

__attribute__((weak)) int veil_server_notify(const char *state_dir)
{
	(void)state_dir;
	return -ENOENT;
}

__attribute__((weak)) int veil_server_query_sessions(const char *state_dir, bool json, FILE *out,
						     FILE *err)
{
	(void)state_dir;
	(void)json;
	(void)out;
	fprintf(err, "Error: listing sessions is " NOT_BUILT ".\n");
	return 1;
}

/*
 * The client lives in libveilctl.a: a weak definition here would keep the
 * linker from taking client.o out of the archive, so this one exists only
 * while the tree has no client.c.
 */
#if !__has_include("client.c")
__attribute__((weak)) int veil_client_admin(const char *addr, const char *dir, int argc,
					    char **argv, bool json, FILE *out, FILE *err)
{
	(void)addr;
	(void)dir;
	(void)argc;
	(void)argv;
	(void)json;
	(void)out;
	fprintf(err, "Error: remote administration is " NOT_BUILT ".\n");
	return 1;
}
#endif
