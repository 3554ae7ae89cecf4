"""How each output sheet looks, as data: widths, header colours and notes, frozen panes, a filter,
the `Décision CUF` dropdown, status colours, warning-only protection, the dashboard's charts.

A layout depends only on the sheet's header row as this run leaves it and on how many rows the
data fills (rounded up to a generous bucket), never on cell values, so it is the same from one
run to the next until staff add or move a column, the data outgrows the formatted rows, or this
module changes. Each layout carries a `mark`, a short hash of itself; a backend stores it with
the sheet when it applies the layout (Google: developer metadata on the sheet; local workbook: a
hidden sheet-scoped defined name) and returns it on the next read. `with_layout` attaches a layout
to a sheet's write only when the mark read back differs: a new sheet, a changed layout. An idle
run therefore writes nothing, formatting included.

Colours come in pairs (fill, text) with a text contrast of at least 4.5:1 (WCAG AA), and the
states staff must tell apart (`Inscrit·e`, `Refusé·e`, `À vérifier`, `Non éligible`,
`Liste d'attente`) differ in lightness as well as in hue, so they stay distinct for colour-blind
readers and in grey-scale print; the text in the cell stays the source of truth.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace

from pipeline.core.model import (
    REJECTING,
    Area,
    Cell,
    CellStyle,
    Chart,
    ColourRule,
    ColumnLayout,
    Decision,
    Dropdown,
    Eligibility,
    Reason,
    RowRule,
    SheetLayout,
    SheetWrite,
    Status,
    ValueColour,
)
from pipeline.core.text import fold
from pipeline.core.vocabulary import DECISION, JOURNAL_FAILURE, STAFF_COLUMNS

LAYOUT_VERSION = 1
MARK_PREFIX = "dt-layout-"
MIN_ROWS = 1000  # data ranges cover at least this many rows; doubled while data fills half

# Header cells: pipeline-owned columns in a cool blue, staff columns in a warm yellow.
PIPELINE_HEADER = ("D9E2F3", "1F3864")
STAFF_HEADER = ("FFE699", "3D2E00")
TITLE_FONT = "1F3864"

AUTO_NOTE = (
    "Rempli automatiquement par le pipeline à chaque passage. Ne pas modifier : une "
    "modification ici serait remplacée au passage suivant."
)
AUTO_SUFFIX = " Rempli automatiquement : ne pas modifier."
# What each pipeline-owned column holds, as its header note says (then AUTO_SUFFIX).
COLUMN_NOTES = {
    "ID": "Identifiant stable de la personne, tiré de son adresse e-mail ; jamais réutilisé.",
    "Nom": "Nom de famille, écrit comme la personne l'écrit (MASSON devient Masson).",
    "Prénom": "Prénom, écrit comme la personne l'écrit (jean-marc devient Jean-Marc).",
    "Courriel": "Adresse e-mail de la dernière réponse valide.",
    "Téléphone": "Téléphone au format international (+33…), vide si absent ou illisible.",
    "Fonction": "Fonction déclarée dans le formulaire.",
    "Collectivité (saisie)": "La collectivité telle que la personne l'a tapée.",
    "Collectivité adhérente": (
        "L'adhérente reconnue dans la liste « Adhérents » ; vide si aucune. Pour corriger, "
        "ajoutez un nom dans « Autres noms » de la liste des adhérents."
    ),
    "Correspondance": (
        "Comment l'adhérente a été reconnue (nom exact, autre nom, SIREN, approchant…)."
    ),
    "Département": "Code du département (69, 2A, 971…).",
    "Nouvel·le élu·e": "Oui pour un premier mandat (élections de mars 2026) : prioritaire.",
    "Éligibilité": (
        "Certificat (élu·e d'une adhérente), Sessions (non élu·e d'une adhérente), "
        "Non adhérente, ou À vérifier (correspondance incertaine)."
    ),
    "Statut": "Où en est la personne dans la promotion ; une décision CUF l'emporte toujours.",
    "Rang": "Ordre de priorité parmi les personnes plaçables (1 = première servie).",
    "Première réponse": "Date et heure de la première réponse au formulaire.",
    "Dernière réponse": "Date et heure de la dernière réponse au formulaire.",
    "Réponses": "Nombre de réponses au formulaire fusionnées sur cette ligne.",
    "Courriels envoyés": (
        "Les courriels envoyés à la personne, avec leur date ; sert aussi de preuve : un "
        "courriel listé ici n'est jamais renvoyé."
    ),
    "Réf.": (
        "Référence du point : motif:ligne:ID (ligne du formulaire et personne, vides quand "
        "sans objet). Sert à retrouver le point d'un passage à l'autre."
    ),
    "Ligne": "Numéro de ligne dans la feuille des réponses au formulaire.",
    "Personne": "Prénom et nom tels que saisis (vide si le consentement manque).",
    "Motif": "Le problème, en clair ; rouge : réponse écartée, orange : à examiner.",
    "Code motif": "Le code du motif (champ_manquant, doublon_probable…), pour filtrer.",
    "Explication": "Ce qui ne va pas et comment le corriger.",
}
JOURNAL_NOTES = {
    "Début": "Début du passage (date et heure).",
    "Fin": "Fin du passage (date et heure).",
    "Résultat": "Succès ou Échec (l'échec est détaillé dans les journaux du serveur).",
    "Lignes lues": "Réponses au formulaire lues par ce passage.",
    "Nouvelles personnes": "Personnes apparues dans la promotion à ce passage.",
    "Mises à jour": "Lignes de la promotion modifiées à ce passage.",
    "Doublons": "Doublons probables signalés dans « À vérifier ».",
    "Anomalies": "Points listés dans « À vérifier » après ce passage.",
    "Courriels envoyés": "Courriels partis à ce passage.",
    "Courriels en échec": "Courriels refusés définitivement par le serveur (voir « À vérifier »).",
    "Courriels en attente": "Courriels à réessayer au passage suivant.",
    "Courriels incertains": "Envois interrompus : partis ou non (voir « À vérifier »).",
    "Exécution": "Identifiant du passage, pour retrouver ses journaux.",
}
WRAPPED_COLUMNS = frozenset({"Explication"})
DATE_TIME_COLUMNS = frozenset({"Première réponse", "Dernière réponse", "Début", "Fin"})
PROTECTION_NOTE = (
    "[diplomates] Rempli automatiquement : une modification ici serait remplacée au passage "
    "suivant. Les colonnes à remplir par l'équipe sont « Décision CUF » et « Notes CUF »."
)
DECISION_NOTE = (
    "À remplir par l'équipe CUF : choisissez dans la liste Accepté, Refusé, Liste d'attente ou "
    "Désisté ; vide = pas encore de décision. Le pipeline ne modifie jamais cette colonne."
)
NOTES_NOTE = (
    "À remplir par l'équipe CUF : notes libres. Le pipeline ne modifie jamais cette colonne."
)
DASHBOARD_NOTE = (
    "Tableau de bord rempli automatiquement à chaque passage qui change quelque chose. "
    "Ne pas modifier : il serait réécrit."
)

DECISION_TITLE = "Décision de l'équipe CUF"
DECISION_HELP = (
    "Accepté : place confirmée. Refusé ou Désisté : la personne sort de la promotion et sa "
    "place revient à la liste d'attente. Liste d'attente : mise en attente. Laissez vide tant "
    "que rien n'est décidé."
)
DECISION_ERROR = (
    "Choisissez une valeur de la liste : Accepté, Refusé, Liste d'attente ou Désisté "
    "(ou laissez la cellule vide)."
)

# (fill, text, bold) per value. Fill lightness (CIELAB L*), darkest first: Inscrit·e and
# Certificat 40, Sessions 62, Refusé·e 66, À vérifier 78, Non éligible and Non adhérente 87,
# Liste d'attente 92 (tests/unit/test_layout.py checks the gaps and the text contrast).
GREEN = ("276B2C", "FFFFFF", False)
RED = ("E8837E", "1A1A1A", False)
ORANGE = ("F7B267", "3D1F00", True)
GREY = ("D9D9D9", "262626", False)
YELLOW = ("FFE699", "4D3300", False)
BLUE_LIGHT = ("D6E6F5", "1F3864", False)
BLUE = ("5B9BD5", "0B1F33", False)
LAVENDER = ("E4DFEC", "3F2A56", False)
PALE = ("F2F2F2", "404040", False)

STATUS_COLOURS: dict[str, tuple[str, str, bool]] = {
    Status.INSCRIT.value: GREEN,
    Status.PROPOSE.value: BLUE_LIGHT,
    Status.LISTE_ATTENTE.value: YELLOW,
    Status.A_VERIFIER.value: ORANGE,
    Status.NON_ELIGIBLE.value: GREY,
    Status.REFUSE.value: RED,
    Status.DESISTE.value: PALE,
    Status.HORS_DELAI.value: LAVENDER,
}
ELIGIBILITY_COLOURS: dict[str, tuple[str, str, bool]] = {
    Eligibility.CERTIFICAT.value: GREEN,
    Eligibility.SESSIONS.value: BLUE,
    Eligibility.A_VERIFIER.value: ORANGE,
    Eligibility.NON_ADHERENTE.value: GREY,
}
REASON_COLOURS: dict[str, tuple[str, str, bool]] = {
    r.label: (RED if r in REJECTING else ORANGE) for r in Reason
}
JOURNAL_COLOURS: dict[str, tuple[str, str, bool]] = {JOURNAL_FAILURE: RED}

# Widths in characters, by header.
COHORT_WIDTHS = {
    "ID": 14, "Nom": 18, "Prénom": 16, "Courriel": 32, "Téléphone": 16, "Fonction": 28,
    "Collectivité (saisie)": 30, "Collectivité adhérente": 30, "Correspondance": 16,
    "Département": 13, "Nouvel·le élu·e": 12, "Éligibilité": 15, "Statut": 17, "Rang": 7,
    "Décision CUF": 17, "Notes CUF": 40, "Première réponse": 17, "Dernière réponse": 17,
    "Réponses": 10, "Courriels envoyés": 46,
}  # fmt: skip
REVIEW_WIDTHS = {
    "Réf.": 16, "Ligne": 7, "ID": 14, "Personne": 24, "Collectivité (saisie)": 28, "Motif": 26,
    "Explication": 80, "Code motif": 22,
}  # fmt: skip
JOURNAL_WIDTHS = {
    "Début": 17, "Fin": 17, "Résultat": 10, "Lignes lues": 11, "Nouvelles personnes": 12,
    "Mises à jour": 11, "Doublons": 10, "Anomalies": 10, "Courriels envoyés": 11,
    "Courriels en échec": 11, "Courriels en attente": 11, "Courriels incertains": 11,
    "Exécution": 34, "Courriels retrouvés": 11,
}  # fmt: skip
HEADER_HEIGHT = 36  # pixels: two lines of header text
FROZEN_IDENTITY = ("ID", "Nom", "Prénom")  # frozen on the left, when they lead the sheet

# The dashboard (see core/cohort.dashboard_grid): labels in A, numbers in B, charts from D.
CHART_COL = 4
CHART_WIDTH = 520
CHART_HEIGHT = 320
CHART_ROWS = 17  # rows a chart covers at the default row height, plus a gap


def layout_rows(data_rows: int) -> int:
    """The row the data ranges end at: MIN_ROWS, doubled until it is at least twice the data."""
    rows = MIN_ROWS
    while rows < 2 * data_rows:
        rows *= 2
    return rows


def layout_mark(layout: SheetLayout) -> str:
    """A short, stable fingerprint of everything the layout says (its own mark aside).

    Columns staff append after the layout's own do not count: nothing of the layout moved, so
    adding one does not re-apply it (the filter reaches such a column when the layout is next
    applied for another reason).
    """
    width = max(layout.owned_cols, default=0)
    text = repr((LAYOUT_VERSION, replace(layout, mark="", width=width)))
    text = text.replace(", number_formats=()", "")  # marks made before the field stay valid
    return MARK_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def marked(layout: SheetLayout) -> SheetLayout:
    return replace(layout, mark=layout_mark(layout))


def header_after(current: Sequence[Sequence[str]] | None, write: SheetWrite) -> list[str]:
    """The header row as the sheet will hold it once `write` is applied."""
    header = list(current[0]) if current else []
    for cell in write.cells:
        if cell.row != 1:
            continue
        while len(header) < cell.col:
            header.append("")
        header[cell.col - 1] = str(cell.value)
    while header and not header[-1].strip():
        header.pop()
    return header


def rows_after(current: Sequence[Sequence[str]] | None, write: SheetWrite) -> int:
    """How many rows the sheet uses once `write` is applied (an upper bound)."""
    return max([len(current or ())] + [cell.row for cell in write.cells])


def with_layout(
    write: SheetWrite, layout: SheetLayout, marks: Mapping[str, str] | None
) -> SheetWrite:
    """`write` carrying `layout` when the mark stored with the sheet is not this layout's."""
    if (marks or {}).get(write.sheet) == layout.mark:
        return write
    return replace(write, layout=layout)


