"""Turn plain specs into runnable things: ``envs.py`` (virtual environments with uv, cached by
content), ``app_root.py`` (the app root Azure ML lays out), ``dockerfile.py`` and
``docker_builder.py`` (images), ``base_image.py`` (the bootstrap base image), ``wheelhouse.py``
and ``install_errors.py`` (resolving and explaining dependency failures), ``conda.py`` with
``install_plan.py`` and ``pip_lines.py`` (a conda/pip spec as what uv installs), ``runtime.py``
(the server runtime as a wheel) and ``portable.py`` (an environment as exact pins for targets
that install it on other machines).

Nothing here imports the user objects or the CLI: callers pass plain, validated specs
(``specs.py``).
"""
