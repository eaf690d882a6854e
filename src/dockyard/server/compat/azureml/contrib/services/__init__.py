"""dockyard stand-in package (see dockyard.server.compat); extends its path like the real one."""

__path__ = __import__("pkgutil").extend_path(__path__, __name__)
