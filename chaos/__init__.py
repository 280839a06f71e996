"""Chaos harness: scenarios, fault proxy, simulated providers, load, runner, reports."""
