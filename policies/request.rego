# Request-level checks and the facts other rules read: the route, the tenant, the catalog and the
# data classes the request carries. Anything the policy does not recognise denies the whole
# request with a reason (fail closed); nothing here looks at a single candidate.
package govchaos.gateway

models := data.govchaos.catalog.models

route := data.govchaos.routes[input.route]

tenant := data.govchaos.tenants[input.tenant]

# The data classes this request carries. An unlabelled request is treated as carrying the
# configured defaults, so "no label" never means "no restriction".
request_data_classes := input.data_classes if {
	is_array(input.data_classes)
	count(input.data_classes) > 0
} else := data.govchaos.settings.default_data_classes if {
	is_array(data.govchaos.settings.default_data_classes)
} else := ["internal"]

request_denials contains msg if {
	not is_string(input.route)
	msg := "invalid_input: route must be a string naming a route"
}

request_denials contains msg if {
	is_string(input.route)
	not route
	msg := sprintf("unknown_route: route '%s' is not defined in data.govchaos.routes", [input.route])
}

request_denials contains msg if {
	not is_string(input.tenant)
	msg := "invalid_input: tenant must be a string naming a tenant"
}

request_denials contains msg if {
	is_string(input.tenant)
	not tenant
	msg := sprintf("unknown_tenant: tenant '%s' is not defined in data.govchaos.tenants", [input.tenant])
}

request_denials contains msg if {
	input.data_classes != null
	not is_array(input.data_classes)
	msg := "invalid_input: data_classes must be a list of data class names"
}

request_denials contains msg if {
	some dc in request_data_classes
	not data.govchaos.data_classes[dc]
	msg := sprintf("unknown_data_class: '%v' is not defined in data.govchaos.data_classes", [dc])
}

request_denials contains msg if {
	not is_array(input.candidates)
	msg := "no_candidates: the request offers no candidate models"
}

request_denials contains msg if {
	is_array(input.candidates)
	count(input.candidates) == 0
	msg := "no_candidates: the request offers no candidate models"
}

request_denials contains msg if {
	some c in input.candidates
	not is_string(c.id)
	msg := "invalid_input: every candidate needs a string id"
}
