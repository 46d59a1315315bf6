"""Concepts: dictionaries of directions learned from a layer's activations (NMF, TopK sparse
autoencoders), their measures, and what removing a concept does to the classes."""
