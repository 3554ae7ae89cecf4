"""The synthetic data generator: deterministic, shaped like the SPEC's sheets, realistic defects."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email
from openpyxl import load_workbook

from pipeline.core.geo import DEPARTMENTS
from pipeline.core.model import AuthorityKind, Role
from pipeline.core.text import clean, fold
from tools import demodata

# The SPEC's headers, written out here so the test pins the contract, not the module's constants.
SPEC_RESPONSE_HEADERS = [
    "Horodateur",
    "Adresse e-mail",
    "Nom",
    "Prénom",
    "Collectivité",
    "Type de collectivité",
    "Département",
    "Fonction",
    "Premier mandat",
    "Délégation aux relations internationales",
    "Téléphone",
    "Commentaire",
    "Consentement",
]
SPEC_MEMBER_HEADERS = ["Collectivité", "Type", "Département", "SIREN", "Autres noms", "Adhésion"]
COL = {name: i for i, name in enumerate(SPEC_RESPONSE_HEADERS)}
HOMONYMS = {"Saint-Denis", "Saint-Louis", "Valence"}  # deliberate: same name, other département


@pytest.fixture(scope="module")
def default() -> demodata.Dataset:
    return demodata.build()


@pytest.fixture(scope="module")
def large() -> demodata.Dataset:
    return demodata.build(answers=2_000, members=1_000, seed=7)


def _email_ok(address: str) -> bool:
    try:
        validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _luhn(digits: str) -> bool:
    doubled = [int(c) * (2 if i % 2 else 1) for i, c in enumerate(reversed(digits))]
    return sum(d - 9 if d > 9 else d for d in doubled) % 10 == 0


def test_same_seed_gives_same_data() -> None:
    """Two calls with the same seed return identical sheets; another seed gives other data."""
    assert demodata.generate(120, 60, seed=5) == demodata.generate(120, 60, seed=5)
    assert demodata.generate(120, 60, seed=5) != demodata.generate(120, 60, seed=6)


def test_same_seed_across_processes() -> None:
    """The data does not depend on Python's per-process string hashing (PYTHONHASHSEED)."""
    code = (
        "import hashlib; from tools.demodata import generate; "
        "print(hashlib.sha256(repr(generate(400, 300, seed=3)).encode()).hexdigest())"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    expected = hashlib.sha256(repr(demodata.generate(400, 300, seed=3)).encode()).hexdigest()
    assert digests == {expected}


def test_headers_are_exactly_the_spec_headers() -> None:
    """Row 1 of each sheet holds exactly the SPEC's headers, in the form's order."""
    responses, members = demodata.generate(10, 5)
    assert responses[0] == SPEC_RESPONSE_HEADERS
    assert members[0] == SPEC_MEMBER_HEADERS
    assert demodata.RESPONSES_SHEET == "Réponses au formulaire 1"
    assert demodata.MEMBERS_SHEET == "Adhérents"


@pytest.mark.parametrize(
    ("answers", "members"), [(0, 1), (1, 1), (7, 3), (60, 20), (300, 150), (1_500, 1_000)]
)
def test_counts_are_as_asked(answers: int, members: int) -> None:
    """`generate(answers, members)` returns that many data rows after each header row."""
    responses, member_rows = demodata.generate(answers, members)
    assert len(responses) == answers + 1
    assert len(member_rows) == members + 1
    assert all(len(row) == len(SPEC_RESPONSE_HEADERS) for row in responses)
    assert all(len(row) == len(SPEC_MEMBER_HEADERS) for row in member_rows)


def test_member_names_are_unique(default: demodata.Dataset, large: demodata.Dataset) -> None:
    """Each member is unique by (name, département); only the real homonyms share a bare name."""
    for data in (default, large):
        keys = [(fold(str(row[0])), row[2]) for row in data.members[1:]]
        assert len(keys) == len(set(keys))
        repeated = {n for n, c in Counter(str(row[0]) for row in data.members[1:]).items() if c > 1}
        assert repeated <= HOMONYMS
    assert len(large.member_cases["synthetic"]) == 1_000 - len(demodata.MEMBER_CANDIDATES)


def test_member_departments_are_valid_codes(
    default: demodata.Dataset, large: demodata.Dataset
) -> None:
    """Every member's Département is a code of `pipeline.core.geo.DEPARTMENTS`, as text."""
    for data in (default, large):
        assert {row[2] for row in data.members[1:]} <= set(DEPARTMENTS)
    bundled = demodata.MEMBER_CANDIDATES + demodata.NON_MEMBERS
    assert {a.department for a in bundled} <= set(DEPARTMENTS)


def test_bundled_names_are_many_real_and_disjoint() -> None:
    """At least 250 real member candidates; the non-member list shares no name with them."""
    assert len(demodata.MEMBER_CANDIDATES) >= 250
    candidates = {fold(a.name) for a in demodata.MEMBER_CANDIDATES}
    assert not candidates & {fold(a.name) for a in demodata.NON_MEMBERS}
    pairs = [(a.name, a.department) for a in demodata.MEMBER_CANDIDATES + demodata.NON_MEMBERS]
    assert len(pairs) == len(set(pairs))


def test_members_include_the_hard_cases(default: demodata.Dataset) -> None:
    """The default member list has homonyms, city + intercommunalité, Corsica and overseas."""
    present = {(row[0], row[2]) for row in default.members[1:]}
    for expected in (
        ("Saint-Denis", "93"),
        ("Saint-Denis", "974"),
        ("Valence", "26"),
        ("Valence", "82"),
        ("Montreuil", "93"),
        ("Montreuil-sur-Mer", "62"),
        ("Lyon", "69"),
        ("Métropole de Lyon", "69"),
        ("Rennes", "35"),
        ("Rennes Métropole", "35"),
        ("Ajaccio", "2A"),
        ("Bastia", "2B"),
        ("Département du Finistère", "29"),
        ("Région Bretagne", "35"),
    ):
        assert expected in present
    assert {row[2] for row in default.members[1:]} >= {"971", "972", "973", "974", "976"}


def test_member_columns_hold_allowed_values(
    default: demodata.Dataset, large: demodata.Dataset
) -> None:
    """Type is a kind, Adhésion Active/Résiliée, SIREN empty or 9 digits with a valid key."""
    kinds = {k.value for k in AuthorityKind}
    for data in (default, large):
        rows = data.members[1:]
        assert {row[1] for row in rows} <= kinds
        assert {row[5] for row in rows} == {"Active", "Résiliée"}
        sirens = [str(row[3]).replace(" ", "") for row in rows if row[3] != ""]
        assert sirens and all(re.fullmatch(r"\d{9}", s) for s in sirens)
        assert all(_luhn(s) for s in sirens)
        assert len(sirens) == len(set(sirens)) < len(rows)
        aliases = [str(row[4]) for row in rows if row[4]]
        assert any(";" in a for a in aliases)


def test_timestamps_in_order_within_the_window(default: demodata.Dataset) -> None:
    """Readable timestamps increase row by row, between 15 January and 10 May 2026."""
    moments = []
    for row in default.responses[1:]:
        value = row[COL["Horodateur"]]
        if isinstance(value, datetime):
            moments.append(value)
        elif re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", str(value)):
            try:
                moments.append(datetime.strptime(str(value), "%d/%m/%Y %H:%M:%S"))
            except ValueError:
                continue  # the unreadable one that looks like a date (32/03/2026)
    assert moments == sorted(moments) and len(moments) == len(set(moments))
    assert datetime(2026, 1, 15) <= moments[0] and moments[-1] < datetime(2026, 5, 11)
    dates = sum(isinstance(row[0], datetime) for row in default.responses[1:])
    assert dates >= 0.95 * (len(default.responses) - 1)


def test_injected_cases_have_the_asked_proportions(default: demodata.Dataset) -> None:
    """About 10 % resubmit, 15 % non-members, 3 % each invalid/missing/no consent, a few more."""
    n = len(default.responses) - 1
    counts = default.counts()
    people = n - counts["resubmission"] - counts["resubmission_consent_fixed"]
    resubmitted = counts["resubmission"] + counts["resubmission_consent_fixed"]
    assert 0.08 * people <= resubmitted <= 0.12 * people
    assert 0.12 * people <= counts["non_member"] <= 0.18 * people
    for case in ("invalid_email", "missing_field", "no_consent"):
        assert 0.02 * n <= counts[case] <= 0.04 * n
    assert counts["formula"] == counts["control_character"] == counts["invalid_phone"] == 1
    assert 1 <= counts["unreadable_timestamp"] <= 2
    assert counts["probable_duplicate"] >= 2 and counts["late"] >= 2
    assert counts["text_timestamp"] >= 2 and counts["unknown_role"] >= 2
    assert counts["member_resigned"] >= 2 and counts["member_aliases"] >= 5


def test_invalid_emails_are_exactly_the_injected_ones(default: demodata.Dataset) -> None:
    """Every non-empty address passes email-validator except the rows injected as invalid."""
    invalid = set(default.cases["invalid_email"])
    for number, row in enumerate(default.responses[1:], start=2):
        address = str(row[COL["Adresse e-mail"]])
        if address.strip():
            assert _email_ok(address) != (number in invalid), (number, address)


def test_addresses_and_phones_are_never_real(large: demodata.Dataset) -> None:
    """Addresses are under reserved example domains; phones in ARCEP's fiction ranges."""
    fiction = ("0199", "0261", "0353", "0465", "0536", "0639")
    reserved = {"example.org", "example.com", "example.net"}
    invalid = set(large.cases["invalid_email"])
    for number, row in enumerate(large.responses[1:], start=2):
        address = str(row[COL["Adresse e-mail"]]).strip().lower()
        if address and number not in invalid:
            domain = address.rpartition("@")[2]
            assert domain.endswith(".example") or domain in reserved, address
        digits = re.sub(r"\D", "", str(row[COL["Téléphone"]]))
        if digits:
            national = "0" + digits[2:] if digits.startswith("33") else digits
            assert national.startswith(fiction), row[COL["Téléphone"]]


def test_resubmissions_reuse_the_address_retyped(default: demodata.Dataset) -> None:
    """A resubmission's trimmed, lowercased address is an earlier row's, typed differently."""
    first_seen: dict[str, str] = {}
    resubmissions = set(default.cases["resubmission"] + default.cases["resubmission_consent_fixed"])
    for number, row in enumerate(default.responses[1:], start=2):
        raw = str(row[COL["Adresse e-mail"]])
        key = raw.strip().lower()
        if number in resubmissions:
            assert key in first_seen and first_seen[key] != raw
        elif key:
            assert key not in first_seen, (number, raw)
            first_seen[key] = raw


def test_probable_duplicates_share_name_and_collectivite(default: demodata.Dataset) -> None:
    """A probable duplicate has an earlier row's folded name and collectivité, another address."""
    rows = default.responses

    def name(row: list[object]) -> tuple[str, str]:
        return fold(clean(str(row[COL["Nom"]]))), fold(clean(str(row[COL["Prénom"]])))

    for number in default.cases["probable_duplicate"]:
        dup = rows[number - 1]
        same = [
            row
            for row in rows[1 : number - 1]
            if name(row) == name(dup) and row[COL["Collectivité"]] == dup[COL["Collectivité"]]
        ]
        assert same
        assert all(
            str(row[COL["Adresse e-mail"]]).strip().lower()
            != str(dup[COL["Adresse e-mail"]]).strip().lower()
            for row in same
        )


def test_answer_values_follow_the_form(default: demodata.Dataset) -> None:
    """Choice answers are the form's choices, except the injected unknown roles and gaps."""
    roles = {r.value for r in Role}
    injected = set(default.cases["unknown_role"])
    unknown_people = {
        str(default.responses[n - 1][COL["Adresse e-mail"]]).strip().lower() for n in injected
    }
    kinds = {k.value for k in AuthorityKind} | {""}
    consents = {demodata.CONSENT_TEXT, ""}
    for number, row in enumerate(default.responses[1:], start=2):
        person = str(row[COL["Adresse e-mail"]]).strip().lower()
        if number in injected:
            assert row[COL["Fonction"]] not in roles
        elif row[COL["Fonction"]] not in roles:  # the same person again, role repeated
            repeated = number in default.cases["resubmission"] and person in unknown_people
            assert repeated or number in default.cases["probable_duplicate"]
        assert row[COL["Type de collectivité"]] in kinds
        assert row[COL["Premier mandat"]] in {"Oui", "Non", ""}
        assert row[COL["Délégation aux relations internationales"]] in {"Oui", "Non"}
        assert row[COL["Consentement"]] in consents
    no_consent = sum(row[COL["Consentement"]] == "" for row in default.responses[1:])
    assert no_consent == len(default.cases["no_consent"])


def test_late_answers_come_after_april(default: demodata.Dataset) -> None:
    """Rows marked late were submitted in May; all earlier rows before 1 May."""
    late = set(default.cases["late"])
    for number, row in enumerate(default.responses[1:], start=2):
        when = row[COL["Horodateur"]]
        if isinstance(when, datetime):
            assert (when >= demodata.LATE_AFTER) == (number in late)


def test_hostile_values_are_present(default: demodata.Dataset) -> None:
    """One comment starts with `=` and one last name holds a control character."""
    (formula,) = default.cases["formula"]
    assert str(default.responses[formula - 1][COL["Commentaire"]]).startswith("=")
    (control,) = default.cases["control_character"]
    assert re.search(r"[\x00-\x1f\x7f-\x9f]", str(default.responses[control - 1][COL["Nom"]]))


def test_workbook_round_trips_through_openpyxl(tmp_path: Path) -> None:
    """The .xlsx has exactly the two sheets, the same values, and real datetime cells."""
    path = tmp_path / "demo.xlsx"
    demodata.write_workbook(path, answers=80, members=40, seed=11)
    data = demodata.build(80, 40, seed=11)
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["Réponses au formulaire 1", "Adhérents"]
    for title, expected in (
        ("Réponses au formulaire 1", data.responses),
        ("Adhérents", data.members),
    ):
        got = [
            ["" if v is None else v for v in row]
            for row in workbook[title].iter_rows(values_only=True)
        ]
        assert got == expected
    sheet = workbook["Réponses au formulaire 1"]
    dated = [row[0] for row in sheet.iter_rows(min_row=2) if isinstance(row[0].value, datetime)]
    assert len(dated) >= 70
    assert {cell.number_format for cell in dated} == {"dd/mm/yyyy hh:mm:ss"}
    (formula,) = data.cases["formula"]
    assert sheet.cell(formula, COL["Commentaire"] + 1).data_type == "s"  # text, not a formula


def test_command_line_writes_the_workbook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m tools.demodata --out PATH` writes the workbook and exits 0."""
    path = tmp_path / "out" / "demo.xlsx"
    assert demodata.main(["--out", str(path), "--answers", "25", "--members", "12"]) == 0
    assert load_workbook(path).sheetnames == ["Réponses au formulaire 1", "Adhérents"]
    assert str(path) in capsys.readouterr().out
