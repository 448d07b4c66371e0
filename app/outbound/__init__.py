"""Victim requests to agencies (contract section 6) and their signed outbound webhooks."""
