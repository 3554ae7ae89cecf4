"""Domain types shared by the core and the adapters: frozen pydantic models and French enums."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Role(StrEnum):
    MAIRE = "Maire"
    ADJOINT = "Adjoint·e au maire"
    CONSEILLER_MUNICIPAL = "Conseiller·ère municipal·e"
    PRESIDENT = "Président·e"
    VICE_PRESIDENT = "Vice-président·e"
    CONSEILLER_DEPARTEMENTAL = "Conseiller·ère départemental·e"
    CONSEILLER_REGIONAL = "Conseiller·ère régional·e"
    CONSEILLER_COMMUNAUTAIRE = "Conseiller·ère communautaire"
    AGENT = "Agent·e territorial·e (non élu·e)"
    AUTRE = "Autre"

    @property
    def is_elected(self) -> bool:
        return self not in (Role.AGENT, Role.AUTRE)


class AuthorityKind(StrEnum):
    COMMUNE = "Commune"
    INTERCOMMUNALITE = "Intercommunalité"
    DEPARTEMENT = "Département"
    REGION = "Région"
    AUTRE = "Autre"


class Eligibility(StrEnum):
    CERTIFICAT = "Certificat"
    SESSIONS = "Sessions"
    NON_ADHERENTE = "Non adhérente"
    A_VERIFIER = "À vérifier"


class Status(StrEnum):
    INTERET = "Intérêt enregistré"
    INSCRIT = "Inscrit·e"
    PROPOSE = "Proposé·e"
    LISTE_ATTENTE = "Liste d'attente"
    HORS_DELAI = "Hors délai"
    REFUSE = "Refusé·e"
    DESISTE = "Désisté·e"
    NON_ELIGIBLE = "Non éligible"
    A_VERIFIER = "À vérifier"


class Decision(StrEnum):
    ACCEPTE = "Accepté"
    REFUSE = "Refusé"
    LISTE_ATTENTE = "Liste d'attente"
    DESISTE = "Désisté"


class Reason(StrEnum):
    CHAMP_MANQUANT = "champ_manquant"
    EMAIL_INVALIDE = "email_invalide"
    CONSENTEMENT_ABSENT = "consentement_absent"
    HORODATEUR_INVALIDE = "horodateur_invalide"
    FONCTION_INCONNUE = "fonction_inconnue"
    COLLECTIVITE_AMBIGUE = "collectivite_ambigue"
    DOUBLON_PROBABLE = "doublon_probable"
    HORS_DELAI = "hors_delai"
    DECISION_INVALIDE = "decision_invalide"
    COURRIEL_REJETE = "courriel_rejete"
    ENVOI_INCERTAIN = "envoi_incertain"
    ABSENT_DU_FORMULAIRE = "absent_du_formulaire"
    SESSION_INVALIDE = "session_invalide"
    EMARGEMENT_INVALIDE = "emargement_invalide"

    @property
    def rejects(self) -> bool:
        """True when an answer with this problem is rejected (no email, never placeable)."""
        return self in REJECTING

    @property
    def label(self) -> str:
        """The reason in French words, as `À vérifier` shows it (the code has its own column)."""
        return REASON_LABELS.get(self.value, self.value)


REASON_LABELS = {
    "champ_manquant": "Champ obligatoire manquant",
    "email_invalide": "Adresse e-mail invalide",
    "consentement_absent": "Consentement absent",
    "horodateur_invalide": "Horodateur illisible",
    "fonction_inconnue": "Fonction inconnue",
    "collectivite_ambigue": "Collectivité ambiguë",
    "doublon_probable": "Doublon probable",
    "hors_delai": "Hors délai",
    "decision_invalide": "Décision CUF invalide",
    "courriel_rejete": "Courriel refusé",
    "envoi_incertain": "Envoi incertain",
    # reasons other branches add (issues 11 and 15): their label is ready when they land
    "absent_du_formulaire": "Réponses introuvables",
    "session_invalide": "Session invalide",
    "emargement_invalide": "Émargement invalide",
}


REJECTING = frozenset(
    {
        Reason.CHAMP_MANQUANT,
        Reason.EMAIL_INVALIDE,
        Reason.CONSENTEMENT_ABSENT,
        Reason.HORODATEUR_INVALIDE,
    }
)


class Template(StrEnum):
    ACCUSE_RECEPTION = "accuse_reception"
    NON_ELIGIBLE = "non_eligible"
    INSCRIPTION_CONFIRMEE = "inscription_confirmee"
    LISTE_ATTENTE = "liste_attente"
    PLACE_LIBEREE = "place_liberee"
    INVITATION_SESSION = "invitation_session"
    SESSION_MODIFIEE = "session_modifiee"
    SESSION_ANNULEE = "session_annulee"
    RAPPEL_SESSION = "rappel_session"
    CERTIFICAT = "certificat"
    ATTESTATION = "attestation"

    @property
    def per_session(self) -> bool:
        """True for the templates sent once per session (and version), not once per person."""
        return self in SESSION_TEMPLATES


SESSION_TEMPLATES = frozenset(
    {
        Template.INVITATION_SESSION,
        Template.SESSION_MODIFIEE,
        Template.SESSION_ANNULEE,
        Template.RAPPEL_SESSION,
    }
)
DOCUMENT_TEMPLATES = frozenset({Template.CERTIFICAT, Template.ATTESTATION})


class Response(Frozen):
    """One valid form submission (a source row that passed validation)."""

    row: int  # 1-based row number in the source sheet (the header is row 1)
    submitted_at: datetime  # timezone-aware
    email: str  # normalized: trimmed, lowercased
    last_name: str
    first_name: str
    authority: str
    authority_kind: AuthorityKind | None = None
    department: str | None = None  # normalized code ("29", "2A", "974") when recognized
    department_raw: str = ""
    role: Role | None = None  # None: not one of the form's choices (see role_raw)
    role_raw: str = ""
    first_term: bool | None = None
    intl_delegate: bool | None = None
    phone: str = ""  # E.164 when it parses, else as typed
    comment: str = ""


class Anomaly(Frozen):
    """A problem that needs a human; listed in the `À vérifier` sheet."""

    reason: Reason
    explanation: str  # plain French, for staff
    row: int | None = None  # source row number, when the problem belongs to one row
    person_id: str | None = None
    person: str = ""  # "Prénom Nom", empty when personal fields must not be shown
    authority: str = ""

    @property
    def key(self) -> str:
        """Stable identity of this problem across runs (used as the row key in `À vérifier`)."""
        who = self.person_id or ""
        where = "" if self.row is None else str(self.row)
        return f"{self.reason.value}:{where}:{who}"


class Member(Frozen):
    """One line of the `Adhérents` sheet."""

    row: int
    name: str
    kind: AuthorityKind | None = None
    department: str | None = None
    siren: str = ""
    aliases: tuple[str, ...] = ()
    active: bool = True


class MatchOutcome(StrEnum):
    MATCHED = "matched"
    NONE = "none"
    AMBIGUOUS = "ambiguous"


class Match(Frozen):
    """How an answer's collectivité relates to the member list, with the evidence for staff."""

    outcome: MatchOutcome
    member: Member | None = None
    method: str = ""  # "code", "nom", "alias", "approché 92 %": shown to staff
    candidates: tuple[str, ...] = ()  # human-readable candidates when ambiguous
    explanation: str = ""  # French, when ambiguous


