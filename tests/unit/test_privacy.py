"""Personal data, the pure part: identities, tombstones, screening, finding and erasing a person."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.config import load_settings
from pipeline.core.cohort import evaluate
from pipeline.core.errors import ConfigError
from pipeline.core.model import Reason
from pipeline.core.parse import normalize_email
from pipeline.core.people import person_id
from pipeline.core.privacy import (
    covered,
    erasure_plan,
    export_text,
    find_person,
    identity,
    screen_responses,
    tombstone,
)
from pipeline.core.vocabulary import PARIS
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member, settings

SALT = bytes(range(32))
MEMBERS = [MEMBER_HEADERS, member("Ville de Lyon")]
COHORT_HEADER = ["ID", "Nom", "Prénom", "Courriel", "Décision CUF", "Notes CUF", "Suivi"]
REVIEW_HEADER = ["Réf.", "Ligne", "ID", "Personne", "Collectivité (saisie)", "Motif", "Explication"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def form(*rows: list[str]) -> list[list[str]]:
    return [list(FORM_HEADERS), *[list(r) for r in rows]]


def test_identity_is_the_address_person_ids_are_derived_from() -> None:
    """Spaces and casing do not matter; the identity gives the person id the run gives."""
    assert identity(" Chloe@Lyon.FR ") == "chloe@lyon.fr"
    assert person_id(identity(" Chloe@Lyon.FR ")) == person_id("chloe@lyon.fr")
    assert identity("pas-une-adresse") == "pas-une-adresse"  # invalid rows can still be found


@given(st.emails())
def test_identity_agrees_with_the_form_parser_on_valid_addresses(address: str) -> None:
    """For any valid address, as typed with spaces and capitals, identity = the parsed email."""
    typed = f"  {address.upper()} "
    parsed = normalize_email(typed)
    if parsed is not None:
        assert identity(typed) == parsed


def test_a_tombstone_is_a_keyed_hash_that_hides_the_address() -> None:
    """Same address (any casing) same tombstone; another salt another; the address is not in it."""
    mark = tombstone(SALT, "Ana@Lyon.fr")
    assert mark == tombstone(SALT, " ana@lyon.fr ")
    assert mark != tombstone(bytes(32), "ana@lyon.fr") and len(mark) == 64
    assert "ana" not in mark and mark != person_id("ana@lyon.fr")


def test_an_erasure_covers_answers_up_to_it_and_unreadable_ones() -> None:
    """Answers up to the erasure's latest are covered; later ones are new; undated ones covered."""
    until = at("2026-03-10T09:00")
    assert covered(at("2026-03-10T09:00"), until) and covered(None, until)
    assert not covered(at("2026-03-11T09:00"), until)
    assert covered(None, None) and not covered(at("2026-03-11T09:00"), None)


def test_screening_blanks_erased_answers_in_place(tmp_path: Path) -> None:
    """Erased answers become blank rows (others keep their numbers); a later answer is kept."""
    table = form(
        answer("02/03/2026 09:00:00", "ana@lyon.fr", "Bernard", "Ana"),
        answer("03/03/2026 09:00:00", "bruno@lyon.fr", "Morel", "Bruno"),
        answer("bientôt", "ANA@lyon.fr", "Bernard", "Ana"),
        answer("09/04/2026 09:00:00", "ana@lyon.fr", "Bernard", "Ana"),
    )
    erased = {tombstone(SALT, "ana@lyon.fr"): at("2026-03-02T09:00")}
    screened = screen_responses(table, settings(tmp_path), erased, SALT)
    assert screened.erased_rows == 2 and screened.table[1] == [] and screened.table[3] == []
    assert screened.table[2] == table[2] and screened.table[4] == table[4]
    assert len(screened.table) == len(table) and table[1][1] == "ana@lyon.fr"  # input untouched


def test_screening_without_erasure_or_refusal_copies_no_row(tmp_path: Path) -> None:
    """Nothing to screen: the same row objects come back (no row copied on every run)."""
    table = form(answer("02/03/2026 09:00:00", "ana@lyon.fr"))
    screened = screen_responses(table, settings(tmp_path), {}, None)
    assert all(a is b for a, b in zip(screened.table, table, strict=True))
    assert screened.erased_rows == 0 and screened.withdrawn == frozenset()


