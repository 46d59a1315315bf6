"""A stand-in for torchvision in the Lucent benchmark environment: Lucent imports it only
for ``transforms.Normalize`` (PyPI's torchvision does not import beside the CPU torch)."""
from . import transforms  # noqa: F401
