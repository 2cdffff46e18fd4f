/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Brokering: resolving secure names for a node and bringing a tunnel up
 * between a client and the server node that publishes the app. The session
 * layer hands each brokering message of a verified, hello'd session here.
 */
#ifndef VEIL_BROKER_H
#define VEIL_BROKER_H

#include "session.h"

/* A ResolveRequest from @s: answer with a ResolveReply (session_send). */
void veil_broker_resolve(struct session *s, const Veil__ResolveRequest *req);
/* A server node's answer to a ConnectRequest the broker sent it. */
void veil_broker_connect_reply(struct session *s, const Veil__ConnectReply *rep);
/* A node reports a tunnel up or down. */
void veil_broker_tunnel_report(struct session *s, const Veil__TunnelReport *rep);
/* @s is about to be freed: forget what the broker holds about it. */
void veil_broker_session_gone(struct session *s);

#endif /* VEIL_BROKER_H */
