# Obligations: duties the gateway must honour when it serves an allowed request.
#   max_tokens   completion cap: the smaller of the route's and the tenant's caps
#   log_prompts  false when any carried data class (PII, PHI) or the tenant forbids prompt logging,
#                and for any data class the policy does not know (fail closed)
#   redact       sorted entity kinds to redact, the union over the carried data classes
package govchaos.gateway

obligations := {
	"max_tokens": max_tokens_cap,
	"log_prompts": log_prompts,
	"redact": sort(redactions),
}

# Explicit bodies with type guards: regorus's VM adds an undefined head value to the set
# instead of skipping it (see docs/authoring-policies.md, "VM-safe Rego").
token_caps contains n if {
	n := route.max_tokens
	is_number(n)
}

token_caps contains n if {
	n := tenant.max_tokens
	is_number(n)
}

# The caps that apply; the configured default only when neither route nor tenant sets one.
effective_caps := token_caps if {
	count(token_caps) > 0
} else := {n} if {
	n := data.govchaos.settings.default_max_tokens
	is_number(n)
} else := {1024}

# The smallest cap, found by comparison rather than min(): regopy 1.5.2's min() and sort()
# order numbers as text (min({512, 2048}) is 2048 there).
max_tokens_cap := cap if {
	some cap in effective_caps
	count({other | some other in effective_caps; other < cap}) == 0
}

default log_prompts := true

log_prompts := false if prompt_logging_forbidden

prompt_logging_forbidden if {
	some dc in request_data_classes
	not data.govchaos.data_classes[dc].log_prompts == true
}

prompt_logging_forbidden if tenant.log_prompts == false

redactions contains kind if {
	some dc in request_data_classes
	some kind in data.govchaos.data_classes[dc].redact
}
