"""Agencies: registration, signing secrets, and the signed event webhook they call."""
