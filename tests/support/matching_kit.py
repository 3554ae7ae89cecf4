"""Shared words of the matcher's test modules: short names for the types and outcomes their case
tables use, and the member line a match points to."""

from __future__ import annotations

from pipeline.core.model import AuthorityKind, Match, MatchOutcome

C = AuthorityKind.COMMUNE
I = AuthorityKind.INTERCOMMUNALITE  # noqa: E741
D = AuthorityKind.DEPARTEMENT
R = AuthorityKind.REGION
A = AuthorityKind.AUTRE
MATCHED, NONE, AMBIGUOUS = MatchOutcome.MATCHED, MatchOutcome.NONE, MatchOutcome.AMBIGUOUS


def row(match: Match) -> int | None:
    """The `Adhérents` line of the member matched, or None."""
    return match.member.row if match.member else None
