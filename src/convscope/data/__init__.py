"""Photos in bulk: sources, the one streaming pass, per-unit statistics and exemplars,
activation samples, per-layer arrays on disk."""
