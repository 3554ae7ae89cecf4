"""The quality gate: the labelled corpus of real collectivité answers (matching_corpus/)."""

from __future__ import annotations

import pytest

from pipeline.adapters.reference import load_reference
from pipeline.core.matching import build_index
from tests.support.matching_corpus.corpus import (
    A_VERIFIER,
    NON,
    Score,
    describe,
    load_answers,
    load_members,
    score,
)

CATEGORIES = {
    "exact",
    "casse_espaces",
    "prefixes",
    "abreviations",
    "fautes",
    "homonymes",
    "sosies",
    "resiliees",
    "interco",
    "outre_mer",
    "corse",
    "non_adherentes",
    "alias",
    "codes",
    "conflits",
    "inconnues",
    "arrondissements",
    "anciennes_regions",
    "anciens_epci",
    "noms_usuels",
    "lieux_dits",
    "formes_longues",
}


@pytest.fixture(scope="module")
def result() -> Score:
    return score(build_index(load_members(), load_reference()), load_answers())


def test_corpus_is_large_and_covers_every_category() -> None:
    """The corpus has at least 400 labelled answers, in every category the issue names."""
    answers = load_answers()
    assert len(answers) >= 400
    assert {a.category for a in answers} == CATEGORIES
    rows = {m.row for m in load_members()}
    for a in answers:
        assert a.expected in (NON, A_VERIFIER) or int(a.expected) in rows, a


def test_no_wrong_match_on_the_corpus(result: Score) -> None:
    """No answer is matched to a member it does not come from (no wrong certificate)."""
    assert not result.wrong_matches, "\n" + describe(result.wrong_matches)


def test_eligibility_is_right_for_at_least_97_percent(result: Score) -> None:
    """At least 97 % of answers get the right outcome (member, non-member or to check)."""
    assert result.accuracy >= 0.97, "\n" + describe(result.mistakes())


def test_clear_member_answers_are_matched_automatically(result: Score) -> None:
    """At least 97 % of answers from a member are matched to it without staff."""
    assert result.recall >= 0.97, "\n" + describe(result.mistakes())
