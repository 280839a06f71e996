# Data-class ceilings: each data class lists the hosting kinds it may reach and the
# certifications a model must hold to carry it (data.govchaos.data_classes). PII and PHI list
# only private hosting, so they never leave it, whatever else the request or route says.
package govchaos.gateway

candidate_denials contains [c.id, msg] if {
	some c in input.candidates
	m := models[c.id]
	is_object(m)
	some dc in request_data_classes
	rule := data.govchaos.data_classes[dc]
	is_object(rule)
	not m.hosting in rule.allowed_hosting
	msg := sprintf("data_class_ceiling: %s may not reach %s hosting (%s)", [dc, m.hosting, c.id])
}

candidate_denials contains [c.id, msg] if {
	some c in input.candidates
	m := models[c.id]
	is_object(m)
	some dc in request_data_classes
	rule := data.govchaos.data_classes[dc]
	is_object(rule)
	some cert in rule.required_certifications
	not cert in object.get(m, "certifications", [])
	msg := sprintf("data_class_certification: %s requires %s certification, which %s lacks", [dc, cert, c.id])
}
