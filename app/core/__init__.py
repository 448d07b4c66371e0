"""Shared infrastructure: settings, database, problem responses, i18n, crypto."""
