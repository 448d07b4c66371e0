"""Track My Crime: a victim self-service portal for England and Wales."""
