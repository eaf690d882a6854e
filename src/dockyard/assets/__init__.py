"""User objects for what a workspace holds: ``Model`` (model.py), ``Environment`` and
``CondaDependencies`` (environment.py, conda.py), ``InferenceConfig`` (inference.py) and ``Image``
(image.py), with Azure ML v1's names. They validate input, turn themselves into the plain specs of
``dockyard.builders.specs`` and call the operations; the modules named ``_x.py`` are their own
pieces, never imported from outside this package."""
