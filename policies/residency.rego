# Data residency: the request's `region` (e.g. "eu") and the tenant's contractual residency are
# both requirements; a model must satisfy every one of them. A requirement matches a model's
# jurisdiction ("eu") or its exact region ("eu-central-1"). A caller cannot loosen a tenant's
# residency by sending another region: then no model satisfies both and everything is denied.
package govchaos.gateway

residency_requirements contains [input.region, "the request"] if {
	is_string(input.region)
	input.region != ""
}

residency_requirements contains [tenant.residency, who] if {
	is_string(tenant.residency)
	who := sprintf("tenant %s", [input.tenant])
}

candidate_denials contains [c.id, msg] if {
	some c in candidates
	m := models[c.id]
	is_object(m)
	some [required, source] in residency_requirements
	m.jurisdiction != required
	m.region != required
	msg := sprintf(
		"residency: %s requires %s residency but %s is in %s jurisdiction (%s)",
		[source, required, c.id, m.jurisdiction, m.region],
	)
}
