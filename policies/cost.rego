# Cost ceilings: a model priced (by the catalog) above the route's or the tenant's ceiling per
# 1,000 tokens is denied. The caller's claimed price is ignored.
package govchaos.gateway

candidate_denials contains [c.id, msg] if {
	ceiling := route.max_cost_per_1k_tokens
	is_number(ceiling)
	some c in candidates
	m := models[c.id]
	is_object(m)
	m.cost_per_1k_tokens > ceiling
	msg := sprintf(
		"cost_ceiling: %s costs %v per 1k tokens, above route %s's ceiling of %v",
		[c.id, m.cost_per_1k_tokens, input.route, ceiling],
	)
}

candidate_denials contains [c.id, msg] if {
	ceiling := tenant.max_cost_per_1k_tokens
	is_number(ceiling)
	some c in candidates
	m := models[c.id]
	is_object(m)
	m.cost_per_1k_tokens > ceiling
	msg := sprintf(
		"cost_ceiling: %s costs %v per 1k tokens, above tenant %s's ceiling of %v",
		[c.id, m.cost_per_1k_tokens, input.tenant, ceiling],
	)
}