def _runs(cols: Sequence[int]) -> list[tuple[int, int]]:
    """Contiguous runs of column numbers: [1, 2, 3, 5] -> [(1, 3), (5, 5)]."""
    runs: list[tuple[int, int]] = []
    for col in sorted(set(cols)):
        if runs and col == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], col)
        else:
            runs.append((col, col))
    return runs


def _colours(col: int, palette: Mapping[str, tuple[str, str, bool]]) -> ColourRule:
    return ColourRule(
        col=col,
        colours=tuple(
            ValueColour(text=text, fill=fill, font=font, bold=bold)
            for text, (fill, font, bold) in palette.items()
        ),
    )


def _positions(header: Sequence[str], known: Sequence[str]) -> dict[str, int]:
    """Known header -> its 1-based column (the first one when repeated)."""
    folded = {fold(name): name for name in known}
    found: dict[str, int] = {}
    for col, title in enumerate(header, start=1):
        name = folded.get(fold(title))
        if name is not None and name not in found:
            found[name] = col
    return found


def table_layout(
    header: Sequence[str],
    data_rows: int,
    widths: Mapping[str, int],
    staff: Sequence[str] = (),
    colours: Mapping[str, Mapping[str, tuple[str, str, bool]]] | None = None,
    frozen_cols: int = 0,
    dropdowns: Mapping[str, tuple[str, ...]] | None = None,
    notes: Mapping[str, str] = COLUMN_NOTES,
) -> SheetLayout:
    """The layout of a table sheet: header in row 1, one record per row below.

    Columns named in `widths` are the layout's own (staff-added columns are left alone); those
    in `staff` are the team's (yellow header, no protection), the others the pipeline's (blue
    header, note "rempli automatiquement", warning-only protection of their data cells).
    """
    rows = layout_rows(data_rows)
    at = _positions(header, list(widths))
    staff_set = set(staff)
    owned = sorted(at.values())
    columns = []
    for name, col in sorted(at.items(), key=lambda item: item[1]):
        fill, font = STAFF_HEADER if name in staff_set else PIPELINE_HEADER
        if name == DECISION:
            note = DECISION_NOTE
        elif name in staff_set:
            note = NOTES_NOTE
        elif name in notes:
            note = notes[name] + AUTO_SUFFIX
        else:
            note = AUTO_NOTE
        columns.append(
            ColumnLayout(
                col,
                widths[name],
                fill,
                font,
                note,
                wrap=name in WRAPPED_COLUMNS,
                date_time=name in DATE_TIME_COLUMNS,
            )  # fmt: skip
        )
    pipeline_cols = [col for name, col in at.items() if name not in staff_set]
    protected = [Area(1, left, 1, right) for left, right in _runs(owned)]
    protected += [Area(2, left, rows, right) for left, right in _runs(pipeline_cols)]
    rules = tuple(
        _colours(at[name], palette) for name, palette in (colours or {}).items() if name in at
    )
    lists = tuple(
        Dropdown(at[name], values, DECISION_TITLE, DECISION_HELP, DECISION_ERROR)
        for name, values in (dropdowns or {}).items()
        if name in at
    )
    return marked(
        SheetLayout(
            rows=rows,
            width=len(header),
            owned_cols=tuple(owned),
            frozen_rows=1,
            frozen_cols=frozen_cols,
            header_filter=True,
            header_height=HEADER_HEIGHT,
            columns=tuple(columns),
            dropdowns=lists,
            colours=rules,
            protected=tuple(protected),
            protection_note=PROTECTION_NOTE,
        )
    )


