"""Personal data end to end on a workbook, after the staff-and-time scenario: access export,
erasure (bytes checked in the unzipped .xlsx, the state DB files and the outbox), no
resurrection by the next run, retention purge, and logs free of personal data."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from pipeline.core.people import person_id
from pipeline.entry.cli import main
from tests.support.scenario import (
    CONFIG,
    FORM,
    LATE,
    Scenario,
    WorkbookView,
    outbox,
    people,
    records,
    sent,
    write_workbook,
)

AFTER = "2026-05-06T10:00"  # the first run after the erasure
CHLOE = "chloe@lyon.fr"
CHLOE_SECRETS = (CHLOE, "Chloé", "Faure", person_id(CHLOE))
EVERYONE = (b"@lyon.fr", b"@rennes.fr", b"@nulle-part.fr")


@pytest.fixture
def played(tmp_path: Path) -> tuple[Path, Path]:
    """The whole staff-and-time scenario, played through the CLI on a workbook."""
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(tmp=tmp_path), encoding="utf-8")
    write_workbook(tmp_path / "wb.xlsx")
    Scenario(WorkbookView(tmp_path / "wb.xlsx"), lambda as_of: run(config, as_of), tmp_path).play()
    return tmp_path, config


def run(config: Path, as_of: str) -> int:
    return main(["run", "--config", str(config), "--as-of", as_of])


def workbook_parts(path: Path) -> dict[str, bytes]:
    """Every part of the .xlsx zip, uncompressed (sheets, sharedStrings, comments, props…)."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def sheet_part(path: Path, title: str) -> str:
    """The zip member holding the sheet called `title` (workbook.xml, then its relationships)."""
    parts = workbook_parts(path)
    workbook = parts["xl/workbook.xml"].decode()
    rid = re.search(rf'<sheet name="{re.escape(title)}"[^>]*r:id="(\w+)"', workbook)
    assert rid is not None
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    target = re.search(rf'Target="([^"]+)" Id="{rid.group(1)}"', rels)
    assert target is not None
    return target.group(1).lstrip("/")


def written(tmp: Path, skip: str = "") -> dict[str, bytes]:
    """Every byte the project writes: workbook parts, state DB file (+ WAL, SHM), outbox files."""
    found = {f"wb.xlsx:{k}": v for k, v in workbook_parts(tmp / "wb.xlsx").items() if k != skip}
    found.update({p.name: p.read_bytes() for p in tmp.glob("state.sqlite*")})
    found.update({f"outbox/{p.name}": p.read_bytes() for p in (tmp / "outbox").glob("*")})
    return found


def holding(data: dict[str, bytes], secrets: tuple[str, ...]) -> list[str]:
    """`where: secret` for every secret (case-insensitive) found in the bytes."""
    return [
        f"{where}: {secret}"
        for where, blob in data.items()
        for secret in secrets
        if secret.encode("utf-8").lower() in blob.lower()
    ]


