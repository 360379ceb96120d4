"""The knowledge base: sourced data files, their schema, and one loader.

``load_knowledge()`` returns the :class:`KnowledgeBase`. Importing this package is cheap: the
schema (pydantic) and the YAML reader are imported only when the files must be validated.
"""

from ivig.knowledge.base import KnowledgeBase
from ivig.knowledge.loader import load_knowledge

__all__ = ["KnowledgeBase", "load_knowledge"]
