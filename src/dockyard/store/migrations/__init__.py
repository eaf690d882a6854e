"""Alembic migrations of the workspace metadata, run programmatically when a workspace opens.

``HEAD`` names the newest revision; ``store.db`` compares it with the database's revision to skip
Alembic entirely on the common path (the schema is current). A test checks that ``HEAD`` matches
the newest file under ``versions/``. To change the schema: edit ``store/schema.py``, add a file
``versions/NNNN_what.py`` whose ``down_revision`` is the previous head, and bump ``HEAD``.
"""

HEAD = "0002"
