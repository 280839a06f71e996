# Data-class ceilings: each data class lists the hosting kinds it may reach and the
# certifications a model must hold to carry it (data.govchaos.data_classes). PII and PHI list
# only private hosting, so they never leave it, whatever else the request or route says.
package govchaos.gateway

candidate_denials contains [c.id, msg] if {
	some c in candidates
	m := models[c.id]
	is_object(m)
	some dc in request_data_classes
	rule := data.govchaos.data_classes[dc]
	is_object(rule)
	not hosting_permitted(m, rule)
	msg := sprintf("data_class_ceiling: %s may not reach %v hosting (%s)", [dc, object.get(m, "hosting", "unknown"), c.id])
}

# Negated through a function rather than `not m.hosting in rule.allowed_hosting`: OPA evaluates
# m.hosting before the negation, so a catalog entry without hosting would make that body
# undefined and the ceiling would not apply (docs/authoring-policies.md, "Malformed input").
hosting_permitted(m, rule) if m.hosting in rule.allowed_hosting

candidate_denials contains [c.id, msg] if {
	some c in candidates
	m := models[c.id]
	is_object(m)
	some dc in request_data_classes
	rule := data.govchaos.data_classes[dc]
	is_object(rule)
	some cert in rule.required_certifications
	not cert in object.get(m, "certifications", [])
	msg := sprintf("data_class_certification: %s requires %s certification, which %s lacks", [dc, cert, c.id])
}
