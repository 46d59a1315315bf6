"""One call in, one result out: filters and grids, fidelity, class models, dreams, accentuation, saliency, twins, explanations."""
