package govchaos.gateway_test

test_unknown_model_is_denied if {
	ghost := {"id": "shadow-llm", "provider": "x", "hosting": "private", "region": "eu-central-1"}
	d := data.govchaos.gateway.decision with input as {"route": "customer-chat", "tenant": "globex-retail", "data_classes": ["public"], "candidates": [ghost, cand("gpt-4o-cloud-eu")]}
	denied_by(d, "shadow-llm", "unknown_model")
	d.allowed == ["gpt-4o-cloud-eu"]
}

test_claimed_hosting_disagreeing_with_catalog_is_denied if {
	liar := object.union(cand("gpt-4o-cloud-us"), {"hosting": "private"})
	d := data.govchaos.gateway.decision with input as {"route": "customer-chat", "tenant": "globex-retail", "data_classes": ["pii"], "candidates": [liar]}
	d.allow == false
	denied_by(d, "gpt-4o-cloud-us", "catalog_mismatch")
	some r in d.denied["gpt-4o-cloud-us"]
	contains(r, "attributes disagree with catalog")
}

test_claimed_region_disagreeing_with_catalog_is_denied if {
	liar := object.union(cand("gpt-4o-cloud-us"), {"region": "eu-west-1"})
	d := data.govchaos.gateway.decision with input as {"route": "customer-chat", "tenant": "globex-retail", "data_classes": ["public"], "candidates": [liar]}
	denied_by(d, "gpt-4o-cloud-us", "catalog_mismatch")
}

test_claimed_version_disagreeing_with_catalog_is_denied if {
	liar := object.union(cand("gpt-4o-cloud-us"), {"version": "gpt-4o-2099-01-01"})
	d := data.govchaos.gateway.decision with input as {"route": "customer-chat", "tenant": "globex-retail", "data_classes": ["public"], "candidates": [liar]}
	denied_by(d, "gpt-4o-cloud-us", "catalog_mismatch")
}

test_empty_version_is_not_a_claim if {
	c := object.union(cand("gpt-4o-cloud-us"), {"version": ""})
	d := data.govchaos.gateway.decision with input as {"route": "customer-chat", "tenant": "globex-retail", "data_classes": ["public"], "candidates": [c]}
	d.allowed == ["gpt-4o-cloud-us"]
}

test_missing_hosting_is_a_disagreement if {
	c := object.remove(cand("gpt-4o-cloud-us"), ["hosting"])
	d := data.govchaos.gateway.decision with input as {"route": "customer-chat", "tenant": "globex-retail", "data_classes": ["public"], "candidates": [c]}
	denied_by(d, "gpt-4o-cloud-us", "catalog_mismatch")
}
