package govchaos.gateway_test

test_tenant_route_allow_list_denies_other_routes if {
	d := data.govchaos.gateway.decision with input as req("claims-triage", "initech-dev", ["internal"], ["llama-3.1-8b-private-eu"])
	d.allow == false
	denied_by(d, "llama-3.1-8b-private-eu", "tenant_route")
}

test_tenant_route_allow_list_allows_its_routes if {
	d := data.govchaos.gateway.decision with input as req("analytics-summary", "initech-dev", ["internal"], ["llama-3.1-8b-private-eu"])
	d.allowed == ["llama-3.1-8b-private-eu"]
}

test_tenant_blocked_provider if {
	d := data.govchaos.gateway.decision with input as req("code-assistant", "initech-dev", ["internal"], ["claude-sonnet-cloud-us", "gpt-4o-cloud-us"])
	denied_by(d, "claude-sonnet-cloud-us", "tenant_provider")
	d.allowed == ["gpt-4o-cloud-us"]
}

test_tenant_provider_allow_list if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "acme-health", ["public"], ["phi-3-mini-edge", "gpt-4o-cloud-eu"])
	denied_by(d, "phi-3-mini-edge", "tenant_provider")
	d.allowed == ["gpt-4o-cloud-eu"]
}

test_tenant_provider_allow_list_comes_from_data if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "acme-health", ["public"], ["phi-3-mini-edge"])
		with data.govchaos.tenants["acme-health"].allowed_providers as ["microsoft"]
	d.allowed == ["phi-3-mini-edge"]
}

test_tenant_blocked_model if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public"], ["phi-3-mini-edge"])
	denied_by(d, "phi-3-mini-edge", "tenant_model")
}

test_tenant_model_allow_list if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-us", "gpt-4o-cloud-eu"])
		with data.govchaos.tenants["globex-retail"].allowed_models as ["gpt-4o-cloud-eu"]
	denied_by(d, "gpt-4o-cloud-us", "tenant_model")
	d.allowed == ["gpt-4o-cloud-eu"]
}

test_empty_allow_list_allows_nothing if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-us"])
		with data.govchaos.tenants["globex-retail"].allowed_providers as []
	d.allow == false
}
