"""Term normalisation (condition, product and finding names) folds accents and separators; the
ASCII shortcut gives what the Unicode decomposition gives."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from ivig.knowledge.base import normalise_term


def _decomposed(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return normalise_term(plain)  # ASCII by now


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text())
def test_a_term_is_normalised_as_its_decomposition_is(text: str) -> None:
    assert normalise_term(text) == _decomposed(text)


def test_accents_and_separators_are_folded() -> None:
    assert normalise_term("  Guillain-Barré  syndrome ") == "guillain_barre_syndrome"
    assert normalise_term("CIDP (typical)") == "cidp_typical"
