"""Circuits: how a unit, class or objective is built from the units of earlier layers (attribution
by integrated gradients, checked by ablation), what it feeds, and the graph of both."""
