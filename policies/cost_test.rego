package govchaos.gateway_test

test_route_cost_ceiling_denies_expensive_models if {
	d := data.govchaos.gateway.decision with input as req("analytics-summary", "globex-retail", ["internal"], ["gpt-4o-cloud-eu", "llama-3.1-8b-private-eu"])
	denied_by(d, "gpt-4o-cloud-eu", "cost_ceiling")
	d.allowed == ["llama-3.1-8b-private-eu"]
}

test_route_cost_ceiling_from_data if {
	d := data.govchaos.gateway.decision with input as req("analytics-summary", "globex-retail", ["internal"], ["gpt-4o-cloud-eu"])
		with data.govchaos.routes["analytics-summary"].max_cost_per_1k_tokens as 0.01
	d.allowed == ["gpt-4o-cloud-eu"]
}

test_tenant_cost_ceiling if {
	d := data.govchaos.gateway.decision with input as req("code-assistant", "initech-dev", ["internal"], ["gpt-4o-cloud-us"])
		with data.govchaos.tenants["initech-dev"].max_cost_per_1k_tokens as 0.005
	denied_by(d, "gpt-4o-cloud-us", "cost_ceiling")
}

test_claimed_price_is_ignored if {
	cheap := object.union(cand("gpt-4o-cloud-eu"), {"cost_per_1k_tokens": 0.0001})
	d := data.govchaos.gateway.decision with input as {"route": "analytics-summary", "tenant": "globex-retail", "data_classes": ["internal"], "candidates": [cheap]}
	denied_by(d, "gpt-4o-cloud-eu", "cost_ceiling")
}