class Person(Frozen):
    """One person: every valid submission with the same normalized email, merged."""

    id: str
    email: str
    last_name: str
    first_name: str
    phone: str
    role: Role | None
    role_raw: str
    authority: str
    authority_kind: AuthorityKind | None
    department: str | None
    department_raw: str
    first_term: bool | None
    intl_delegate: bool | None
    comment: str
    first_submitted: datetime
    last_submitted: datetime
    responses: int
    rows: tuple[int, ...]

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_new_elected(self) -> bool:
        return bool(self.first_term) and self.role is not None and self.role.is_elected


# --- What a run asks a spreadsheet backend to write -------------------------------------------
# The core produces these (pure data); each backend applies them in one batch.

# A cell value: text, a whole number, or a date-time (naive, Europe/Paris wall-clock time) that
# a backend writes as a real date-time cell shown `JJ/MM/AAAA HH:MM`.
Cell = str | int | datetime


# How a sheet looks: computed by the core (core/layout.py), applied by a backend in the same
# batch as the cells, only when the sheet is new or its stored layout mark differs. Rows and
# columns are 1-based; colours are "RRGGBB"; widths are in characters (a backend converts).


@dataclass(frozen=True)
class Area:
    """A rectangle of cells, bounds included."""

    top: int
    left: int
    bottom: int
    right: int


