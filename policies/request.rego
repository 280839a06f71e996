# Request-level checks and the facts other rules read: the route, the tenant, the catalog, the
# well-formed candidates and the data classes the request carries. Anything the policy does not
# recognise denies the whole request with a reason (fail closed); nothing here looks at a single
# candidate's attributes.
#
# Malformed input is denied the same way in every engine, OPA included. The shape checks never
# write `not is_string(input.x)`: OPA evaluates the argument before the negation, so when
# input.x is missing the whole body is undefined (not true) and the denial never fires — the
# policy would fail OPEN in OPA while regorus denies. Each check negates a helper rule instead
# (`not route_is_string`), which is true when the field is missing, in every engine
# (docs/authoring-policies.md, "Malformed input: negate a helper rule").
package govchaos.gateway

models := data.govchaos.catalog.models

route := data.govchaos.routes[input.route]

tenant := data.govchaos.tenants[input.tenant]

# -- shape of the input ------------------------------------------------------------------------

route_is_string if is_string(input.route)

tenant_is_string if is_string(input.tenant)

candidates_is_array if is_array(input.candidates)

data_classes_is_array if is_array(input.data_classes)

region_is_string if is_string(input.region)

requested_model_is_string if is_string(input.requested_model)

max_tokens_is_integer if {
	is_number(input.max_tokens)
	round(input.max_tokens) == input.max_tokens
}

stream_is_boolean if is_boolean(input.stream)

# Indices of the candidates every per-candidate rule may look at: objects with a string id.
well_formed_indices contains i if {
	is_array(input.candidates)
	some i, c in input.candidates
	is_object(c)
	is_string(c.id)
}

# The well-formed candidates. Every per-candidate rule iterates these, never input.candidates,
# so a malformed candidate can neither be allowed nor break a rule; it denies the request below.
candidates contains c if {
	some i in well_formed_indices
	c := input.candidates[i]
}

# Data class names carried by the request that are strings; anything else is invalid input.
data_class_names contains dc if {
	some dc in request_data_classes
	is_string(dc)
}

# The data classes this request carries. An unlabelled request is treated as carrying the
# configured defaults, so "no label" never means "no restriction".
request_data_classes := input.data_classes if {
	is_array(input.data_classes)
	count(input.data_classes) > 0
} else := data.govchaos.settings.default_data_classes if {
	is_array(data.govchaos.settings.default_data_classes)
} else := ["internal"]

# -- request-level denials ---------------------------------------------------------------------

request_denials contains msg if {
	not route_is_string
	msg := "invalid_input: route must be a string naming a route"
}

request_denials contains msg if {
	route_is_string
	not route
	msg := sprintf("unknown_route: route '%s' is not defined in data.govchaos.routes", [input.route])
}

request_denials contains msg if {
	not tenant_is_string
	msg := "invalid_input: tenant must be a string naming a tenant"
}

request_denials contains msg if {
	tenant_is_string
	not tenant
	msg := sprintf("unknown_tenant: tenant '%s' is not defined in data.govchaos.tenants", [input.tenant])
}

request_denials contains msg if {
	input.data_classes != null
	not data_classes_is_array
	msg := "invalid_input: data_classes must be a list of data class names"
}

request_denials contains msg if {
	data_classes_is_array
	some dc in input.data_classes
	not is_string(dc) # safe: dc is bound by the iteration, so the call's argument is defined
	msg := "invalid_input: data_classes must be a list of data class names"
}

request_denials contains msg if {
	some dc in data_class_names
	not data.govchaos.data_classes[dc]
	msg := sprintf("unknown_data_class: '%s' is not defined in data.govchaos.data_classes", [dc])
}

request_denials contains msg if {
	input.region != null
	not region_is_string
	msg := "invalid_input: region must be a string (a residency requirement) or null"
}

request_denials contains msg if {
	input.requested_model != null
	not requested_model_is_string
	msg := "invalid_input: requested_model must be a string (a model id) or null"
}

request_denials contains msg if {
	input.max_tokens != null
	not max_tokens_is_integer
	msg := "invalid_input: max_tokens must be a whole number or null"
}

request_denials contains msg if {
	input.stream != null
	not stream_is_boolean
	msg := "invalid_input: stream must be true or false"
}

request_denials contains msg if {
	not candidates_is_array
	msg := "no_candidates: the request offers no candidate models"
}

request_denials contains msg if {
	candidates_is_array
	count(input.candidates) == 0
	msg := "no_candidates: the request offers no candidate models"
}

request_denials contains msg if {
	candidates_is_array
	count(well_formed_indices) != count(input.candidates)
	msg := "invalid_input: every candidate must be an object with a string id"
}
