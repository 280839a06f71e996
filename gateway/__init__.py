"""Reference OpenAI-compatible gateway: policy-gated routing, failover, breakers, validation."""
