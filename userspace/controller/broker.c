// SPDX-License-Identifier: GPL-2.0
/*
 * Brokering of names and tunnels. Not available yet: every resolve is
 * answered SERVFAIL, connect replies are ignored and tunnel reports only
 * audited.
 */
#include <stdio.h>
#include <string.h>

#include "broker.h"

void veil_broker_resolve(struct session *s, const Veil__ResolveRequest *req)
{
	Veil__Message m = VEIL__MESSAGE__INIT;
	Veil__ResolveReply rep = VEIL__RESOLVE_REPLY__INIT;

	m.version = VEIL_PROTOCOL_VERSION;
	m.body_case = VEIL__MESSAGE__BODY_RESOLVE_REPLY;
	m.resolve_reply = &rep;
	rep.request_id = req->request_id;
	rep.status = VEIL__RESOLVE_REPLY__STATUS__SERVFAIL;
	rep.reason = "brokering not available";
	session_send(s, &m);
}

void veil_broker_connect_reply(struct session *s, const Veil__ConnectReply *rep)
{
	session_log(s, "connect reply %llu ignored: brokering not available",
		    (unsigned long long)rep->request_id);
}

void veil_broker_tunnel_report(struct session *s, const Veil__TunnelReport *rep)
{
	struct veil_audit a = { 0 };

	a.kind = rep->up ? VEIL_AUDIT_TUNNEL_UP : VEIL_AUDIT_TUNNEL_DOWN;
	snprintf(a.device, sizeof(a.device), "%s", s->cert.device);
	snprintf(a.user, sizeof(a.user), "%s", s->cert.owner);
	snprintf(a.name, sizeof(a.name), "%s", rep->peer_device ? rep->peer_device : "");
	snprintf(a.reason, sizeof(a.reason), "%s", rep->app ? rep->app : "");
	a.allowed = true;
	a.rx_bytes = rep->rx_bytes;
	a.tx_bytes = rep->tx_bytes;
	if (veil_store_audit_add(s->srv->store, &a))
		session_log(s, "cannot audit a tunnel report: %s",
			    veil_store_errmsg(s->srv->store));
}

void veil_broker_session_gone(struct session *s)
{
	(void)s;
}
