"""Render a confirmation email: Jinja2 templates (subject, HTML, text) -> an `EmailMessage`.

Each message is a folder of `templates/email/` named after its `Template` value, holding
`subject.txt`, `body.html` and `body.txt`; the bodies extend `_base.html` / `_base.txt`. The
environment is strict (an unknown variable is an error, not an empty string) and escapes HTML
in `.html` files only. The CSS, written once in the base layout, is inlined into `style=`
attributes because many mail clients ignore `<style>` blocks.

Form data (names, collectivité) only ever reaches the bodies. Headers carry config values and the
validated address, and any header value holding a control character is refused outright.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any, Literal

import css_inline
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipeline.config import CohortSettings, ProgrammeSettings, Settings
from pipeline.core.model import AuthorityKind, Person, Role, Template
from pipeline.core.text import clean
from pipeline.core.vocabulary import PARIS

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "templates" / "email"

Phase = Literal["before", "open", "closed", "late"]

# `keep_at_rules`: the narrow-screen @media block stays in a <style>; the rest is inlined.
_INLINER = css_inline.CSSInliner(
    load_remote_stylesheets=False, keep_style_tags=False, keep_at_rules=True
)

# RFC 5322 atext plus dots: what may stand on either side of the `@` of a Message-ID.
_ID_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+\Z")
# An address the email package writes as it is: ASCII dot-atom local part, plain domain.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+\Z"
)
# Stand-ins for the values of one person in bodies rendered once per kind of message. A value
# may take a stand-in's place only if no later step would have treated it differently from the
# stand-in: French typography (spaces before `: ; ! ? »`, after `«`), whitespace tidying, and
# the HTML serializer (which writes a no-break space as `&nbsp;`), and an empty collectivité
# (its line would lose a trailing space). Others render in full.
_SLOT_FIRST_NAME = "QQslotFirstNameQQ"
_SLOT_AUTHORITY = "QQslotAuthorityQQ"
_SLOT_NUMBER = 987654321  # a waiting-list position other than 1 (`1re`, but `2e`, `3e`…)
_SLOT_SAFE = re.compile(r"(?!.*(?:QQslot|987654321))(?:[^\s:;!?«»\u00a0]|(?<! ) (?! ))*\Z")
_SKELETONS: dict[tuple[object, ...], tuple[str, str]] = {}
_SPACE_BEFORE = re.compile(r" ([:;!?»])")
_SPACE_AFTER = re.compile(r"« ")
_BLANK_RUNS = re.compile(r"\n{3,}")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def french_date(value: datetime) -> str:
    """A date as French readers write it, in Paris time: `30 mars 2026`, `1er avril 2026`."""
    day = value.astimezone(PARIS).date() if value.tzinfo else value.date()
    text = str(format_date(day, format="d MMMM y", locale="fr_FR"))
    return "1er" + text[1:] if day.day == 1 else text


def _ordinal_fr(number: int) -> str:
    """A feminine French ordinal abbreviation (it qualifies `position`): 1re, 2e, 3e."""
    return "1re" if number == 1 else f"{number}e"


def _join_fr(items: Sequence[str]) -> str:
    """`A`, `A et B`, `A, B et C`."""
    words = [str(item) for item in items]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " et " + words[-1]


def _nobreak(text: str) -> str:
    """Spaces made non-breaking, so that `30 mars 2026` never wraps across lines."""
    return text.replace(" ", "\u00a0")


def _display_url(url: str) -> str:
    """A URL as people read it: no scheme, no trailing slash."""
    return _SCHEME.sub("", url).rstrip("/")


_SUBJECTS: dict[tuple[Environment, str, str, str, tuple[tuple[str, Any], ...]], str] = {}


def forget_rendered() -> None:
    """Drop the subjects and bodies kept between messages: a run starts from the templates as
    they are now (a long-lived scheduler sees an edited template at its next run)."""
    _SUBJECTS.clear()
    _SKELETONS.clear()


_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")


def typographic(text: str) -> str:
    """Straight apostrophes between letters made typographic: `L'équipe` -> `L’équipe`."""
    return _APOSTROPHE.sub("\u2019", text)


def _shown_programme(programme: ProgrammeSettings) -> ProgrammeSettings:
    """The programme's texts as the emails show them (typographic apostrophes); addresses and
    the URL as they are."""
    return programme.model_copy(
        update={
            "name": typographic(programme.name),
            "organiser": typographic(programme.organiser),
            "contact_name": typographic(programme.contact_name),
            "signature": typographic(programme.signature),
            "partners": [typographic(p) for p in programme.partners],
        }
    )


def _subject(
    env: Environment,
    folder: str,
    programme: ProgrammeSettings,
    cohort: str,
    extra: tuple[tuple[str, Any], ...] = (),
) -> str:
    """A template's subject: config values (and, for session messages, the staff's session
    fields), never form data; the same for every message of a run and session."""
    key = (env, folder, programme.model_dump_json(), cohort, extra)
    found = _SUBJECTS.get(key)
    if found is None:
        context = {"programme": programme, "cohort_name": cohort, **dict(extra)}
        template = env.get_template(f"{folder}/subject.txt")
        found = _SUBJECTS[key] = _french_spacing(template.render(context)).strip()
    return found


@functools.cache
def _environment(templates_dir: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir.resolve()),
        undefined=StrictUndefined,
        autoescape=select_autoescape(
            enabled_extensions=("html",), default_for_string=False, default=False
        ),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["join_fr"] = _join_fr
    env.filters["ordinal_fr"] = _ordinal_fr
    env.filters["display_url"] = _display_url
    env.filters["nobreak"] = _nobreak
    return env


def _phase(person: Person, cohort: CohortSettings, now: datetime) -> Phase:
    """Where registration stands for this person; lateness is judged by their first answer."""
    if person.first_submitted > cohort.registration_closes:
        return "late"
    if now < cohort.registration_opens:
        return "before"
    if now <= cohort.registration_closes:
        return "open"
    return "closed"


def _french_spacing(text: str) -> str:
    """Non-breaking spaces before `: ; ! ? »` and after `«`, as French typography wants."""
    return _SPACE_AFTER.sub("«\u00a0", _SPACE_BEFORE.sub("\u00a0\\1", text))


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _french_spacing(_BLANK_RUNS.sub("\n\n", "\n".join(lines))) + "\n"


def _check_header(name: str, value: str) -> str:
    """Return `value` if it may stand in a header; raise ValueError on any control character."""
    for char in value:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            raise ValueError(
                f"refusing to build the message: header {name} would contain the control "
                f"character {char!r} (value {value!r})"
            )
    return value


def _set_address(msg: EmailMessage, name: str, value: str, *, exact: bool = False) -> None:
    """Set an address header; it must parse back as one address (exactly `value` if `exact`)."""
    msg[name] = _check_header(name, value)
    addresses: tuple[Address, ...] = getattr(msg[name], "addresses", ())
    if len(addresses) != 1 or not addresses[0].username or not addresses[0].domain:
        raise ValueError(f"refusing to build the message: header {name} must hold one address")
    if exact and addresses[0].addr_spec != value:
        raise ValueError(f"refusing to build the message: header {name} must be {value!r} only")


def message_id_header(message_id: str, sender: str) -> str:
    """The `Message-ID` of the message whose ledger key is `message_id`, sent from `sender`."""
    domain = sender.rpartition("@")[2]
    for part, what in ((message_id, "message_id"), (domain, "the domain of email.sender")):
        if not _ID_PART.match(part):
            raise ValueError(
                f"refusing to build the message: {what} {part!r} must be made of letters, "
                "digits and . _ - (no spaces, no @, no angle brackets)"
            )
    # Opaque and short (the ledger key names the template and the person): 130 bits of a hash
    # of the key, so the same message keeps the same Message-ID and the header stays one line.
    digest = base64.b32encode(hashlib.sha256(message_id.encode("utf-8")).digest())
    return f"<{digest.decode('ascii').lower()[:26]}@{domain}>"


def _render_parts(
    template: Template,
    *,
    person: Person,
    member_name: str | None,
    settings: Settings,
    now: datetime,
    waitlist_position: int | None,
    templates_dir: Path | None,
    extra: tuple[tuple[str, Any], ...] = (),
) -> tuple[str, str, str]:
    """(subject, text body, HTML body with inlined CSS) of one message."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if waitlist_position is not None and waitlist_position < 1:
        raise ValueError(f"waitlist_position must be 1 or more, got {waitlist_position}")
    env = _environment(templates_dir or TEMPLATES_DIR)
    folder = Template(template).value
    cohort = settings.cohort

    # The subject sees config values only, so no form data can reach that header.
    programme = _shown_programme(settings.programme)
    subject_context: dict[str, Any] = {
        "programme": programme,
        "cohort_name": cohort.name,
    }
    subject = _subject(env, folder, programme, cohort.name, extra)

    first_name = clean(person.first_name)
    authority = clean(member_name) if member_name else clean(person.authority)
    context: dict[str, Any] = {
        **subject_context,
        "subject": subject,
        "sender": settings.email.sender,
        "first_name": first_name,
        "authority": authority,
        "is_elected": None if person.role is None else person.role.is_elected,
        "is_new_elected": person.is_new_elected,
        "opens": french_date(cohort.registration_opens),
        "closes": french_date(cohort.registration_closes),
        "phase": _phase(person, cohort, now),
        "waitlist_position": waitlist_position,
        **dict(extra),
    }
    if not (authority and _SLOT_SAFE.match(first_name) and _SLOT_SAFE.match(authority)):
        text, html = _render_bodies(env, folder, context)
        return subject, text, html
    # Values that go through every later step unchanged (see _SLOT_SAFE) are put into bodies
    # rendered once with stand-ins: Jinja, the CSS inliner and the French typography run once
    # per kind of message instead of once per person.
    position = waitlist_position if waitlist_position in (None, 1) else _SLOT_NUMBER
    key = (
        env, folder, settings.programme.model_dump_json(), cohort.name, settings.email.sender,
        context["opens"], context["closes"], context["phase"], context["is_elected"],
        context["is_new_elected"], bool(first_name), position, extra,
    )  # fmt: skip
    bodies = _SKELETONS.get(key)
    if bodies is None:
        stand_ins = {
            **context,
            "first_name": _SLOT_FIRST_NAME if first_name else "",
            "authority": _SLOT_AUTHORITY,
            "waitlist_position": position,
        }
        bodies = _SKELETONS[key] = _render_bodies(env, folder, stand_ins)
    text, html = bodies
    number = str(waitlist_position)
    text = (
        text.replace(_SLOT_FIRST_NAME, first_name)
        .replace(_SLOT_AUTHORITY, authority)
        .replace(str(_SLOT_NUMBER), number)
    )
    html = (
        html.replace(_SLOT_FIRST_NAME, _html_text(first_name))
        .replace(_SLOT_AUTHORITY, _html_text(authority))
        .replace(str(_SLOT_NUMBER), number)
    )
    return subject, text, html


