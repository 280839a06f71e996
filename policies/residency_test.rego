package govchaos.gateway_test

test_tenant_residency_keeps_eu_data_in_eu if {
	d := data.govchaos.gateway.decision with input as req("claims-triage", "acme-health", ["pii"], ["llama-3.1-70b-private-us", "llama-3.1-70b-private-eu"])
	denied_by(d, "llama-3.1-70b-private-us", "residency")
	d.allowed == ["llama-3.1-70b-private-eu"]
}

test_request_region_restricts_a_tenant_without_residency if {
	d := data.govchaos.gateway.decision with input as object.union(
		req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-us", "gpt-4o-cloud-eu"]),
		{"region": "eu"},
	)
	denied_by(d, "gpt-4o-cloud-us", "residency")
	d.allowed == ["gpt-4o-cloud-eu"]
}

test_no_region_no_residency_allows_any_jurisdiction if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-us", "gpt-4o-cloud-eu"])
	d.allowed == ["gpt-4o-cloud-eu", "gpt-4o-cloud-us"]
}

test_null_region_is_no_requirement if {
	d := data.govchaos.gateway.decision with input as object.union(req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-us"]), {"region": null})
	d.allowed == ["gpt-4o-cloud-us"]
}

test_region_may_name_an_exact_region if {
	d := data.govchaos.gateway.decision with input as object.union(
		req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-eu", "llama-3.1-8b-private-eu"]),
		{"region": "eu-central-1"},
	)
	denied_by(d, "gpt-4o-cloud-eu", "residency")
	d.allowed == ["llama-3.1-8b-private-eu"]
}

test_request_cannot_loosen_tenant_residency if {
	d := data.govchaos.gateway.decision with input as object.union(
		req("claims-triage", "acme-health", ["internal"], ["llama-3.1-70b-private-us", "llama-3.1-70b-private-eu"]),
		{"region": "us"},
	)
	d.allow == false
	denied_by(d, "llama-3.1-70b-private-us", "residency")
	denied_by(d, "llama-3.1-70b-private-eu", "residency")
}
