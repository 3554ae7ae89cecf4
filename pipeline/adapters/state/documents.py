"""Issued documents: the registry `diplomates verify` reads, the secret behind the codes, and
the PDF files in `certificates.folder`.

The registry lives in the state DB (table `documents`, declared in `schema.py`). The secret that
makes verification codes unguessable is kept there too (`privacy_keys`, like the erasure salt),
made once. A PDF is written once, atomically, named by its code: a rerun (or a run after a
crash between writing the file and queuing the email) finds it and reuses it, so there is never
a second document for the same person.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from pipeline.adapters.state.schema import aware as _aware
from pipeline.adapters.state.schema import documents, privacy_keys
from pipeline.adapters.state.store import StateStore

DOCUMENT_SECRET = "document_secret"


@dataclass(frozen=True)
class IssuedDocument:
    code: str
    cohort: str
    person_id: str
    kind: str
    full_name: str
    authority: str
    issued_at: datetime
    file: str
    erased_at: datetime | None


class DocumentStore:
    """Documents on a `StateStore`'s database and in a folder."""

    def __init__(self, store: StateStore, folder: Path) -> None:
        self.engine = store.engine
        self.folder = folder

    def secret(self, create: bool = True) -> bytes | None:
        """The HMAC key of verification codes: made on first use (unless `create` is false: a
        dry run then gets None), then always the same."""
        query = select(privacy_keys.c.value).where(privacy_keys.c.name == DOCUMENT_SECRET)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        if found is None and not create:
            return None
        if found is None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(privacy_keys).values(
                            name=DOCUMENT_SECRET, value=secrets.token_hex(32)
                        )
                    )
            except IntegrityError:  # another process made it first: use theirs
                pass
            with self.engine.connect() as conn:
                found = conn.execute(query).scalar_one()
        return bytes.fromhex(found)

    def path(self, code: str) -> Path:
        return self.folder / f"{code}.pdf"

    def existing(self, code: str) -> bytes | None:
        """The PDF already written for this code, if any."""
        try:
            return self.path(code).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, code: str, data: bytes) -> Path:
        """Write the PDF atomically (a crash leaves the whole file or none)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(code)
        partial = target.with_suffix(".pdf.part")
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(target)
        return target

    def record(
        self,
        *,
        code: str,
        cohort: str,
        person_id: str,
        kind: str,
        full_name: str,
        authority: str,
        issued_at: datetime,
    ) -> None:
        """Register an issued document (once: a second record of the same code is ignored)."""
        row = {
            "code": code, "cohort": cohort, "person_id": person_id, "kind": kind,
            "full_name": full_name, "authority": authority,
            "issued_at": issued_at.astimezone(UTC), "file": str(self.path(code)),
        }  # fmt: skip
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(documents).values(**row))
        except IntegrityError:
            pass

    def lookup(self, code: str) -> IssuedDocument | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(documents).where(documents.c.code == code)).first()
        if row is None:
            return None
        return IssuedDocument(
            code=row.code, cohort=row.cohort, person_id=row.person_id, kind=row.kind,
            full_name=row.full_name, authority=row.authority,
            issued_at=_aware(row.issued_at) or datetime.now(UTC), file=row.file,
            erased_at=_aware(row.erased_at),
        )  # fmt: skip

    def of_person(self, person_id: str) -> list[IssuedDocument]:
        with self.engine.connect() as conn:
            codes = conn.execute(
                select(documents.c.code).where(documents.c.person_id == person_id)
            ).scalars()
            found = [self.lookup(code) for code in list(codes)]
        return [d for d in found if d is not None]

    def issued_count(self, cohort: str) -> dict[str, int]:
        """Documents issued (not erased) per kind."""
        counts: dict[str, int] = {}
        with self.engine.connect() as conn:
            for kind in conn.execute(
                select(documents.c.kind)
                .where(documents.c.cohort == cohort)
                .where(documents.c.erased_at.is_(None))
            ).scalars():
                counts[kind] = counts.get(kind, 0) + 1
        return counts

    def erase(self, person_id: str, now: datetime) -> int:
        """An erased person: their PDFs deleted, their name blanked; the code stays known, so
        `verify` says "effacé" rather than "inconnu"."""
        return self._forget(self.of_person(person_id), now)

    def purge(self, before: datetime, now: datetime) -> int:
        """Retention: documents issued before `before` are forgotten as `erase` does (PDF
        deleted, name blanked, code kept as "effacé"); returns how many PDFs were deleted."""
        query = (
            select(documents.c.code)
            .where(documents.c.issued_at < before.astimezone(UTC))
            .where(documents.c.erased_at.is_(None))
        )
        with self.engine.connect() as conn:
            codes = list(conn.execute(query).scalars())
        found = [self.lookup(code) for code in codes]
        return self._forget([d for d in found if d is not None], now)

    def _forget(self, found: list[IssuedDocument], now: datetime) -> int:
        erased = 0
        for document in found:
            Path(document.file).unlink(missing_ok=True)
            Path(document.file + ".part").unlink(missing_ok=True)
            erased += 1
        if found:
            with self.engine.begin() as conn:
                conn.execute(
                    update(documents)
                    .where(documents.c.code.in_([d.code for d in found]))
                    .values(full_name="", authority="", erased_at=now.astimezone(UTC))
                )
        return erased
