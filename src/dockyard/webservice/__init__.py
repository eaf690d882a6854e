"""Web services: deployment configurations, the ``Webservice`` classes and their lifecycle.

``webservice/`` was one module in the first design; it is a package so that each target's
user-facing class stays small (config.py, base.py, local.py, deploy.py, records.py, keys.py).
"""