def cohort_layout(header: Sequence[str], data_rows: int) -> SheetLayout:
    """The cohort sheet: identity frozen on the left, decision dropdown, status colours."""
    frozen = 0
    for col, name in enumerate(FROZEN_IDENTITY):
        if col < len(header) and fold(header[col]) == fold(name):
            frozen = col + 1
        else:
            break
    return table_layout(
        header,
        data_rows,
        COHORT_WIDTHS,
        staff=STAFF_COLUMNS,
        colours={"Statut": STATUS_COLOURS, "Éligibilité": ELIGIBILITY_COLOURS},
        frozen_cols=frozen,
        dropdowns={DECISION: tuple(d.value for d in Decision)},
    )


def review_layout(header: Sequence[str], data_rows: int) -> SheetLayout:
    """`À vérifier`: rejected answers' reasons in red, the others in orange."""
    return table_layout(header, data_rows, REVIEW_WIDTHS, colours={"Motif": REASON_COLOURS})


def journal_layout(header: Sequence[str], data_rows: int) -> SheetLayout:
    """`Journal`: failed runs in red."""
    return table_layout(
        header,
        data_rows,
        JOURNAL_WIDTHS,
        colours={"Résultat": JOURNAL_COLOURS},
        notes=JOURNAL_NOTES,
    )


