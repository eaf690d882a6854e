"""Azure's tag/property filters, public in dockyard.assets.filters (Model.list, Image.list and
Webservice.list read them the same way)."""

from __future__ import annotations

import pytest

from dockyard.assets.filters import filters, matches
from dockyard.errors import ValidationError


def test_filter_forms_and_matching() -> None:
    wanted = filters(["stage", ["area", "diabetes"]], "tags")
    assert wanted == [("stage", None), ("area", "diabetes")]
    assert filters({"area": 1}, "tags") == [("area", "1")]
    assert filters("stage", "tags") == [("stage", None)]
    assert filters(None, "tags") == []
    assert matches({"stage": "prod", "area": "diabetes"}, wanted)
    assert not matches({"stage": "prod", "area": "heart"}, wanted)
    assert not matches({"area": "diabetes"}, wanted)
    assert matches({"n": 1}, filters([["n", 1]], "properties"))


def test_a_bad_filter_names_itself_and_shows_the_forms() -> None:
    with pytest.raises(ValidationError, match=r"Invalid properties filter \['a', 'b', 'c'\]") as e:
        filters([["a", "b", "c"]], "properties")
    assert "Model.list(ws, properties=" in (e.value.hint or "")
