package govchaos.gateway_test

test_route_allow_list_denies_other_models if {
	d := data.govchaos.gateway.decision with input as req("code-assistant", "globex-retail", ["internal"], ["llama-3.1-8b-private-eu", "gpt-4o-cloud-us"])
	denied_by(d, "llama-3.1-8b-private-eu", "route_model")
	d.allowed == ["gpt-4o-cloud-us"]
}

test_route_allow_list_comes_from_data if {
	d := data.govchaos.gateway.decision with input as req("code-assistant", "globex-retail", ["internal"], ["llama-3.1-8b-private-eu"])
		with data.govchaos.routes["code-assistant"].models as ["llama-3.1-8b-private-eu"]
	d.allowed == ["llama-3.1-8b-private-eu"]
}

test_route_refuses_data_class_it_is_not_approved_for if {
	d := data.govchaos.gateway.decision with input as req("analytics-summary", "globex-retail", ["pii"], ["llama-3.1-8b-private-eu"])
	d.allow == false
	denied_by(d, "llama-3.1-8b-private-eu", "route_data_class")
	reason_names(d, "route_data_class")
}

test_route_accepts_data_class_it_is_approved_for if {
	d := data.govchaos.gateway.decision with input as req("analytics-summary", "globex-retail", ["confidential"], ["llama-3.1-8b-private-eu"])
	d.allowed == ["llama-3.1-8b-private-eu"]
}

test_requested_model_is_the_only_one_considered if {
	d := data.govchaos.gateway.decision with input as object.union(
		req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-us", "gpt-4o-cloud-eu"]),
		{"requested_model": "gpt-4o-cloud-eu"},
	)
	d.allowed == ["gpt-4o-cloud-eu"]
	denied_by(d, "gpt-4o-cloud-us", "requested_model")
}

test_requested_model_absent_from_candidates_denies_all if {
	d := data.govchaos.gateway.decision with input as object.union(
		req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-us"]),
		{"requested_model": "claude-sonnet-cloud-us"},
	)
	d.allow == false
	reason_names(d, "requested_model")
}

test_requested_model_still_obeys_the_rules if {
	d := data.govchaos.gateway.decision with input as object.union(
		req("customer-chat", "globex-retail", ["pii"], ["gpt-4o-cloud-us", "llama-3.1-8b-private-eu"]),
		{"requested_model": "gpt-4o-cloud-us"},
	)
	d.allow == false
	denied_by(d, "gpt-4o-cloud-us", "data_class_ceiling")
}

test_empty_requested_model_means_no_preference if {
	d := data.govchaos.gateway.decision with input as object.union(
		req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-us", "gpt-4o-cloud-eu"]),
		{"requested_model": ""},
	)
	count(d.allowed) == 2
}
