"""SMS and email pushes: a transactional outbox delivered by workers (see service.py)."""
