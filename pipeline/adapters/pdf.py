"""Certificates and attestations as PDF: a Jinja2 HTML template laid out by WeasyPrint.

A4, one page, tagged (PDF/UA-1: a screen reader and `pdftotext` read the text in order, the
language is French, the title is the document's). The stylesheet and the fonts are prepared
once per renderer and reused for every document: only the person's page is laid out each time.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipeline.config import ProgrammeSettings
from pipeline.core.model import Template

DOCUMENT_DIR = Path(__file__).resolve().parents[2] / "templates" / "document"
PDF_VARIANT = "pdf/ua-1"
# Faces the stylesheet uses, from Debian's fonts-dejavu-core (installed by `make install`).
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
)
FACES = (
    ("DT Serif", "normal", "DejaVuSerif.ttf"),
    ("DT Serif", "bold", "DejaVuSerif-Bold.ttf"),
    ("DT Sans", "normal", "DejaVuSans.ttf"),
    ("DT Sans", "bold", "DejaVuSans-Bold.ttf"),
    ("DT Mono", "normal", "DejaVuSansMono.ttf"),
    ("DT Mono", "bold", "DejaVuSansMono-Bold.ttf"),
)
# What French text needs: Latin-1, Œ œ Ÿ, typographic quotes, dashes, ellipsis, no-break and
# narrow no-break spaces, the euro sign, the middle dot; WeasyPrint subsets again per document.
FRENCH = (
    list(range(0x20, 0x7F)) + list(range(0xA0, 0x180)) + [0x178, 0x2C6, 0x2DC]
    + list(range(0x2010, 0x2027)) + [0x202F, 0x2039, 0x203A, 0x20AC, 0x2122]
)  # fmt: skip


def _reduced_fonts(target: Path) -> str:
    """Cut the faces down to `FRENCH` once, into `target`; the `@font-face` rules for them.

    WeasyPrint subsets every font of every document: with HarfBuzz when libharfbuzz-subset is
    installed (tools/system_deps.sh installs it), else with fontTools, which reads the whole
    font file each time (0.4 s a document with DejaVu's thousands of glyphs). Fonts of a few
    hundred glyphs make that step fast either way. A face not found is left out: the
    stylesheet then falls back to the system's DejaVu (slower, same look)."""
    from fontTools import subset

    logging.getLogger("fontTools").setLevel(logging.ERROR)  # "FFTM NOT subset": expected
    rules = []
    for family, weight, filename in FACES:
        source = next((d / filename for d in FONT_DIRS if (d / filename).is_file()), None)
        if source is None:
            continue
        reduced = target / filename
        if not reduced.is_file():
            options = subset.Options()
            # No GPOS/GSUB: fontTools would decompile them at every document; what they add
            # to French text set in DejaVu (kerning pairs) is barely visible.
            options.layout_features = []
            options.drop_tables += ["GPOS", "GSUB", "GDEF"]
            options.name_IDs = ["*"]
            options.notdef_outline = True
            font = subset.load_font(str(source), options)
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=FRENCH)
            subsetter.subset(font)
            partial = reduced.with_suffix(".part")
            subset.save_font(font, str(partial), options)
            partial.replace(reduced)
        rules.append(
            f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
            f'src: url("{reduced.as_uri()}"); }}'
        )
    return "\n".join(rules)


@dataclass(frozen=True)
class DocumentFacts:
    """Everything one document shows."""

    kind: Template  # CERTIFICAT or ATTESTATION
    full_name: str
    authority: str  # the member collectivité
    cohort: str
    code: str
    attended_count: int
    held_count: int
    hours: str  # `31 h 30`
    sessions: tuple[str, ...]  # `Titre (20 mai 2026)` of each session attended
    issued: datetime


LABELS = {
    Template.CERTIFICAT: "Certificat d’auditeur",
    Template.ATTESTATION: "Attestation de participation",
}


class DocumentRenderer:
    """Renders documents; build one per run (or process) and reuse it."""

    def __init__(
        self,
        programme: ProgrammeSettings,
        templates_dir: Path | None = None,
        font_cache: Path | None = None,
    ) -> None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        folder = (templates_dir or DOCUMENT_DIR).resolve()
        if font_cache is None:
            font_cache = Path(tempfile.gettempdir()) / f"diplomates-fonts-{os.getuid()}"
        font_cache.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder = folder
        self.programme = programme
        env = Environment(
            loader=FileSystemLoader(folder),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html",), default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.template = env.get_template("document.html")
        self.fonts = FontConfiguration()
        self.faces = CSS(string=_reduced_fonts(font_cache), font_config=self.fonts)
        self.css = CSS(filename=str(folder / "style.css"), font_config=self.fonts)
        self.cache: dict[str, object] = {}

    def html(self, facts: DocumentFacts) -> str:
        from pipeline.adapters.mail.render import french_date

        return self.template.render(
            kind=facts.kind.value,
            label=LABELS[facts.kind],
            full_name=facts.full_name,
            authority=facts.authority,
            cohort_name=facts.cohort,
            code=facts.code,
            attended_count=facts.attended_count,
            held_count=facts.held_count,
            hours=facts.hours,
            sessions=facts.sessions,
            issued=french_date(facts.issued),
            programme=self.programme,
            signatory=self.programme.signature,
        )

    def render(self, facts: DocumentFacts) -> bytes:
        from weasyprint import HTML

        document = HTML(string=self.html(facts), base_url=str(self.folder))
        data = document.write_pdf(
            stylesheets=[self.faces, self.css],
            font_config=self.fonts,
            pdf_variant=PDF_VARIANT,
            cache=self.cache,
        )
        assert data is not None
        return bytes(data)
