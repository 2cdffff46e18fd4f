/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small client for the veil generic netlink family, shared by the veil
 * CLI and the daemons. One socket, synchronous requests, kernel extended
 * ACK messages reported to the caller.
 */
#ifndef VEIL_NL_H
#define VEIL_NL_H

#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

struct veil_nl;

/* Called for every reply message; return MNL_CB_OK, MNL_CB_STOP or MNL_CB_ERROR. */
typedef int (*veil_nl_reply_cb)(const struct nlmsghdr *nlh, void *data);

/*
 * Open a socket and resolve the veil family. Returns NULL with errno set;
 * ENOENT means the family is not registered (module not loaded and not
 * loadable).
 */
struct veil_nl *veil_nl_open(void);
void veil_nl_close(struct veil_nl *nl);

/* Start a request message for @cmd with netlink @flags (NLM_F_REQUEST is added). */
struct nlmsghdr *veil_nl_msg(struct veil_nl *nl, uint8_t cmd, uint16_t flags);

/*
 * Send @nlh and run @cb on every reply until the kernel's ACK or DONE.
 * Returns 0, or a negative errno; in that case veil_nl_errmsg() holds the
 * kernel's extended ACK message, if it sent one.
 */
int veil_nl_run(struct veil_nl *nl, struct nlmsghdr *nlh, veil_nl_reply_cb cb, void *data);

/* Join the family's "events" multicast group. Returns 0 or -errno. */
int veil_nl_subscribe_events(struct veil_nl *nl);

/*
 * Wait for events and call @cb on each, until @cb returns MNL_CB_STOP or
 * MNL_CB_ERROR, or receiving fails. Returns 0 or -errno.
 */
int veil_nl_listen(struct veil_nl *nl, veil_nl_reply_cb cb, void *data);

/* The kernel's extended ACK message of the last failed request, or NULL. */
const char *veil_nl_errmsg(const struct veil_nl *nl);

#endif /* VEIL_NL_H */
