"""Stand-ins for the ``azureml.*`` modules a score.py imports, inside a deployment.

The server appends this folder to ``sys.path`` at start-up, after site-packages, so real Azure
packages win wherever they are installed. In the environments dockyard builds (a local service's
venv, an image's ``/opt/venv``) the runtime's ``.pth`` file appends it too, so any ``python``
there finds them: the seed's ``python -c "from azureml.core.model import Model; ..."`` debugging
step. dockyard's own interpreter is left alone. What is here:

* ``azureml.core.model.Model.get_model_path`` (and ``azureml.core.Model``): resolves models in a
  deployment's ``azureml-models/<name>/<version>`` layout as azureml-core does.
* ``azureml.contrib.services.aml_request``: ``rawhttp`` and ``AMLRequest``.
* ``azureml.contrib.services.aml_response``: ``AMLResponse``.
* ``azureml.exceptions``: ``WebserviceException``, ``ModelNotFoundException``, ...

Every ``azureml`` package here extends its ``__path__`` (pkgutil style, as the real ones do), so
the real and stand-in parts can be mixed: real ``azureml.core`` with stand-in ``azureml.contrib``.
"""

import os

SHIM_DIR = os.path.dirname(os.path.abspath(__file__))
