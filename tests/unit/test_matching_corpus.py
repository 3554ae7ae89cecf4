"""The labelled corpus of real collectivité answers (matching_corpus/), asserted one by one.

Each answer is its own test case (id: CSV line and category), asserting the outcome, the member
line and the method shown in `Correspondance`. The aggregate figures (precision, recall, per
category) are in `make bench`.
"""

from __future__ import annotations

import pytest

from pipeline.adapters.reference import load_reference
from pipeline.core.matching import build_index
from tests.support.matching_corpus.corpus import (
    A_VERIFIER,
    NON,
    Answer,
    Result,
    Score,
    describe,
    load_answers,
    load_explanations,
    load_members,
    score,
    shown,
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

# Answers the matcher gets wrong today, by CSV line: the label stays the truth and the case is
# an expected failure (strict: it must be fixed here the day the matcher gets it right).
KNOWN_WRONG: dict[int, str] = {}

ANSWERS = load_answers()


@pytest.fixture(scope="module")
def result() -> Score:
    return score(build_index(load_members(), load_reference()), ANSWERS)


@pytest.fixture(scope="module")
def by_line(result: Score) -> dict[int, Result]:
    return {r.answer.line: r for r in result.results}


def _case(answer: Answer) -> object:
    marks = []
    if answer.line in KNOWN_WRONG:
        marks.append(pytest.mark.xfail(reason=KNOWN_WRONG[answer.line], strict=True))
    return pytest.param(answer, id=f"{answer.line}-{answer.category}", marks=marks)


def _outcome(expected: str, method: str) -> str:
    if expected == NON:
        return "Non adhérente"
    if expected == A_VERIFIER:
        return "À vérifier"
    return f"member line {expected} via {method!r}"


def test_corpus_is_large_and_covers_every_category() -> None:
    """The corpus has at least 400 labelled answers, in every category the issue names, each
    with a member line and method or an empty method."""
    assert len(ANSWERS) >= 400
    assert {a.category for a in ANSWERS} == CATEGORIES
    rows = {m.row for m in load_members()}
    for a in ANSWERS:
        if a.expected in (NON, A_VERIFIER):
            assert a.method == "", a
        else:
            assert int(a.expected) in rows and a.method, a
    assert set(KNOWN_WRONG) <= {a.line for a in ANSWERS}


@pytest.mark.parametrize("answer", [_case(a) for a in ANSWERS])
def test_answer_gets_its_labelled_outcome(answer: Answer, by_line: dict[int, Result]) -> None:
    """The answer gets its labelled outcome, member line and `Correspondance` method."""
    r = by_line[answer.line]
    assert (r.got, r.method) == (answer.expected, answer.method), (
        f"line {answer.line} {answer.authority!r} "
        f"({answer.kind.value if answer.kind else '-'}, {answer.department or '-'}): "
        f"expected {_outcome(answer.expected, answer.method)}, "
        f"got {_outcome(r.got, r.method)} ({r.match.explanation or '-'})"
    )


def test_every_answer_on_a_freshly_built_index() -> None:
    """Every answer not listed as a known miss gets its labelled outcome and method, the member
    list being indexed inside this test (so one test sees any change in how members are read,
    which the shared fixture hides from per-test tools such as mutation testing)."""
    fresh = score(build_index(load_members(), load_reference()), ANSWERS)
    changed = [
        r
        for r in fresh.results
        if r.answer.line not in KNOWN_WRONG
        and (r.got, r.method) != (r.answer.expected, r.answer.method)
    ]
    assert not changed, "\n" + "\n".join(
        f"line {r.answer.line} {r.answer.authority!r}: expected "
        f"{_outcome(r.answer.expected, r.answer.method)}, got {_outcome(r.got, r.method)}"
        for r in changed
    )


def test_no_wrong_match_on_the_corpus(result: Score) -> None:
    """No answer, not even a known miss, is matched to a member it does not come from."""
    assert not result.wrong_matches, "\n" + describe(result.wrong_matches)


def test_every_explanation_and_candidate_list_as_reviewed() -> None:
    """The candidates and the French explanation staff read in `Correspondance` for each corpus
    answer are the ones reviewed in matching_corpus/explanations.csv (index built in the test,
    for mutation testing); after a deliberate change of wording, review the diff of that file
    rewritten by `python -m tests.support.matching_corpus.corpus`."""
    fresh = score(build_index(load_members(), load_reference()), ANSWERS)
    reviewed = load_explanations()
    assert set(reviewed) == {a.line for a in ANSWERS}
    changed = [
        f"line {r.answer.line} {r.answer.authority!r}:\n  reviewed {reviewed[r.answer.line]}"
        f"\n  got      {shown(r.match)}"
        for r in fresh.results
        if reviewed[r.answer.line] != shown(r.match)
    ]
    assert not changed, "\n" + "\n".join(changed)
