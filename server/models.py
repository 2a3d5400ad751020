"""Every model module, imported so ``Base.metadata`` is complete (Alembic, tests)."""

from agenda import minutes_models
from agenda import models as agenda_models
from rooms import models as rooms_models
from server import audit, sessions
from server.accounts import models as accounts_models
from server.db import Base
from server.meetings import models as meetings_models
from server.network import health_models
from server.network import models as network_models
from server.opinions import models as opinions_models

__all__ = [
    "Base",
    "accounts_models",
    "agenda_models",
    "audit",
    "health_models",
    "meetings_models",
    "minutes_models",
    "network_models",
    "opinions_models",
    "rooms_models",
    "sessions",
]
