# Model lifecycle and version pinning. Only models in `ga` status may serve; a deprecated model is
# denied with its sunset date in the reason. A route may pin a model to one version; the catalog
# says which version is deployed (the caller's claim is checked against it in catalog.rego).
# No clock is read here on purpose: decisions must be deterministic so they can be cached.
package govchaos.gateway

candidate_denials contains [c.id, msg] if {
	some c in candidates
	m := models[c.id]
	is_object(m)
	m.lifecycle.status == "deprecated"
	msg := sprintf("lifecycle: %s is deprecated (sunset %v)", [c.id, object.get(m.lifecycle, "sunset", "unannounced")])
}

candidate_denials contains [c.id, msg] if {
	some c in candidates
	m := models[c.id]
	is_object(m)
	status := object.get(object.get(m, "lifecycle", {}), "status", "unknown")
	not status in {"ga", "deprecated"}
	msg := sprintf("lifecycle: %s is in '%v' status; only ga models may serve", [c.id, status])
}

candidate_denials contains [c.id, msg] if {
	some c in candidates
	pinned := route.pinned_versions[c.id]
	is_string(pinned)
	m := models[c.id]
	is_object(m)
	m.version != pinned
	msg := sprintf("version_pin: route %s pins %s to version %s, the catalog has %s", [input.route, c.id, pinned, m.version])
}