def to_shared_strings(path: Path) -> None:
    """Re-save the workbook as Excel does: every text cell in xl/sharedStrings.xml."""
    parts = workbook_parts(path)
    strings: list[str] = []
    cell = re.compile(r'<c ([^>]*?)t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>', re.S)

    def shared(match: re.Match[str]) -> str:
        strings.append(match.group(2))
        return f'<c {match.group(1)}t="s"><v>{len(strings) - 1}</v></c>'

    for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
        parts[name] = cell.sub(shared, parts[name].decode()).encode()
    items = "".join(f'<si><t xml:space="preserve">{s}</t></si>' for s in strings)
    parts["xl/sharedStrings.xml"] = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>'
    ).encode()
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kind}"/></Types>'.encode(),
    )
    relation = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Type="{relation}" Target="sharedStrings.xml" Id="rIdSst"/></Relationships>'.encode(),
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def export_json(config: Path, email: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["export", email, "--config", str(config), "--format", "json"]) == 0
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_export_after_the_scenario_is_complete(
    played: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Chloé's export: both answers, her row (staff column too), 3 mails with dates, 3 copies."""
    tmp, config = played
    doc = export_json(config, " Chloe@Lyon.fr ", capsys)
    assert doc["person"] == {"email": CHLOE, "id": person_id(CHLOE)}
    answers = doc["form_answers"]
    assert isinstance(answers, list) and [a["row"] for a in answers] == [4, 14]
    assert answers[1]["values"]["Téléphone"] == "07 81 23 45 67"
    assert all(f"{tmp / 'wb.xlsx'}" in a["source"] and FORM in a["source"] for a in answers)
    (row,) = doc["cohort_rows"]  # type: ignore[misc]
    values = row["values"]
    assert values["ID"] == person_id(CHLOE) and values["Statut"] == "Inscrit·e"
    assert values["Suivi"] == "suivi Chloé" and values["Téléphone"] == "+33 7 81 23 45 67"
    messages = doc["messages"]
    assert isinstance(messages, list)
    assert sorted(m["template"] for m in messages) == [
        "accuse_reception", "liste_attente", "place_liberee",
    ]  # fmt: skip
    assert all(m["state"] == "sent" and m["sent_at"] and "content" not in m for m in messages)
    assert all("state.sqlite" in m["source"] for m in messages)
    files = doc["outbox_files"]
    assert isinstance(files, list) and len(files) == 3
    assert all(Path(f["file"]).exists() for f in files)
    assert doc["review_rows"] == [] and doc["erasure"] is None
    kim = export_json(config, "kim@lyon.fr", capsys)
    motifs = sorted(r["values"]["Code motif"] for r in kim["review_rows"])  # type: ignore[attr-defined]
    assert motifs == ["decision_invalide", "fonction_inconnue"]
    capsys.readouterr()
    assert main(["export", CHLOE, "--config", str(config), "--include-messages"]) == 0
    text = capsys.readouterr().out
    assert "1. Réponses au formulaire" in text and "Ligne 14 :" in text
    assert "« place_liberee » (Promotion 2026) : envoyé" in text and "Subject:" in text


@pytest.mark.parametrize("include_source", [False, True], ids=["tombstone", "source-cleared"])
def test_erasure_leaves_no_byte_and_the_next_run_does_not_resurrect(
    played: tuple[Path, Path], capsys: pytest.CaptureFixture[str], include_source: bool
) -> None:
    """After `erase --yes`, Chloé's address, name and id are in no byte written, nor after a run."""
    tmp, config = played
    wb = tmp / "wb.xlsx"
    to_shared_strings(wb)  # as if staff last saved it in Excel
    copy = next((tmp / "outbox").glob(f"place_liberee.{person_id(CHLOE)}.*.eml"))
    (tmp / "outbox" / ".sending-k1ll3d").write_bytes(copy.read_bytes())  # a crash's leftover
    form_part = sheet_part(wb, FORM)
    assert "xl/sharedStrings.xml" in workbook_parts(wb)
    before = holding(written(tmp), CHLOE_SECRETS)
    assert any("sharedStrings" in h for h in before) and any("state.sqlite" in h for h in before)
    assert any(h.startswith("outbox/") for h in before)
    flags = ["--include-source"] if include_source else []

    capsys.readouterr()
    stamp, mails = wb.stat().st_mtime_ns, len(outbox(tmp))
    assert main(["erase", CHLOE, "--config", str(config), *flags]) == 0
    dry = capsys.readouterr().out
    assert "dry run, nothing changed" in dry and "would delete 3 ledger row(s) (sent 3)" in dry
    assert "would delete 4 outbox file(s)" in dry
    assert wb.stat().st_mtime_ns == stamp and len(outbox(tmp)) == mails

    assert main(["erase", CHLOE, "--config", str(config), "--yes", *flags]) == 0
    done = capsys.readouterr()
    assert "done." in done.out and "check: no output sheet cell" in done.out
    skip = "" if include_source else form_part
    assert holding(written(tmp, skip), CHLOE_SECRETS) == []
    assert "xl/sharedStrings.xml" not in workbook_parts(wb)  # rewritten without her
    form = WorkbookView(wb).table(FORM)
    assert len(form) == 15 and str(form[14][1]).strip() == "zoe@lyon.fr"  # nobody moved
    if include_source:
        assert not any(form[3]) and not any(form[13])
    else:
        assert form[3][3] == "Chloé"  # the source stays; a tombstone skips it

    assert run(config, AFTER) == 0
    out = capsys.readouterr().out
    assert ("2 erased answers skipped" in out) != include_source
    assert CHLOE not in people(WorkbookView(wb))
    assert all(r["ID"] != person_id(CHLOE) for r in records(WorkbookView(wb), "À vérifier"))
    assert holding(written(tmp, skip), CHLOE_SECRETS) == []
    assert CHLOE not in {to for to, _ in sent(tmp)}
    assert ("ivan@lyon.fr", "place_liberee") in sent(tmp)  # her place went to the waiting list
    capsys.readouterr()
    assert main(["export", CHLOE, "--config", str(config), "--format", "json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["cohort_rows"] == after["messages"] == after["outbox_files"] == []
    assert (after["erasure"] is None) == include_source


def test_purge_applies_retention_and_leaves_only_minimal_rows(
    played: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`purge` with retention_days: no address left in the DB or outbox; nothing sent again."""
    tmp, config = played
    assert holding(written(tmp), ("@lyon.fr",))
    with config.open("a", encoding="utf-8") as handle:
        handle.write("[privacy]\nretention_days = 30\n")
    capsys.readouterr()
    assert main(["purge", "--config", str(config), "--as-of", "2099-01-01T00:00"]) == 0
    out = capsys.readouterr().out
    assert "16 message bodies" in out and "16 outbox files" in out and "compacted." in out
    assert "6 run records" in out  # the scenario's six runs
    database = {k: v for k, v in written(tmp).items() if k.startswith("state.sqlite")}
    assert not any(domain in blob for blob in database.values() for domain in EVERYONE)
    assert outbox(tmp) == []
    assert run(config, "2026-05-06T10:00") == 0 and outbox(tmp) == []  # no mail again
    capsys.readouterr()
    assert main(["status", "--config", str(config)]) == 0
    assert "16 sent" in capsys.readouterr().out


def test_privacy_commands_log_ids_never_addresses_or_names(
    played: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """export, erase and purge through the CLI: stderr (the logs) holds ids and counts only."""
    tmp, config = played
    with config.open("a", encoding="utf-8") as handle:
        handle.write("[privacy]\nretention_days = 30\n")
    capsys.readouterr()
    assert main(["export", CHLOE, "--config", str(config)]) == 0
    assert main(["erase", CHLOE, "--config", str(config)]) == 0
    assert main(["erase", CHLOE, "--config", str(config), "--yes"]) == 0
    assert main(["purge", "--config", str(config), "--as-of", LATE]) == 0
    assert run(config, AFTER) == 0
    logged = capsys.readouterr().err
    assert person_id(CHLOE) in logged and "erasure done" in logged
    assert holding({"stderr": logged.encode()}, (*CHLOE_SECRETS[:3], "@lyon.fr")) == []
