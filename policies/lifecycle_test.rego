package govchaos.gateway_test

test_deprecated_model_is_denied_with_its_sunset if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public"], ["gpt-4-legacy-cloud-us"])
	d.allow == false
	"lifecycle: gpt-4-legacy-cloud-us is deprecated (sunset 2025-06-30)" in d.denied["gpt-4-legacy-cloud-us"]
}

test_ga_model_passes_lifecycle if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public"], ["gpt-4-legacy-cloud-us"])
		with data.govchaos.catalog.models["gpt-4-legacy-cloud-us"].lifecycle as {"status": "ga"}
	d.allowed == ["gpt-4-legacy-cloud-us"]
}

test_preview_model_is_denied if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-us"])
		with data.govchaos.catalog.models["gpt-4o-cloud-us"].lifecycle as {"status": "preview"}
	denied_by(d, "gpt-4o-cloud-us", "lifecycle")
}

test_pinned_version_matching_catalog_is_allowed if {
	d := data.govchaos.gateway.decision with input as req("code-assistant", "globex-retail", ["internal"], ["claude-sonnet-cloud-us"])
	d.allowed == ["claude-sonnet-cloud-us"]
}

test_pinned_version_differing_from_catalog_is_denied if {
	d := data.govchaos.gateway.decision with input as req("code-assistant", "globex-retail", ["internal"], ["claude-sonnet-cloud-us"])
		with data.govchaos.routes["code-assistant"].pinned_versions as {"claude-sonnet-cloud-us": "claude-3-opus-20240229"}
	denied_by(d, "claude-sonnet-cloud-us", "version_pin")
}
