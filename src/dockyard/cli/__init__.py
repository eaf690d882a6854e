"""The ``dockyard`` command: a thin skin over the SDK (one module per noun)."""
