"""Concepts: dictionaries of directions learned from a layer's activations (NMF, TopK sparse
autoencoders), their measures, and what removing a concept does to the classes."""

from convscope.methods.concepts import nmf, sae  # noqa: F401,E402 (the built-in dictionary methods register themselves)
