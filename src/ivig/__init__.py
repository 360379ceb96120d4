"""ivig: decision support and stewardship for immunoglobulin therapy in neurology.

The package is layered (see ``GUIDE``-style notes in CONTRIBUTING.md):

* :mod:`ivig.knowledge` - versioned, sourced data files, their schema and one loader;
* :mod:`ivig.core` - pure computation over the knowledge base, no I/O;
* adapters (:mod:`ivig.cli` and later the API, web application and registry).
"""

__version__ = "0.1.0"
ENGINE_VERSION = __version__

__all__ = ["ENGINE_VERSION", "__version__"]
