package govchaos.gateway_test

test_pii_never_reaches_cloud if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["pii"], ["gpt-4o-cloud-us", "claude-sonnet-cloud-us"])
	d.allow == false
	denied_by(d, "gpt-4o-cloud-us", "data_class_ceiling")
	"data_class_ceiling: pii may not reach cloud hosting (gpt-4o-cloud-us)" in d.denied["gpt-4o-cloud-us"]
}

test_pii_reaches_private if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["pii"], ["llama-3.1-8b-private-eu"])
	d.allowed == ["llama-3.1-8b-private-eu"]
}

test_pii_never_reaches_edge if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "initech-dev", ["pii"], ["phi-3-mini-edge"])
	denied_by(d, "phi-3-mini-edge", "data_class_ceiling")
}

test_public_reaches_cloud if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-us"])
	d.allowed == ["gpt-4o-cloud-us"]
}

test_confidential_stays_off_edge if {
	d := data.govchaos.gateway.decision with input as req("code-assistant", "initech-dev", ["confidential"], ["phi-3-mini-edge", "gpt-4o-cloud-us"])
	denied_by(d, "phi-3-mini-edge", "data_class_ceiling")
	d.allowed == ["gpt-4o-cloud-us"]
}

test_phi_stays_private if {
	d := data.govchaos.gateway.decision with input as req("claims-triage", "acme-health", ["phi"], ["gpt-4o-cloud-eu", "llama-3.1-70b-private-eu"])
	denied_by(d, "gpt-4o-cloud-eu", "data_class_ceiling")
	d.allowed == ["llama-3.1-70b-private-eu"]
}

test_the_most_restrictive_class_wins if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public", "pii"], ["gpt-4o-cloud-us"])
	denied_by(d, "gpt-4o-cloud-us", "data_class_ceiling")
}

test_ceiling_comes_from_data if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["pii"], ["gpt-4o-cloud-us"])
		with data.govchaos.data_classes.pii.allowed_hosting as ["private", "cloud"]
	d.allowed == ["gpt-4o-cloud-us"]
}

test_phi_requires_hipaa_certification if {
	d := data.govchaos.gateway.decision with input as req("claims-triage", "globex-retail", ["phi"], ["llama-3.1-70b-private-us", "llama-3.1-70b-private-eu"])
	denied_by(d, "llama-3.1-70b-private-us", "data_class_certification")
	d.allowed == ["llama-3.1-70b-private-eu"]
}

test_certification_not_required_without_the_class if {
	d := data.govchaos.gateway.decision with input as req("claims-triage", "globex-retail", ["pii"], ["llama-3.1-70b-private-us"])
	d.allowed == ["llama-3.1-70b-private-us"]
}
