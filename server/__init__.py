"""hoinghi server: composition root and shared kernel (settings, database, identity)."""

__version__ = "0.1.0"