def test_consent_withdrawn_on_the_latest_answer_covers_the_earlier_ones(tmp_path: Path) -> None:
    """Latest answer without consent: earlier ones read as unconsented; the person is out."""
    config = settings(tmp_path)
    table = form(
        answer("02/03/2026 09:00:00", "ana@lyon.fr", "Bernard", "Ana", phone="06 11 22 33 44"),
        answer("03/03/2026 09:00:00", "bruno@lyon.fr", "Morel", "Bruno"),
        answer("05/03/2026 09:00:00", "Ana@Lyon.fr", "Bernard", "Ana", consent=""),
    )
    screened = screen_responses(table, config, {}, None)
    assert screened.withdrawn == frozenset({person_id("ana@lyon.fr")})
    assert screened.withdrawn_rows == 1 and screened.table[1][-1] == ""
    result = evaluate(screened.table, MEMBERS, None, [], config, at("2026-03-20T10:00"))
    assert [p.email for p in result.people] == ["bruno@lyon.fr"]
    refused = [a for a in result.anomalies if a.reason is Reason.CONSENTEMENT_ABSENT]
    assert sorted(a.row for a in refused) == [2, 4]
    assert all(not a.person and not a.authority and not a.person_id for a in refused)


def test_consent_given_again_later_restores_the_person(tmp_path: Path) -> None:
    """A refusal followed by a consented answer: the latest answer decides, the person is in."""
    table = form(
        answer("02/03/2026 09:00:00", "ana@lyon.fr", consent=""),
        answer("05/03/2026 09:00:00", "ana@lyon.fr"),
    )
    screened = screen_responses(table, settings(tmp_path), {}, None)
    assert screened.withdrawn == frozenset() and screened.withdrawn_rows == 0


def sheets(tmp: Path) -> dict[str, list[list[str]]]:
    ana, jade = person_id("ana@lyon.fr"), person_id("jade@lyon.fr")
    return {
        "Réponses au formulaire 1": form(
            answer("02/03/2026 09:00:00", "ana@lyon.fr", "Bernard", "Ana"),
            answer("03/03/2026 09:00:00", "jana@lyon.fr", "Roux", "Jana"),
            answer("04/03/2026 09:00:00", "jade@lyon.fr", "Bernard", "Ana"),
            answer("bientôt", " ANA@lyon.fr", "Bernard", "Ana"),
            answer("06/03/2026 09:00:00", "ana@lyon.fr", "Bernard", "Ana", comment="x"),
        ),
        "Promotion 2026": [
            COHORT_HEADER,
            [jade, "Bernard", "Ana", "jade@lyon.fr", "", "cf. ana@lyon.fr", ""],
            [ana, "Bernard", "Ana", "ana@lyon.fr", "Refusé", "appelée", "suivi Ana"],
            [person_id("jana@lyon.fr"), "Roux", "Jana", "jana@lyon.fr", "", "", ""],
        ],
        "À vérifier": [
            REVIEW_HEADER,
            [f"doublon_probable:2:{ana}", "2", ana, "Ana Bernard", "Ville de Lyon", "d", "x"],
            [
                f"doublon_probable:4:{jade}",
                "4",
                jade,
                "Ana Bernard",
                "Ville de Lyon",
                "d",
                f"Même nom que {ana}",
            ],
            ["horodateur_invalide:5:", "5", "", "Ana Bernard", "Ville de Lyon", "h", "x"],
        ],  # fmt: skip
        "Journal": [["Début", "Lignes lues"], ["20/03/2026 10:00", "5"]],
    }


def test_find_person_gathers_rows_by_address_id_and_source_row(tmp_path: Path) -> None:
    """Answers by address (any casing), cohort row by ID, review rows by ID or row; no jana."""
    found = find_person(sheets(tmp_path), settings(tmp_path), "Ana@Lyon.fr")
    assert [r.row for r in found.answers] == [2, 5, 6]
    assert [r.row for r in found.cohort] == [3] and found.cohort[0].get("Suivi") == "suivi Ana"
    assert [r.row for r in found.review] == [2, 4]
    assert found.answers_until == at("2026-03-06T09:00") and found.names == ("Ana Bernard",)
    exact = {(m.sheet, m.row, m.header) for m in found.mentions if m.exact}
    assert exact == {("Promotion 2026", 2, "Notes CUF"), ("À vérifier", 3, "Explication")}
    same_name = {(m.sheet, m.row) for m in found.mentions if not m.exact}
    assert ("Réponses au formulaire 1", 4) in same_name and ("Promotion 2026", 2) in same_name
    assert not any(m.value == "jana@lyon.fr" for m in found.mentions)


