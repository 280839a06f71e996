# Spend budgets. The gateway passes the state of every budget that applies to the request as
# input.budget.<scope> (scope: tenant | route), each {spent_usd, limit_usd, remaining_ratio}
# with remaining_ratio in 0..1 (rounded up to 1 % of the limit, 0 only when nothing is left).
# The tightest budget decides:
#   remaining_ratio == 0                          deny everything: budget_exceeded (the gateway
#                                                 answers 429 with a Retry-After)
#   remaining_ratio < data.govchaos.budgets.low_remaining_ratio
#                                                 only models whose catalog price is below
#                                                 cheap_cost_per_1k_tokens: budget_low
# No input.budget (or null): no budget applies, nothing here fires.
package govchaos.gateway

budget_scopes := {"tenant", "route"}

budget_is_object if is_object(input.budget)

# A scope entry the rules can read: an object with the three numbers.
budget_entry_ok(scope) if {
	b := input.budget[scope]
	is_object(b)
	is_number(b.spent_usd)
	is_number(b.limit_usd)
	is_number(b.remaining_ratio)
}

# [scope, remaining_ratio] of every well-formed budget of the request.
budget_ratios contains [scope, ratio] if {
	some scope in budget_scopes
	budget_entry_ok(scope)
	ratio := input.budget[scope].remaining_ratio
	is_number(ratio)
}

# The name a scope's budget belongs to (the request's tenant or route), for reasons; always
# defined (the VM hands an undefined function value on).
budget_owner(scope) := input.tenant if {
	scope == "tenant"
	is_string(input.tenant)
} else := input.route if {
	scope == "route"
	is_string(input.route)
} else := "<unknown>"

low_remaining_ratio := r if {
	r := data.govchaos.budgets.low_remaining_ratio
	is_number(r)
} else := 0.2

cheap_cost_per_1k_tokens := c if {
	c := data.govchaos.budgets.cheap_cost_per_1k_tokens
	is_number(c)
} else := 0

# -- malformed budget input denies the request (fail closed) -----------------------------------

request_denials contains msg if {
	input.budget != null
	not budget_is_object
	msg := "invalid_input: budget must be an object of budget states by scope (tenant, route)"
}

request_denials contains msg if {
	budget_is_object
	some scope, _ in input.budget
	not scope in budget_scopes
	msg := sprintf("invalid_input: budget.%s is not a budget scope (tenant, route)", [shown(scope)])
}

request_denials contains msg if {
	budget_is_object
	some scope in budget_scopes
	_ = input.budget[scope]
	not budget_entry_ok(scope)
	msg := sprintf("invalid_input: budget.%s must hold the numbers spent_usd, limit_usd and remaining_ratio", [scope])
}

# -- the rules ---------------------------------------------------------------------------------

request_denials contains msg if {
	some pair in budget_ratios
	pair[1] <= 0
	msg := sprintf("budget_exceeded: the hourly budget of %s '%s' is spent", [pair[0], budget_owner(pair[0])])
}

candidate_denials contains [c.id, msg] if {
	some pair in budget_ratios
	pair[1] > 0
	pair[1] < low_remaining_ratio
	some c in candidates
	m := models[c.id]
	is_object(m)
	not cheap_model(m)
	msg := sprintf(
		"budget_low: the hourly budget of %s '%s' is nearly spent; only models priced below %v per 1k tokens",
		[pair[0], budget_owner(pair[0]), cheap_cost_per_1k_tokens],
	)
}

cheap_model(m) if {
	is_number(m.cost_per_1k_tokens)
	m.cost_per_1k_tokens < cheap_cost_per_1k_tokens
}
