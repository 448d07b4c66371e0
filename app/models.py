"""Imports every domain's models so the metadata is complete (Alembic, tests)."""

from app.agencies import models as agencies
from app.cases import models as cases
from app.core.db import Base

__all__ = ["Base", "agencies", "cases"]
