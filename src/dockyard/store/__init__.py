"""The workspace's storage: the only place that knows its SQL and its folders.

* ``db.py``: the metadata database (SQLite or PostgreSQL): engine, sessions, locks, migrations;
  ``schema.py``: every table.
* One module per kind of row, named after its table, taking plain values and returning plain
  records: ``models.py`` (and its files), ``environments.py``, ``images.py``, ``services.py``
  (and their history), ``computes.py`` (compute targets: Ray clusters created or attached).
* ``versions.py``: the next version number of a name under the store's lock, retried on a
  duplicate key; models, environments and images all number their versions through it.
* ``layout.py``: the workspace's folders, the index of named workspaces, project config lookup;
  ``workspace_storage.py`` opens a workspace's folder, database and blobs by path.
* ``blobs.py``/``blob_io.py``: content-addressed files; ``model_files.py``: a model's files in
  and out of the blobs; ``secrets.py``: the key vault's owner-only files.

Nothing here imports the user objects (``dockyard.workspace``, ``dockyard.assets``,
``dockyard.webservice``) or the CLI.
"""
