# Malformed input is denied in every engine (regorus, regopy, the real OPA): fields missing or
# of the wrong type, candidates without an id or that are not objects. These tests are the ones
# that caught the `not is_string(input.route)` trap: in OPA that body is undefined when the field
# is missing, so the denial never fired and OPA allowed the request (request.rego explains).
package govchaos.gateway_test

# The private candidate from the bug report, exactly as sent (no tenant, no route).
report_candidate := {"id": "llama-3.1-8b-private-eu", "provider": "govchaos-private", "hosting": "private", "region": "eu-central-1"}

valid := req("customer-chat", "globex-retail", ["public"], ["llama-3.1-8b-private-eu"])

test_valid_baseline_is_allowed if {
	d := data.govchaos.gateway.decision with input as valid
	d.allowed == ["llama-3.1-8b-private-eu"]
}

test_missing_route_and_tenant_from_the_report_is_denied if {
	d := data.govchaos.gateway.decision with input as {"candidates": [report_candidate]}
	d.allow == false
	d.allowed == []
	denied_by(d, "llama-3.1-8b-private-eu", "invalid_input")
	reason_names(d, "invalid_input")
}

test_missing_tenant_is_invalid_input if {
	d := data.govchaos.gateway.decision with input as object.remove(valid, ["tenant"])
	d.allow == false
	"invalid_input: tenant must be a string naming a tenant" in d.reasons
}

test_route_of_the_wrong_type_is_invalid_input if {
	d := data.govchaos.gateway.decision with input as object.union(valid, {"route": 7})
	d.allow == false
	"invalid_input: route must be a string naming a route" in d.reasons
}

test_tenant_of_the_wrong_type_is_invalid_input if {
	d := data.govchaos.gateway.decision with input as object.union(valid, {"tenant": ["globex-retail"]})
	d.allow == false
	"invalid_input: tenant must be a string naming a tenant" in d.reasons
}

test_candidate_without_id_next_to_a_valid_one_denies_the_request if {
	bad := object.remove(cand("gpt-4o-cloud-eu"), ["id"])
	d := data.govchaos.gateway.decision with input as object.union(valid, {"candidates": [cand("llama-3.1-8b-private-eu"), bad]})
	d.allow == false
	denied_by(d, "llama-3.1-8b-private-eu", "invalid_input")
	"invalid_input: every candidate must be an object with a string id" in d.reasons
}

test_candidate_that_is_not_an_object_denies_the_request if {
	d := data.govchaos.gateway.decision with input as object.union(valid, {"candidates": [cand("llama-3.1-8b-private-eu"), "gpt-4o-cloud-eu"]})
	d.allow == false
	d.allowed == []
}

test_candidate_with_a_numeric_id_denies_the_request if {
	bad := object.union(cand("gpt-4o-cloud-eu"), {"id": 42})
	d := data.govchaos.gateway.decision with input as object.union(valid, {"candidates": [cand("llama-3.1-8b-private-eu"), bad]})
	d.allow == false
	object.keys(d.denied) == {"llama-3.1-8b-private-eu"}
}

test_candidates_not_a_list_is_denied if {
	d := data.govchaos.gateway.decision with input as object.union(valid, {"candidates": {"a": cand("llama-3.1-8b-private-eu")}})
	d.allow == false
	reason_names(d, "no_candidates")
}

test_data_classes_with_a_non_string_is_invalid_input if {
	d := data.govchaos.gateway.decision with input as object.union(valid, {"data_classes": ["public", 3]})
	d.allow == false
	"invalid_input: data_classes must be a list of data class names" in d.reasons
}

test_region_of_the_wrong_type_is_invalid_input_not_ignored if {
	d := data.govchaos.gateway.decision with input as object.union(valid, {"region": ["us"]})
	d.allow == false
	"invalid_input: region must be a string (a residency requirement) or null" in d.reasons
}

test_null_optional_fields_mean_not_given if {
	d := data.govchaos.gateway.decision with input as object.union(valid, {"region": null, "requested_model": null, "max_tokens": null})
	d.allowed == ["llama-3.1-8b-private-eu"]
}

test_requested_model_of_the_wrong_type_is_invalid_input if {
	d := data.govchaos.gateway.decision with input as object.union(valid, {"requested_model": 1})
	d.allow == false
	"invalid_input: requested_model must be a string (a model id) or null" in d.reasons
}

test_max_tokens_and_stream_of_the_wrong_type_are_invalid_input if {
	d := data.govchaos.gateway.decision with input as object.union(valid, {"max_tokens": "many", "stream": "yes"})
	d.allow == false
	"invalid_input: max_tokens must be a whole number or null" in d.reasons
	"invalid_input: stream must be true or false" in d.reasons
}

test_claimed_attribute_of_the_wrong_type_reads_by_type if {
	c := object.union(cand("gpt-4o-cloud-eu"), {"hosting": 5})
	d := data.govchaos.gateway.decision with input as object.union(valid, {"candidates": [c]})
	"catalog_mismatch: attributes disagree with catalog for gpt-4o-cloud-eu: hosting claimed '<number>', catalog has 'cloud'" in d.denied["gpt-4o-cloud-eu"]
}

test_catalog_entry_without_hosting_is_still_held_to_the_ceiling if {
	entry := object.remove(data.govchaos.catalog.models["gpt-4o-cloud-eu"], ["hosting"])
	models := object.union(object.remove(data.govchaos.catalog.models, ["gpt-4o-cloud-eu"]), {"gpt-4o-cloud-eu": entry})
	c := object.remove(cand("gpt-4o-cloud-eu"), ["hosting"])
	d := data.govchaos.gateway.decision with input as req("claims-triage", "globex-retail", ["pii"], []) with input.candidates as [c]
		with data.govchaos.catalog.models as models
	d.allow == false
	"data_class_ceiling: pii may not reach unknown hosting (gpt-4o-cloud-eu)" in d.denied["gpt-4o-cloud-eu"]
}