def _render_bodies(env: Environment, folder: str, context: dict[str, Any]) -> tuple[str, str]:
    """(text, HTML with inlined CSS) rendered from the templates."""
    text = _tidy_text(env.get_template(f"{folder}/body.txt").render(context))
    html = str(_INLINER.inline(env.get_template(f"{folder}/body.html").render(context)))
    return text, html


def _html_text(value: str) -> str:
    """A value as the CSS inliner's HTML serializer writes text (only `&`, `<`, `>` escaped)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _header_lines(msg: EmailMessage) -> bytes:
    """The header section the email package writes for `msg` (which has no body)."""
    data = msg.as_bytes(policy=policy.default)
    return data[:-1] if data.endswith(b"\n\n") else data


@functools.lru_cache(maxsize=64)
def _fixed_headers(
    sender_name: str, sender: str, reply_to: str, subject: str, date: str, template: str
) -> bytes:
    """The headers every message of one template shares in a run, written once by the email
    package (address checks, encoded words for accents, folding) and reused."""
    msg = EmailMessage()
    # formataddr would hide a newline in an encoded word: check the parts before joining them.
    _set_address(msg, "From", formataddr((_check_header("From", sender_name),
                                          _check_header("From", sender))))  # fmt: skip
    _set_address(msg, "Reply-To", reply_to)
    msg["Subject"] = _check_header("Subject", subject)
    msg["Date"] = date
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-CUF-Template"] = template
    msg["MIME-Version"] = "1.0"
    return _header_lines(msg)


_UTF8_HEADERS = policy.default.clone(utf8=True)


def _to_line(address: str) -> bytes:
    """`To: address`: a plain ASCII address is written as it is (what the email package writes
    for it); anything else goes through the email package's checks and encoding."""
    if len(address) <= 72 and _PLAIN_ADDRESS.match(address):
        return b"To: " + address.encode("ascii") + b"\n"
    msg = EmailMessage()
    _set_address(msg, "To", address, exact=True)
    if address.isascii():
        return _header_lines(msg)
    # An internationalised address (élodie@…) is written in UTF-8, as RFC 6532 says: an encoded
    # word (`=?utf-8?q?=C3=A9lodie?=@…`) is not allowed inside an address (RFC 2047, section 5).
    # SMTP sends it with SMTPUTF8 (adapters/smtp.py), or refuses it when the server cannot.
    data = msg.as_bytes(policy=_UTF8_HEADERS)
    return data[:-1] if data.endswith(b"\n\n") else data


