# Tests of the decision's shape and the request-level rules, plus the helpers every
# *_test.rego file in this package uses. Run: govchaos policy test policies/  (or opa test).
package govchaos.gateway_test

# A candidate exactly as the catalog describes it (what an honest gateway sends).
cand(id) := {
	"id": id,
	"provider": m.provider,
	"hosting": m.hosting,
	"region": m.region,
	"version": m.version,
	"cost_per_1k_tokens": m.cost_per_1k_tokens,
	"healthy": true,
	"tags": m.tags,
} if {
	m := data.govchaos.catalog.models[id]
}

req(route, tenant, dcs, ids) := {
	"route": route,
	"tenant": tenant,
	"data_classes": dcs,
	"candidates": [cand(id) | some id in ids],
}

# Some reason against `id` names `rule`.
denied_by(d, id, rule) if {
	some r in d.denied[id]
	startswith(r, concat("", [rule, ":"]))
}

# Some top-level reason names `rule`.
reason_names(d, rule) if {
	some r in d.reasons
	startswith(r, concat("", [rule, ":"]))
}

all_models := [
	"llama-3.1-70b-private-eu", "llama-3.1-8b-private-eu", "llama-3.1-70b-private-us",
	"gpt-4o-cloud-eu", "gpt-4o-cloud-us", "claude-sonnet-cloud-us",
	"gpt-4-legacy-cloud-us", "phi-3-mini-edge",
]

test_every_candidate_is_either_allowed_or_denied if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["pii"], all_models)
	count(d.allowed) + count(d.denied) == count(all_models)
	every id in all_models {
		(id in d.allowed) != (id in object.keys(d.denied))
	}
}

test_allowed_is_sorted_and_allow_matches if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["pii"], all_models)
	d.allowed == ["llama-3.1-70b-private-eu", "llama-3.1-70b-private-us", "llama-3.1-8b-private-eu"]
	d.allow == true
	d.reasons == []
}

test_nothing_allowed_explains_why if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["pii"], ["gpt-4o-cloud-us"])
	d.allow == false
	d.allowed == []
	reason_names(d, "data_class_ceiling")
}

test_unhealthy_candidates_are_not_a_policy_deny if {
	c := object.union(cand("llama-3.1-8b-private-eu"), {"healthy": false})
	d := data.govchaos.gateway.decision with input as {"route": "claims-triage", "tenant": "acme-health", "data_classes": ["phi"], "candidates": [c]}
	d.allowed == ["llama-3.1-8b-private-eu"]
}

test_unknown_route_denies_everything if {
	d := data.govchaos.gateway.decision with input as req("no-such-route", "globex-retail", ["public"], ["gpt-4o-cloud-us", "llama-3.1-8b-private-eu"])
	d.allow == false
	denied_by(d, "gpt-4o-cloud-us", "unknown_route")
	denied_by(d, "llama-3.1-8b-private-eu", "unknown_route")
	reason_names(d, "unknown_route")
}

test_known_route_is_not_unknown if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-us"])
	not reason_names(d, "unknown_route")
	d.allow
}

test_unknown_tenant_denies_everything if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "umbrella-corp", ["public"], ["gpt-4o-cloud-us"])
	d.allow == false
	denied_by(d, "gpt-4o-cloud-us", "unknown_tenant")
}

test_unknown_data_class_denies_everything if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public", "top-secret"], ["llama-3.1-8b-private-eu"])
	d.allow == false
	denied_by(d, "llama-3.1-8b-private-eu", "unknown_data_class")
	d.obligations.log_prompts == false
}

test_missing_route_is_invalid_input if {
	d := data.govchaos.gateway.decision with input as {"tenant": "globex-retail", "candidates": [cand("gpt-4o-cloud-us")]}
	denied_by(d, "gpt-4o-cloud-us", "invalid_input")
}

test_data_classes_must_be_a_list if {
	d := data.govchaos.gateway.decision with input as object.union(req("customer-chat", "globex-retail", [], ["gpt-4o-cloud-us"]), {"data_classes": "pii"})
	denied_by(d, "gpt-4o-cloud-us", "invalid_input")
}

test_no_candidates_is_denied_with_a_reason if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public"], [])
	d.allow == false
	d.denied == {}
	reason_names(d, "no_candidates")
}

test_unlabelled_request_is_treated_as_internal if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", [], ["gpt-4o-cloud-us", "phi-3-mini-edge"])
	d.allowed == ["gpt-4o-cloud-us"]
	d.obligations.log_prompts == true
}

test_unlabelled_default_comes_from_settings if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", [], ["gpt-4o-cloud-us"])
		with data.govchaos.settings.default_data_classes as ["pii"]
	denied_by(d, "gpt-4o-cloud-us", "data_class_ceiling")
}

test_duplicate_candidate_is_denied_if_any_copy_is if {
	liar := object.union(cand("gpt-4o-cloud-eu"), {"hosting": "private"})
	d := data.govchaos.gateway.decision with input as {"route": "customer-chat", "tenant": "globex-retail", "data_classes": ["public"], "candidates": [cand("gpt-4o-cloud-eu"), liar]}
	d.allowed == []
	denied_by(d, "gpt-4o-cloud-eu", "catalog_mismatch")
}
