"""Imports every domain's models so the metadata is complete (Alembic, tests)."""

from app.agencies import models as agencies
from app.cases import models as cases
from app.contact import models as contact
from app.core.db import Base
from app.entitlements import models as entitlements
from app.notifications import models as notifications
from app.obligations import models as obligations
from app.outbound import models as outbound
from app.oversight import models as oversight
from app.portal import models as portal
from app.staff import models as staff

__all__ = ["Base", "agencies", "cases", "contact", "entitlements", "notifications",
           "obligations", "outbound", "oversight", "portal", "staff"]
