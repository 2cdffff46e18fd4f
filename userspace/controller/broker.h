/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Brokering: resolving secure names for a node and bringing a tunnel up
 * between a client and the server node that publishes the app. The session
 * layer hands each brokering message of a verified, hello'd session here.
 *
 * A resolve is decided by the policy with what the controller knows about
 * the asking device. Denied and unknown names get the same NXDOMAIN; an
 * allowed name is forwarded to the publishing server node as a
 * ConnectRequest and its ConnectReply is relayed as the ResolveReply. No
 * ResolveReply leaves before VEIL_BROKER_FLOOR_MS plus a random jitter of
 * up to VEIL_BROKER_JITTER_MS after its request arrived, so that how long
 * the controller took to decide does not tell a denied name from one that
 * does not exist. Details in Documentation/control-protocol.md, "Brokering".
 */
#ifndef VEIL_BROKER_H
#define VEIL_BROKER_H

#include "session.h"

#define VEIL_BROKER_FLOOR_MS		50	/* no ResolveReply earlier than this */
#define VEIL_BROKER_JITTER_MS		20	/* plus 0 to this, uniform */
#define VEIL_BROKER_CONNECT_TIMEOUT_MS	5000	/* server node's ConnectReply, else SERVFAIL */
#define VEIL_BROKER_MAX_PER_SESSION	64	/* resolves a session may have pending */
#define VEIL_BROKER_MAX_PENDING		4096	/* resolves pending in all */
#define VEIL_BROKER_TTL_S		30	/* TTL of an OK answer */
#define VEIL_BROKER_MAX_CANDIDATES	16	/* candidates relayed each way */

/* A ResolveRequest from @s: answer with a ResolveReply (session_send). */
void veil_broker_resolve(struct session *s, const Veil__ResolveRequest *req);
/* A server node's answer to a ConnectRequest the broker sent it. */
void veil_broker_connect_reply(struct session *s, const Veil__ConnectReply *rep);
/* A node reports a tunnel up or down. */
void veil_broker_tunnel_report(struct session *s, const Veil__TunnelReport *rep);
/* @s is about to be freed: forget what the broker holds about it. */
void veil_broker_session_gone(struct session *s);

/*
 * Server start: note the devices already revoked, so that
 * veil_broker_revocations() announces only new ones. 0 or a negative errno
 * (printed).
 */
int veil_broker_start(struct server *srv);
/* Server stop: drop every pending resolve without answering it. */
void veil_broker_stop(struct server *srv);
/*
 * After a reload closed the revoked devices' sessions: for every device
 * revoked since the last call, drop the resolves it has pending, fail with
 * SERVFAIL those waiting for it as a server node, and send DropDevice to
 * every open session.
 */
void veil_broker_revocations(struct server *srv);

#endif /* VEIL_BROKER_H */
