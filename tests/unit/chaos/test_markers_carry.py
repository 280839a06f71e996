"""Carried markers: an answer holds what reached the model; redaction drops them."""

from __future__ import annotations

import json

from hypothesis import given, strategies as st

from chaos.markers import carry, find_carried_ids, find_request_ids, mark, strip_carried

IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)


def test_json_answer_gets_a_carried_field_and_stays_json() -> None:
    answer = carry('{"answer": "ok", "upstream": "a"}', mark("prompt", "r-1"))
    payload = json.loads(answer)
    assert payload["answer"] == "ok" and find_carried_ids(answer) == ("r-1",)
    assert find_request_ids(answer) == ()  # not attributed to r-1 by the per-request check


def test_carried_markers_are_transitive_and_plain_text_answers_get_them_appended() -> None:
    first = carry('{"answer": "x"}', mark("p", "r-1"))
    second = carry("plain", mark(first, "r-2"))
    assert second.startswith("plain ") and find_carried_ids(second) == ("r-2", "r-1")


def test_nothing_carried_leaves_the_answer_alone() -> None:
    assert carry('{"answer": "x"}', "no markers here") == '{"answer": "x"}'


@given(st.lists(IDS, min_size=1, max_size=5, unique=True))
def test_strip_carried_removes_every_carried_marker(ids: list[str]) -> None:
    text = "".join(mark("p", i) for i in ids)
    answer = carry('{"answer": "x"}', text)
    assert set(find_carried_ids(answer)) == set(ids)
    assert find_carried_ids(strip_carried(answer)) == ()
    assert json.loads(strip_carried(answer))["answer"] == "x"
