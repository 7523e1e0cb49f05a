"""The keyword word-prefilter never changes a verdict: it only skips hopeless regex searches."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from config.rules import When, keyword_pattern
from router.rules.base import Context
from router.rules.keyword import KeywordCondition
from router.types import TicketFacts

WORDS = st.sampled_from(
    [
        "refund",
        "Refund",
        "REFUND",
        "can't",
        "log in",
        "2fa",
        "e-mail",
        "down",
        "ſupport",
        "support",
        "K",
        "invoice",
        "İnvoice",
        "straße",
        "strasse",
        "x_y",
        "charged twice",
    ]
)
TEXT = st.lists(
    st.one_of(WORDS, st.text(alphabet=" \n\t.,!?'-_", max_size=3), st.text(max_size=6)),
    max_size=12,
).map("".join)
KEYWORD = st.lists(WORDS, min_size=1, max_size=3).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(text=TEXT, keywords=st.lists(KEYWORD, min_size=1, max_size=3))
def test_prefiltered_keyword_check_agrees_with_the_regex(text: str, keywords: list[str]) -> None:
    # Given any body text and any keyword list
    when = When.model_validate({"keywords": keywords, "fields": ["body"]})
    facts = TicketFacts(number=1, channel="email", subject="", body=text, sender_email="a@b.c")
    # When the condition is checked (with its prefilter)
    verdict = KeywordCondition().check(when, Context.of(facts))
    # Then it matches exactly when the plain regex finds a keyword
    expected = keyword_pattern(when.keywords or ()).search(text) is not None
    assert (verdict.reason.startswith("keyword ")) is expected
