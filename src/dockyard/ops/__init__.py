"""Operations: what dockyard does with a service, for any target, recording each step in the store.

The user objects (``Model.deploy``, ``Webservice``) translate themselves into the plain specs of
:mod:`dockyard.ops.specs` and call ONE function of :mod:`dockyard.ops.services` (deploy, update,
reload, start, stop, delete). That flow prepares what the target runs (:mod:`.release`: a virtual
environment and an app root, or an image), hands the target a :class:`~dockyard.targets.base.
ServiceSpec`, and records every step and state in the workspace store. It never asks which engine
it talks to: the target's class says what it needs (:data:`~dockyard.targets.base.Target`).

Beside it: :mod:`.images` (find or build an image by content), :mod:`.computes` (Ray clusters:
create, attach, resolve the one a cluster service goes to), :mod:`.keys`, :mod:`.models`.

Nothing here imports the user objects or the CLI.
"""