@dataclass(frozen=True)
class ColumnLayout:
    """One column the layout owns: its width and how its header cell looks."""

    col: int
    width: int  # in characters
    header_fill: str
    header_font: str
    note: str = ""  # the header cell's note (comment); empty: none
    wrap: bool = False  # data cells wrap their text (long explanations)
    date_time: bool = False  # data cells are date-times shown `JJ/MM/AAAA HH:MM`


@dataclass(frozen=True)
class ValueColour:
    """Cells whose whole text equals `text` get these colours (the text stays the truth)."""

    text: str
    fill: str
    font: str
    bold: bool = False


@dataclass(frozen=True)
class ColourRule:
    """Conditional colours on the data cells (row 2 to `SheetLayout.rows`) of one column."""

    col: int
    colours: tuple[ValueColour, ...]


@dataclass(frozen=True)
class RowRule:
    """Conditional style on the rows of `area` whose cell in column `col` holds `text` exactly
    (dashboard section headers, wherever the data puts them)."""

    area: Area
    col: int
    text: str
    fill: str
    font: str
    bold: bool = True


@dataclass(frozen=True)
class Dropdown:
    """A list of allowed values on the data cells of one column (blank stays allowed)."""

    col: int
    values: tuple[str, ...]
    title: str  # the help text's title
    help: str  # shown when a cell is selected
    error: str  # shown when a value outside the list is typed


@dataclass(frozen=True)
class CellStyle:
    """A fixed style on an area (dashboard titles and section headers)."""

    area: Area
    fill: str = ""
    font: str = ""
    bold: bool = False
    size: int = 0  # font size in points; 0: unchanged


@dataclass(frozen=True)
class Chart:
    """A chart of the values in `values_col` labelled by `labels_col`, rows `first_row`..`last_row`."""

    title: str
    kind: str  # "bar" (horizontal bars) or "pie"
    labels_col: int
    values_col: int
    first_row: int
    last_row: int
    anchor_row: int  # the chart's top-left cell
    anchor_col: int
    width: int  # pixels
    height: int
    colours: tuple[str, ...] = ()  # per label (pie slices, bars), empty: the tool's own


@dataclass(frozen=True)
class SheetLayout:
    """Everything about how a sheet looks, as data.

    `owned_cols` are the columns whose formatting the layout manages: re-applying a layout
    resets them (and only them; columns staff added keep their own). `protected` areas warn,
    without blocking, whoever types there. `mark` identifies this exact layout: a backend stores
    it with the sheet and the core compares it, next run, to decide whether to apply again.
    """

    rows: int  # the data ranges (filter, dropdowns, colours, protection) end at this row
    width: int  # columns in use (the filter spans them all)
    owned_cols: tuple[int, ...] = ()
    frozen_rows: int = 0
    frozen_cols: int = 0
    header_filter: bool = False
    header_height: int = 0  # pixels; 0: unchanged
    columns: tuple[ColumnLayout, ...] = ()
    dropdowns: tuple[Dropdown, ...] = ()
    colours: tuple[ColourRule, ...] = ()
    protected: tuple[Area, ...] = ()
    protection_note: str = ""
    styles: tuple[CellStyle, ...] = ()
    row_rules: tuple[RowRule, ...] = ()
    charts: tuple[Chart, ...] = ()
    mark: str = ""
    # (column, pattern) date-time formats of the data cells, e.g. "dd/mm/yyyy hh:mm"
    number_formats: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CellWrite:
    """One value to write. Rows and columns are 1-based; strings are always written as text.

    A plain dataclass, not a pydantic model: a first run plans hundreds of thousands of them.
    """

    row: int
    col: int
    value: Cell


@dataclass(frozen=True)
class SheetWrite:
    """Everything a run writes into one sheet.

    `expected_keys` maps each existing row that `cells` touch to the key (ID) the plan read in
    column `key_col`; a backend that can see concurrent edits checks them before writing.
    `layout`, when set, is applied with the cells and its mark stored with the sheet.
    """

    sheet: str
    create: bool = False
    cells: tuple[CellWrite, ...] = ()
    key_col: int | None = None
    expected_keys: tuple[tuple[int, str], ...] = ()
    layout: SheetLayout | None = None  # set when the sheet's layout must be (re)applied

    @property
    def empty(self) -> bool:
        return not self.create and not self.cells and self.layout is None


@dataclass(frozen=True)
class WritePlan:
    sheets: tuple[SheetWrite, ...] = ()

    @property
    def empty(self) -> bool:
        return all(s.empty for s in self.sheets)

    @property
    def cell_count(self) -> int:
        return sum(len(s.cells) for s in self.sheets)
