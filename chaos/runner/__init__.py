"""The chaos runner: phases, fault timeline, metrics, assertions, verdict and report.json."""