def test_erasure_plan_clears_whole_rows_and_exact_mentions_only(tmp_path: Path) -> None:
    """Cohort row (staff cells too) and review rows cleared whole; jade's name stays; source kept."""
    config = settings(tmp_path)
    found = find_person(sheets(tmp_path), config, "ana@lyon.fr")
    plan = {w.sheet: w for w in erasure_plan(found, config, include_source=False).sheets}
    assert set(plan) == {"Promotion 2026", "À vérifier"}
    cohort = plan["Promotion 2026"]
    assert {(c.row, c.col) for c in cohort.cells if c.row == 3} == {(3, n) for n in range(1, 8)}
    assert {(c.row, c.col) for c in cohort.cells if c.row == 2} == {(2, 6)}  # the note only
    assert all(c.value == "" for c in cohort.cells)
    assert cohort.key_col == 1 and dict(cohort.expected_keys) == {
        2: person_id("jade@lyon.fr"), 3: person_id("ana@lyon.fr"),
    }  # fmt: skip
    assert {c.row for c in plan["À vérifier"].cells} == {2, 3, 4}


def test_erasure_plan_with_source_clears_answers_in_place(tmp_path: Path) -> None:
    """--include-source: every cell of their answers, keyed by the address read; jade untouched."""
    config = settings(tmp_path)
    found = find_person(sheets(tmp_path), config, "ana@lyon.fr")
    plan = {w.sheet: w for w in erasure_plan(found, config, include_source=True).sheets}
    source = plan["Réponses au formulaire 1"]
    assert {c.row for c in source.cells} == {2, 5, 6}
    assert len(source.cells) == 3 * len(FORM_HEADERS) and source.key_col == 2
    assert dict(source.expected_keys)[5] == " ANA@lyon.fr"


def test_export_text_names_every_section_in_french(tmp_path: Path) -> None:
    """The text export lists answers with their values, says « Rien. » for an empty section."""
    document = {
        "person": {"email": "ana@lyon.fr", "id": "DT-X"},
        "programme": "Diplomates des territoires",
        "controller": "Cités Unies France",
        "generated_at": "2026-05-05T08:00:00+00:00",
        "sources": dict.fromkeys(
            ("form_answers", "cohort_rows", "review_rows", "messages", "outbox_files"), "ici"
        ),
        "form_answers": [{"row": 2, "values": {"Nom": "Bernard", "Téléphone": ""}}],
        "cohort_rows": [
            {
                "row": 2,
                "values": {
                    "Première réponse": "46083.41950231481",
                    "Dernière réponse": "2026-03-08T10:51:00",
                },
            },
        ],  # fmt: skip
        "review_rows": [],
        "messages": [
            {
                "template": "accuse_reception",
                "cohort": "Promotion 2026",
                "state": "sent",
                "created_at": "2026-03-20T09:00:00+00:00",
                "sent_at": "2026-03-20T09:00:00+00:00",
                "updated_at": "2026-03-20T09:00:00+00:00",
                "attempts": 1,
                "server_reply": None,
                "body_kept": False,
            },
        ],  # fmt: skip
        "outbox_files": [],
        "mentions": [],
        "erasure": None,
        "notes": ["Le Journal ne contient que des nombres."],
    }
    text = export_text(document)
    assert "Données détenues sur ana@lyon.fr" in text and "05/05/2026 à 10:00" in text
    assert "Ligne 2 :" in text and "Nom : Bernard" in text and "Téléphone : (vide)" in text
    # date-time cells, read back as a serial (Google) or ISO text (.xlsx), shown as French dates
    assert "Première réponse : 02/03/2026 10:04:05" in text
    assert "Dernière réponse : 08/03/2026 10:51:00" in text
    assert "« accuse_reception » (Promotion 2026) : envoyé" in text
    assert "contenu effacé (durée de conservation écoulée)" in text


def test_privacy_config_section_is_validated(tmp_path: Path) -> None:
    """[privacy] retention_days is optional, a whole number of days, at least 1."""
    base = (Path(__file__).parents[2] / "config" / "demo.toml").read_text(encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(base + "\n[privacy]\nretention_days = 90\n", encoding="utf-8")
    assert load_settings(path).privacy.retention_days == 90
    path.write_text(base + "\n[privacy]\nretention_days = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="privacy.retention_days"):
        load_settings(path)
    path.write_text(base, encoding="utf-8")
    assert load_settings(path).privacy.retention_days is None


def test_the_member_list_is_reported_but_never_cleared(tmp_path: Path) -> None:
    """An address in the member list (staff's, read only) is found; no erasure writes there."""
    config = settings(tmp_path)
    tables = sheets(tmp_path)
    tables["Adhérents"] = [[*MEMBER_HEADERS, "Contact"], [*member("Ville de Lyon"), "ana@lyon.fr"]]
    found = find_person(tables, config, "ana@lyon.fr")
    assert any(m.sheet == "Adhérents" and m.exact and m.row == 2 for m in found.mentions)
    plan = erasure_plan(found, config, include_source=True)
    assert "Adhérents" not in {w.sheet for w in plan.sheets}
