# Per-route rules: which models a route may call, which data classes it is approved to carry,
# and the caller's requested_model (when set, only that candidate is considered).
package govchaos.gateway

route_models contains id if {
	some id in route.models
}

route_data_classes contains dc if {
	some dc in route.data_classes
}

candidate_denials contains [c.id, msg] if {
	is_object(route)
	some c in candidates
	not route_models[c.id]
	msg := sprintf("route_model: %s is not on the allow-list of route %s", [c.id, input.route])
}

request_denials contains msg if {
	is_object(route)
	some dc in request_data_classes
	data.govchaos.data_classes[dc]
	not route_data_classes[dc]
	msg := sprintf("route_data_class: route %s is not approved to carry %s data", [input.route, dc])
}

# The requested model, when the caller names one (null and "" mean "no preference").
requested_model := input.requested_model if {
	is_string(input.requested_model)
	input.requested_model != ""
}

candidate_denials contains [c.id, msg] if {
	is_string(requested_model)
	some c in candidates
	c.id != requested_model
	msg := sprintf("requested_model: only %s was requested, not %s", [requested_model, c.id])
}

request_denials contains msg if {
	requested_model
	not candidate_ids[requested_model]
	msg := sprintf("requested_model: %s is not among the candidates", [requested_model])
}
