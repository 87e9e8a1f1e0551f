"""The composition root: the one place in server/ that reads the settings to pick an adapter
for each port (an import-linter contract keeps adapters out of the rest of server/).

factories.py    one factory per port: the embedded adapter by default, the real one when its
                URL is set; each registers what it opens in the shutdown list (closers.py)
services.py     the domain services and the background workers built on those ports
application.py  the gRPC server around them, started and stopped as one Application
"""

from server.composition.application import Application, build_application
from server.composition.factories import SchemaOutOfDateError, migrate_database

__all__ = ["Application", "SchemaOutOfDateError", "build_application", "migrate_database"]
