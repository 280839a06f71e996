package govchaos.gateway_test

# A budget state as the gateway sends it.
budget(ratio) := {"spent_usd": 10 * (1 - ratio), "limit_usd": 10, "remaining_ratio": ratio}

chat(budgets) := object.union(
	req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-eu", "llama-3.1-70b-private-eu", "llama-3.1-8b-private-eu"]),
	{"budget": budgets},
)

test_no_budget_input_changes_nothing if {
	d := data.govchaos.gateway.decision with input as req("customer-chat", "globex-retail", ["public"], ["gpt-4o-cloud-eu", "llama-3.1-8b-private-eu"])
	d.allowed == ["gpt-4o-cloud-eu", "llama-3.1-8b-private-eu"]
}

test_null_budget_is_no_budget if {
	d := data.govchaos.gateway.decision with input as chat(null)
	d.allowed == ["gpt-4o-cloud-eu", "llama-3.1-70b-private-eu", "llama-3.1-8b-private-eu"]
}

test_plenty_left_allows_every_model if {
	d := data.govchaos.gateway.decision with input as chat({"tenant": budget(0.5), "route": budget(0.2)})
	d.allowed == ["gpt-4o-cloud-eu", "llama-3.1-70b-private-eu", "llama-3.1-8b-private-eu"]
}

test_below_20_percent_only_cheap_models if {
	d := data.govchaos.gateway.decision with input as chat({"tenant": budget(0.19)})
	d.allowed == ["llama-3.1-8b-private-eu"]
	denied_by(d, "gpt-4o-cloud-eu", "budget_low")
	denied_by(d, "llama-3.1-70b-private-eu", "budget_low")
	some r in d.denied["gpt-4o-cloud-eu"]
	contains(r, "tenant 'globex-retail'")
}

test_the_tightest_scope_decides if {
	d := data.govchaos.gateway.decision with input as chat({"tenant": budget(0.9), "route": budget(0.05)})
	d.allowed == ["llama-3.1-8b-private-eu"]
	some r in d.denied["gpt-4o-cloud-eu"]
	contains(r, "route 'customer-chat'")
}

test_cheap_threshold_is_data if {
	d := data.govchaos.gateway.decision with input as chat({"route": budget(0.1)})
		with data.govchaos.budgets.cheap_cost_per_1k_tokens as 0.005
	d.allowed == ["llama-3.1-70b-private-eu", "llama-3.1-8b-private-eu"]
}

test_low_ratio_is_data if {
	d := data.govchaos.gateway.decision with input as chat({"route": budget(0.3)})
		with data.govchaos.budgets.low_remaining_ratio as 0.5
	d.allowed == ["llama-3.1-8b-private-eu"]
}

test_spent_budget_denies_everything_with_budget_exceeded if {
	d := data.govchaos.gateway.decision with input as chat({"tenant": budget(0.4), "route": budget(0)})
	d.allow == false
	d.allowed == []
	reason_names(d, "budget_exceeded")
	"budget_exceeded: the hourly budget of route 'customer-chat' is spent" in d.reasons
	denied_by(d, "llama-3.1-8b-private-eu", "budget_exceeded")
}

test_nothing_cheap_on_the_route_denies_with_budget_low if {
	d := data.govchaos.gateway.decision with input as object.union(
		req("code-assistant", "globex-retail", ["internal"], ["gpt-4o-cloud-us", "claude-sonnet-cloud-us"]),
		{"budget": {"route": budget(0.1)}},
	)
	d.allow == false
	reason_names(d, "budget_low")
	not reason_names(d, "budget_exceeded")
}

test_exceeded_is_not_low if {
	d := data.govchaos.gateway.decision with input as chat({"tenant": budget(0)})
	not reason_names(d, "budget_low")
}

test_budget_not_an_object_is_invalid_input if {
	d := data.govchaos.gateway.decision with input as chat("plenty")
	d.allow == false
	reason_names(d, "invalid_input")
}

test_unknown_budget_scope_is_invalid_input if {
	d := data.govchaos.gateway.decision with input as chat({"team": budget(0.5)})
	d.allow == false
	reason_names(d, "invalid_input")
}

test_budget_state_without_numbers_is_invalid_input if {
	d := data.govchaos.gateway.decision with input as chat({"tenant": {"remaining_ratio": "0.5"}})
	d.allow == false
	reason_names(d, "invalid_input")
}
