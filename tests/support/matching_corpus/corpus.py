"""Load the labelled corpus (see README.md beside this file) and score the matcher on it.

Shared by `tests/unit/test_matching_corpus.py` (the quality gate) and `bench/matching.py` (the
figures).
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.geo import department_code
from pipeline.core.matching import MemberIndex, match_authority
from pipeline.core.model import AuthorityKind, Match, MatchOutcome, Member
from pipeline.core.text import fold

HERE = Path(__file__).parent
NON = "non"
A_VERIFIER = "a_verifier"


@dataclass(frozen=True)
class Answer:
    """One labelled answer: what a person typed, and the right outcome."""

    line: int
    category: str
    authority: str
    kind: AuthorityKind | None
    department: str | None
    expected: str  # a member's line number in members.csv, "non" or "a_verifier"
    note: str = ""
    method: str = ""  # the expected `Correspondance` ("nom", "approché 92 %"...), "" unless matched


def _rows(name: str) -> list[dict[str, str]]:
    with (HERE / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="|"))


def kind_of(text: str) -> AuthorityKind | None:
    folded = fold(text)
    for kind in AuthorityKind:
        if fold(kind.value) == folded:
            return kind
    return None


def load_members() -> list[Member]:
    """The member list, as the pipeline reads the `Adhérents` sheet."""
    members = []
    for row in _rows("members.csv"):
        code = row["departement"].strip()
        members.append(
            Member(
                row=int(row["ligne"]),
                name=row["collectivite"],
                kind=kind_of(row["type"]),
                department=department_code(code) if code else None,
                siren=row["siren"].strip(),
                aliases=tuple(a.strip() for a in row["autres_noms"].split(";") if a.strip()),
                active=fold(row["adhesion"]) == "active",
            )
        )
    return members


def load_answers() -> list[Answer]:
    """Every labelled answer, département normalized as the form parser does."""
    answers = []
    for line, row in enumerate(_rows("answers.csv"), start=2):
        code = row["departement"].strip()
        answers.append(
            Answer(
                line=line,
                category=row["categorie"].strip(),
                authority=row["collectivite"],
                kind=kind_of(row["type"]),
                department=department_code(code) if code else None,
                expected=row["attendu"].strip(),
                note=row["note"].strip(),
                method=row["methode"].strip(),
            )
        )
    return answers


def verdict(match: Match) -> str:
    """The outcome in the corpus' terms: a member line, "non" or "a_verifier"."""
    if match.outcome is MatchOutcome.MATCHED and match.member is not None:
        return str(match.member.row)
    return NON if match.outcome is MatchOutcome.NONE else A_VERIFIER


@dataclass(frozen=True)
class Result:
    answer: Answer
    match: Match

    @property
    def got(self) -> str:
        return verdict(self.match)

    @property
    def right(self) -> bool:
        return self.got == self.answer.expected

    @property
    def method(self) -> str:
        """The `Correspondance` shown to staff ("" when nothing is matched)."""
        return self.match.method

    @property
    def exact(self) -> bool:
        """Right outcome, and by the expected method."""
        return self.right and self.method == self.answer.method

    @property
    def wrong_match(self) -> bool:
        """A member granted where the truth is another member, no member, or doubt."""
        return self.match.outcome is MatchOutcome.MATCHED and not self.right


@dataclass
class Score:
    results: list[Result] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def right(self) -> int:
        return sum(r.right for r in self.results)

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 1.0

    @property
    def wrong_matches(self) -> list[Result]:
        return [r for r in self.results if r.wrong_match]

    @property
    def matched(self) -> int:
        return sum(r.match.outcome is MatchOutcome.MATCHED for r in self.results)

    @property
    def member_expected(self) -> int:
        return sum(r.answer.expected not in (NON, A_VERIFIER) for r in self.results)

    @property
    def precision(self) -> float:
        """Share of automatic matches that are right (a wrong one is a wrong certificate)."""
        return (self.matched - len(self.wrong_matches)) / self.matched if self.matched else 1.0

    @property
    def recall(self) -> float:
        """Share of answers from a member that are matched to it automatically."""
        found = sum(r.right and r.answer.expected not in (NON, A_VERIFIER) for r in self.results)
        return found / self.member_expected if self.member_expected else 1.0

    @property
    def to_check(self) -> float:
        """Share of all answers sent to `À vérifier`."""
        doubtful = sum(r.match.outcome is MatchOutcome.AMBIGUOUS for r in self.results)
        return doubtful / self.total if self.total else 0.0

    def by_category(self) -> dict[str, Counter[str]]:
        table: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for r in self.results:
            row = table[r.answer.category]
            row["total"] += 1
            row["justes"] += r.right
            row["adhérente à tort"] += r.wrong_match
            row["à vérifier"] += r.match.outcome is MatchOutcome.AMBIGUOUS
        return dict(table)

    def mistakes(self) -> list[Result]:
        return [r for r in self.results if not r.right]


def score(index: MemberIndex, answers: Iterable[Answer]) -> Score:
    """Match every answer and compare with its label."""
    return Score(
        [Result(a, match_authority(index, a.authority, a.kind, a.department)) for a in answers]
    )


def describe(results: Sequence[Result]) -> str:
    """One line per result, for failure messages."""
    return "\n".join(
        f"  line {r.answer.line} [{r.answer.category}] {r.answer.authority!r} "
        f"({r.answer.kind.value if r.answer.kind else '-'}, {r.answer.department or '-'}): "
        f"expected {r.answer.expected}, got {r.got} ({r.match.method or r.match.explanation})"
        for r in results
    )


EXPLANATIONS = "explanations.csv"


def shown(match: Match) -> tuple[str, str]:
    """What staff read of a decision besides its outcome: candidates (" / "), explanation."""
    return " / ".join(match.candidates), match.explanation


def load_explanations() -> dict[int, tuple[str, str]]:
    """The reviewed candidates and explanation of each answer, by its line in answers.csv."""
    return {int(r["ligne"]): (r["candidats"], r["explication"]) for r in _rows(EXPLANATIONS)}


def write_explanations(results: Iterable[Result]) -> None:
    """Rewrite explanations.csv from a scoring run (after reviewing a change of wording)."""
    with (HERE / EXPLANATIONS).open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, delimiter="|", lineterminator="\n")
        out.writerow(["ligne", "candidats", "explication"])
        out.writerows([r.answer.line, *shown(r.match)] for r in results)


if __name__ == "__main__":  # python -m tests.support.matching_corpus.corpus
    from pipeline.adapters.reference import load_reference
    from pipeline.core.matching import build_index

    write_explanations(score(build_index(load_members(), load_reference()), load_answers()).results)
