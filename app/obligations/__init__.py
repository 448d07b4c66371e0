"""Victims' Code obligations: what is owed to each victim, by whom, by when, and whether met."""
