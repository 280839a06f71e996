# Per-tenant restrictions (data.govchaos.tenants): route allow-list, provider and model
# allow/block lists. Residency and cost ceilings live in residency.rego and cost.rego.
package govchaos.gateway

request_denials contains msg if {
	is_object(route)
	is_array(tenant.routes)
	not input.route in tenant.routes
	msg := sprintf("tenant_route: tenant %s may not use route %s", [input.tenant, input.route])
}

candidate_denials contains [c.id, msg] if {
	is_array(tenant.allowed_providers)
	some c in candidates
	m := models[c.id]
	is_object(m)
	not provider_allowed(m)
	msg := sprintf("tenant_provider: tenant %s does not allow provider %v (%s)", [input.tenant, object.get(m, "provider", "unknown"), c.id])
}

# A function, not `not m.provider in ...`: see hosting_permitted in hosting.rego.
provider_allowed(m) if m.provider in tenant.allowed_providers

candidate_denials contains [c.id, msg] if {
	is_array(tenant.blocked_providers)
	some c in candidates
	m := models[c.id]
	is_object(m)
	m.provider in tenant.blocked_providers
	msg := sprintf("tenant_provider: tenant %s blocks provider %s (%s)", [input.tenant, m.provider, c.id])
}

candidate_denials contains [c.id, msg] if {
	is_array(tenant.allowed_models)
	some c in candidates
	models[c.id]
	not c.id in tenant.allowed_models
	msg := sprintf("tenant_model: %s is not on tenant %s's model allow-list", [c.id, input.tenant])
}

candidate_denials contains [c.id, msg] if {
	is_array(tenant.blocked_models)
	some c in candidates
	c.id in tenant.blocked_models
	msg := sprintf("tenant_model: tenant %s blocks %s", [input.tenant, c.id])
}