def _qp_part(subtype: str, body: str) -> bytes:
    """One text part in UTF-8, quoted-printable (7-bit safe, lines of 76 characters at most),
    its lines ended by `\\n` as the email package ends them."""
    data = b"\n".join(body.encode("utf-8").splitlines()) + b"\n"
    return (
        b"Content-Type: text/" + subtype.encode("ascii") + b'; charset="utf-8"\n'
        b"Content-Transfer-Encoding: quoted-printable\n\n" + binascii.b2a_qp(data, istext=True)
    )


def render_raw(
    template: Template,
    *,
    person: Person,
    member_name: str | None,
    settings: Settings,
    message_id: str,
    now: datetime,
    waitlist_position: int | None = None,
    templates_dir: Path | None = None,
    extra: Mapping[str, Any] | None = None,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    """Build the email `template` for `person` as the bytes a transport sends or files.

    `member_name` is the matched member's canonical name (None when there is no match: the
    collectivité as typed is shown instead). `message_id` is the local part of the Message-ID,
    stable per person, cohort and template so a resend can be recognised. Raises ValueError when
    a header would carry a control character, and jinja2 errors when a template is missing or
    uses an unknown variable.

    A run renders hundreds of messages: the headers they share are written once per template by
    the email package, and each message adds its `To`, `Message-ID` and two quoted-printable
    parts of a multipart/alternative (text, then HTML). The boundary starts with `=_`, which
    quoted-printable text can never contain. `render_message` parses these bytes back.

    `extra` adds template variables (session fields, document facts: staff and config data,
    hashable values); `attachments` turn the message into a multipart/mixed holding the
    alternative, then each attachment in base64 (a calendar invitation is also offered inside
    the alternative, as calendar clients expect).
    """
    frozen = tuple(sorted((extra or {}).items()))
    subject, text, html = _render_parts(
        template, person=person, member_name=member_name, settings=settings, now=now,
        waitlist_position=waitlist_position, templates_dir=templates_dir, extra=frozen,
    )  # fmt: skip
    email = settings.email
    identifier = message_id_header(message_id, email.sender)
    boundary = b"=_" + hashlib.sha256(identifier.encode("ascii")).hexdigest()[:32].encode()
    headers = _fixed_headers(
        email.sender_name,
        email.sender,
        email.reply_to,
        subject,
        format_datetime(now),
        Template(template).value,
    ) + _to_line(_check_header("To", person.email))
    headers += b"Message-ID: " + identifier.encode("ascii") + b"\n"
    if attachments:
        return headers + _mixed(boundary, text, html, attachments)
    return b"".join(
        (
            headers,
            b'Content-Type: multipart/alternative;\n boundary="' + boundary + b'"\n\n',
            b"--" + boundary + b"\n",
            _qp_part("plain", text),
            b"\n--" + boundary + b"\n",  # the line end before a boundary belongs to it
            _qp_part("html", html),
            b"\n--" + boundary + b"--\n",
        )
    )


@dataclass(frozen=True)
class Attachment:
    """A file carried by a message: `.ics` (text/calendar) or a PDF."""

    filename: str  # ASCII, made by the pipeline (never form data)
    content_type: str  # e.g. "text/calendar; method=REQUEST", "application/pdf"
    data: bytes

    @property
    def calendar(self) -> bool:
        return self.content_type.startswith("text/calendar")


def _base64_part(headers: bytes, data: bytes) -> bytes:
    encoded = base64.encodebytes(data)  # lines of 76 characters, each ended by \n
    return headers + b"Content-Transfer-Encoding: base64\n\n" + encoded


def _mixed(boundary: bytes, text: str, html: str, attachments: Sequence[Attachment]) -> bytes:
    """multipart/mixed: the alternative (text, HTML, and the calendar request if any), then the
    attachments. Boundaries start with `=_`, which neither quoted-printable nor base64 holds."""
    inner = boundary + b"a"
    outer = boundary + b"m"
    parts = [
        b'Content-Type: multipart/mixed;\n boundary="' + outer + b'"\n\n',
        b"--" + outer + b"\n",
        b'Content-Type: multipart/alternative;\n boundary="' + inner + b'"\n\n',
        b"--" + inner + b"\n",
        _qp_part("plain", text),
        b"\n--" + inner + b"\n",
        _qp_part("html", html),
    ]
    for attachment in attachments:
        if attachment.calendar:
            kind = attachment.content_type.encode("ascii")
            parts += [
                b"\n--" + inner + b"\n",
                _base64_part(b"Content-Type: " + kind + b'; charset="utf-8"\n', attachment.data),
            ]
    parts.append(b"\n--" + inner + b"--\n")
    for attachment in attachments:
        name = attachment.filename.encode("ascii")
        kind = attachment.content_type.encode("ascii")
        if attachment.calendar:
            kind += b'; charset="utf-8"'
        parts += [
            b"\n--" + outer + b"\n",
            _base64_part(
                # folded before the file name: header lines stay under 78 characters
                b"Content-Type: " + kind + b';\n name="' + name + b'"\n'
                b'Content-Disposition: attachment;\n filename="' + name + b'"\n',
                attachment.data,
            ),
        ]
    parts.append(b"\n--" + outer + b"--\n")
    return b"".join(parts)


def render_message(
    template: Template,
    *,
    person: Person,
    member_name: str | None,
    settings: Settings,
    message_id: str,
    now: datetime,
    waitlist_position: int | None = None,
    templates_dir: Path | None = None,
    extra: Mapping[str, Any] | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """`render_raw`'s message, parsed back by the email package (`diplomates preview`, and
    anything else that wants an `EmailMessage`)."""
    raw = render_raw(
        template, person=person, member_name=member_name, settings=settings,
        message_id=message_id, now=now, waitlist_position=waitlist_position,
        templates_dir=templates_dir, extra=extra, attachments=attachments,
    )  # fmt: skip
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def sample_person(now: datetime) -> Person:
    """A realistic, fictitious person (reserved domain and phone range) for previews."""
    submitted = now - timedelta(days=2, hours=3)
    return Person(
        id="DT-3F9A1C07B2",
        email="camille.martin@example.org",
        last_name="Martin",
        first_name="Camille",
        phone="+33639980123",
        role=Role.ADJOINT,
        role_raw=Role.ADJOINT.value,
        authority="Mairie de St-Étienne",
        authority_kind=AuthorityKind.COMMUNE,
        department="42",
        department_raw="Loire",
        first_term=True,
        intl_delegate=True,
        comment="",
        first_submitted=submitted,
        last_submitted=submitted,
        responses=1,
        rows=(2,),
    )
