"""Every model module, imported so ``Base.metadata`` is complete (Alembic, tests)."""

from server import sessions
from server.accounts import models as accounts_models
from server.db import Base
from server.network import models as network_models

__all__ = ["Base", "accounts_models", "network_models", "sessions"]
