"""Turn plain specs into runnable things: environments, app-root layouts, Dockerfiles, images.

Nothing here imports ``dockyard.assets`` or ``dockyard.webservice``: callers pass plain,
validated specs (see ``specs.py``).
"""
