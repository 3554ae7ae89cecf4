"""Match what a person typed in "Collectivité" against the member list.

The one entry point is `match_authority(index, authority, kind, department)`; `build_index` is
called once per run. This first matcher only trusts exact folded names and staff aliases
(`Autres noms`); anything else is no match, and several candidates are ambiguous.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.core.geo import department_name
from pipeline.core.text import fold
from pipeline.model import AuthorityKind, Match, MatchOutcome, Member

_PUNCT = re.compile(r"[^a-z0-9 ]+")


def match_key(name: str) -> str:
    """The folded form two names must share to be the same collectivité for this matcher."""
    return " ".join(_PUNCT.sub(" ", fold(name)).split())


@dataclass(frozen=True)
class MemberIndex:
    by_name: dict[str, tuple[Member, ...]] = field(default_factory=dict)
    by_alias: dict[str, tuple[Member, ...]] = field(default_factory=dict)


def build_index(members: Sequence[Member]) -> MemberIndex:
    by_name: dict[str, list[Member]] = defaultdict(list)
    by_alias: dict[str, list[Member]] = defaultdict(list)
    for member in members:
        if not member.active:
            continue
        by_name[match_key(member.name)].append(member)
        for alias in member.aliases:
            if match_key(alias):
                by_alias[match_key(alias)].append(member)
    return MemberIndex(
        by_name={k: tuple(v) for k, v in by_name.items()},
        by_alias={k: tuple(v) for k, v in by_alias.items()},
    )


def _describe(member: Member) -> str:
    where = f" ({member.department})" if member.department else ""
    return f"{member.name}{where}"


def _narrow(
    candidates: tuple[Member, ...], kind: AuthorityKind | None, department: str | None
) -> tuple[Member, ...]:
    kept = candidates
    if kind is not None:
        same = tuple(m for m in kept if m.kind is None or m.kind == kind)
        kept = same or kept
    if department is not None:
        same = tuple(m for m in kept if m.department is None or m.department == department)
        kept = same
    return kept


def match_authority(
    index: MemberIndex, authority: str, kind: AuthorityKind | None, department: str | None
) -> Match:
    """Decide which active member (if any) the typed collectivité is, with the evidence."""
    key = match_key(authority)
    for method, table in (("nom", index.by_name), ("alias", index.by_alias)):
        candidates = table.get(key, ())
        if not candidates:
            continue
        kept = _narrow(candidates, kind, department)
        if len(kept) == 1:
            return Match(outcome=MatchOutcome.MATCHED, member=kept[0], method=method)
        if not kept:
            member = candidates[0]
            return Match(
                outcome=MatchOutcome.AMBIGUOUS,
                candidates=tuple(_describe(m) for m in candidates),
                explanation=(
                    f"« {authority} » correspond à l'adhérente {_describe(member)}, mais le "
                    f"département indiqué ({department} {department_name(department)}) diffère."
                ),
            )
        names = " ou ".join(_describe(m) for m in kept)
        return Match(
            outcome=MatchOutcome.AMBIGUOUS,
            candidates=tuple(_describe(m) for m in kept),
            explanation=f"« {authority} » peut désigner plusieurs adhérentes : {names}.",
        )
    return Match(outcome=MatchOutcome.NONE)
