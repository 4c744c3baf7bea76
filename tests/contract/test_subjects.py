"""Subjects and stream names come from one place and isolate namespaces."""

import pytest

from papertape.contract.subjects import Subjects


def test_default_namespace_gives_plain_subjects() -> None:
    subjects = Subjects()
    assert subjects.account_event("acc-1", "order_placed") == "acct.acc-1.order_placed"
    assert subjects.stream("ACCOUNTS") == "ACCOUNTS"


def test_namespace_prefixes_subjects_and_streams() -> None:
    subjects = Subjects("t1")
    assert subjects.quote("AAPL") == "t1.md.quote.AAPL"
    assert subjects.stream("MARKET") == "T1_MARKET"
    assert {s.name for s in subjects.streams()} >= {"T1_ACCOUNTS", "T1_EXECUTION"}


@pytest.mark.parametrize("bad", ["a.b", "a b", "*", ">", ""])
def test_subject_tokens_refuse_wildcards_and_dots(bad: str) -> None:
    with pytest.raises(ValueError, match="subject token"):
        Subjects().quote(bad)
