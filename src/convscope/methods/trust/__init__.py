"""Trust: measured evidence that a unit's picture shows what the unit does on real photos."""
