package govchaos.gateway_test

test_max_tokens_is_the_route_cap if {
	d := data.govchaos.gateway.decision with input as req("code-assistant", "initech-dev", ["internal"], ["gpt-4o-cloud-us"])
	d.obligations.max_tokens == 4096
}

test_max_tokens_is_the_smaller_of_route_and_tenant if {
	d := data.govchaos.gateway.decision with input as req("code-assistant", "globex-retail", ["internal"], ["gpt-4o-cloud-us"])
	d.obligations.max_tokens == 2048
}

test_pii_forbids_prompt_logging_and_redacts if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["pii"], ["llama-3.1-8b-private-eu"])
	d.obligations.log_prompts == false
	"email" in d.obligations.redact
}

test_phi_forbids_prompt_logging if {
	d := data.govchaos.gateway.decision with input as req("claims-triage", "globex-retail", ["phi"], ["llama-3.1-8b-private-eu"])
	d.obligations.log_prompts == false
	"medical_record_number" in d.obligations.redact
}

test_public_data_may_be_logged_with_nothing_to_redact if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-us"])
	d.obligations.log_prompts == true
	d.obligations.redact == []
}

test_tenant_may_forbid_prompt_logging if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "acme-health", ["public"], ["gpt-4o-cloud-eu"])
	d.obligations.log_prompts == false
}

test_redactions_are_a_sorted_union if {
	d := data.govchaos.gateway.decision with input as req("claims-triage", "globex-retail", ["pii", "phi"], ["llama-3.1-8b-private-eu"])
	d.obligations.redact == sort(d.obligations.redact)
	"national_id" in d.obligations.redact
	"patient_name" in d.obligations.redact
	count({x | some x in d.obligations.redact}) == count(d.obligations.redact)
}