def _section(grid: Sequence[Sequence[Cell]], title: str) -> tuple[int, int] | None:
    """First and last 1-based rows of a dashboard section's items (below its title row)."""
    start = None
    for number, line in enumerate(grid, start=1):
        label = str(line[0]) if line else ""
        if start is None:
            if label == title and len(line) > 1 and line[1] == "Nombre":
                start = number + 1
            continue
        if not label:
            return (start, number - 1) if number > start else None
    if start is None or start > len(grid):
        return None
    return start, len(grid)


def dashboard_layout(grid: Sequence[Sequence[Cell]]) -> SheetLayout:
    """`Tableau de bord`: title, section headers, wide labels, and two charts of the cohort.

    Nothing here depends on counts: section headers are found by a conditional rule (column B
    says "Nombre"), and the charts read the Statut and Éligibilité sections, which list every
    value and so never move. The mark only changes when this module does.
    """
    rows = layout_rows(len(grid))
    fill, font = PIPELINE_HEADER
    charts = []
    status = _section(grid, "Statut")
    if status is not None:
        charts.append(
            Chart(
                title="Composition de la promotion par statut",
                kind="bar",
                labels_col=1,
                values_col=2,
                first_row=status[0],
                last_row=status[1],
                anchor_row=2,
                anchor_col=CHART_COL,
                width=CHART_WIDTH,
                height=CHART_HEIGHT,
            )
        )
    eligibility = _section(grid, "Éligibilité")
    if eligibility is not None:
        labels = [str(grid[row - 1][0]) for row in range(eligibility[0], eligibility[1] + 1)]
        charts.append(
            Chart(
                title="Éligibilité",
                kind="pie",
                labels_col=1,
                values_col=2,
                first_row=eligibility[0],
                last_row=eligibility[1],
                anchor_row=2 + CHART_ROWS,
                anchor_col=CHART_COL,
                width=CHART_WIDTH,
                height=CHART_HEIGHT,
                colours=tuple(ELIGIBILITY_COLOURS.get(label, GREY)[0] for label in labels),
            )
        )
    return marked(
        SheetLayout(
            rows=rows,
            width=2,
            owned_cols=(1, 2),
            columns=(
                ColumnLayout(1, 36, "", TITLE_FONT, DASHBOARD_NOTE),
                ColumnLayout(2, 14, "", TITLE_FONT),
            ),
            protected=(Area(1, 1, rows, 2),),
            protection_note=PROTECTION_NOTE,
            styles=(CellStyle(Area(1, 1, 1, 2), font=TITLE_FONT, bold=True, size=14),),
            row_rules=(RowRule(Area(2, 1, rows, 2), 2, "Nombre", fill, font),),
            charts=tuple(charts),
        )
    )
