"""Ingestion benchmark: signed agency events over HTTP, the service against a minimal floor."""
