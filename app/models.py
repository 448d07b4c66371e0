"""Imports every domain's models so the metadata is complete (Alembic, tests)."""

from app.agencies import models as agencies
from app.cases import models as cases
from app.core.db import Base
from app.notifications import models as notifications
from app.obligations import models as obligations
from app.portal import models as portal

__all__ = ["Base", "agencies", "cases", "notifications", "obligations", "portal"]
