"""What staff read when an answer is not matched: the French explanation and the candidates of
each kind of doubt or refusal (homonyms, lapsed members, an intercommunalité and its commune,
contradicted type or département, typos, unknown names), on the corpus' member list."""

from __future__ import annotations

import unicodedata

import pytest

from pipeline.adapters.reference import load_reference
from pipeline.core.matching import MemberIndex, build_index, match_authority
from pipeline.core.model import AuthorityKind, MatchOutcome
from tests.support.matching_corpus.corpus import load_members

C = AuthorityKind.COMMUNE
I = AuthorityKind.INTERCOMMUNALITE  # noqa: E741
D = AuthorityKind.DEPARTEMENT
R = AuthorityKind.REGION
A = AuthorityKind.AUTRE
NONE, AMBIGUOUS = MatchOutcome.NONE, MatchOutcome.AMBIGUOUS


def ascii_id(text: str) -> str:
    """Test ids in ASCII: mutmut cannot select a test whose id pytest escapes."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


@pytest.fixture(scope="module")
def index() -> MemberIndex:
    return build_index(load_members(), load_reference())


# (typed, type, département, outcome, candidates, explanation); members are those of
# matching_corpus/members.csv, the line of answers.csv each comes from is in the comment.
CASES = [
    (
        "Ivry",
        C,
        None,
        AMBIGUOUS,
        (
            "Évry-Courcouronnes (91) — Adhérents ligne 42",
            "Vry (57)",
            "Viry (39)",
            "Viry (71)",
            "Viry (74)",
        ),
        "« Ivry » ressemble à l'adhérente « Évry-Courcouronnes » (ligne 42, 91) (approché 75 %), mais aussi à Vry (57), Viry (39), Viry (71) ou Viry (74) ?",
    ),  # line 211
    (
        "Saint-Herblin",
        C,
        "44",
        AMBIGUOUS,
        ("Saint-Herblain (44) — Adhérents ligne 33", "Vair-sur-Loire (44)"),
        "« Saint-Herblin » ressemble à l'adhérente « Saint-Herblain » (ligne 33, 44) (approché 96 %), mais aussi à Vair-sur-Loire (44) ?",
    ),  # line 243
    (
        "Montpelier",
        C,
        None,
        AMBIGUOUS,
        ("Montpellier (34) — Adhérents ligne 6", "Montélier (26)"),
        "« Montpelier » ressemble à l'adhérente « Montpellier » (ligne 6, 34) (approché 95 %), mais aussi à Montélier (26) ?",
    ),  # line 269
    (
        "Saint-Denis",
        C,
        None,
        AMBIGUOUS,
        (
            "Saint-Denis (93, adhérente)",
            "Saint-Denis (974)",
            "Saint-Denis (11)",
            "Saint-Denis (30)",
        ),
        "« Saint-Denis » : 93 (adhérente) ou 974 ? Il existe aussi 2 petites communes de ce nom (11, 30). Le département n'est pas indiqué.",
    ),  # line 271
    (
        "Saint-Denis",
        None,
        None,
        AMBIGUOUS,
        (
            "Saint-Denis (93, adhérente)",
            "Saint-Denis (974)",
            "Saint-Denis (11)",
            "Saint-Denis (30)",
        ),
        "« Saint-Denis » : 93 (adhérente) ou 974 ? Il existe aussi 2 petites communes de ce nom (11, 30). Le département n'est pas indiqué.",
    ),  # line 272
    (
        "Saint-Denis",
        C,
        "974",
        NONE,
        (),
        "« Saint-Denis » : Saint-Denis (974) n'est pas adhérente (l'adhérente du même nom est Saint-Denis (93)).",
    ),  # line 273
    (
        "Saint-Denis",
        C,
        "11",
        NONE,
        (),
        "« Saint-Denis » : Saint-Denis (11) n'est pas adhérente (l'adhérente du même nom est Saint-Denis (93)).",
    ),  # line 274
    (
        "Saint-Pierre",
        C,
        None,
        AMBIGUOUS,
        (
            "Saint-Pierre (974, adhérente)",
            "Saint-Pierre (972)",
            "Saint-Pierre (67)",
            "Saint-Pierre (39)",
            "Saint-Pierre (51)",
            "Saint-Pierre (31)",
            "Saint-Pierre (15)",
            "Saint-Pierre (04)",
        ),
        "« Saint-Pierre » : 974 (adhérente) ? Il existe aussi 7 petites communes de ce nom (972, 67, 39, 51, 31, 15, 04). Le département n'est pas indiqué.",
    ),  # line 277
    (
        "Saint-Louis",
        C,
        None,
        AMBIGUOUS,
        (
            "Saint-Louis (68, adhérente)",
            "Saint-Louis (974)",
            "Saint-Louis (971)",
            "Saint-Louis (57)",
        ),
        "« Saint-Louis » : 68 (adhérente) ou 974 ? Il existe aussi 2 petites communes de ce nom (971, 57). Le département n'est pas indiqué.",
    ),  # line 280
    (
        "Valence",
        C,
        None,
        AMBIGUOUS,
        ("Valence (26, adhérente)", "Valence (82)", "Valence (16)"),
        "« Valence » : 26 (adhérente) ou 82 ? Il existe aussi 1 petite commune de ce nom (16). Le département n'est pas indiqué.",
    ),  # line 284
    (
        "Montreuil",
        C,
        None,
        AMBIGUOUS,
        ("Montreuil (93, adhérente)", "Montreuil (85)", "Montreuil (28)"),
        "« Montreuil » : 93 (adhérente) ? Il existe aussi 2 petites communes de ce nom (85, 28). Le département n'est pas indiqué.",
    ),  # line 288
    (
        "Montreuil",
        None,
        None,
        AMBIGUOUS,
        ("Montreuil (93, adhérente)", "Montreuil (85)", "Montreuil (28)"),
        "« Montreuil » : 93 (adhérente) ? Il existe aussi 2 petites communes de ce nom (85, 28). Le département n'est pas indiqué.",
    ),  # line 289
    (
        "Saint-Paul",
        C,
        "974",
        AMBIGUOUS,
        ("Saint-Paul — Adhérents ligne 53",),
        "« Saint-Paul » désigne Saint-Paul (974, peut-être adhérente), qui pourrait être l'adhérente « Saint-Paul » (ligne 53) ; cette ligne d'Adhérents correspond à plusieurs collectivités : précisez son type et son département.",
    ),  # line 292
    (
        "Saint-Paul",
        C,
        "60",
        AMBIGUOUS,
        ("Saint-Paul — Adhérents ligne 53",),
        "« Saint-Paul » désigne Saint-Paul (60, peut-être adhérente), qui pourrait être l'adhérente « Saint-Paul » (ligne 53) ; cette ligne d'Adhérents correspond à plusieurs collectivités : précisez son type et son département.",
    ),  # line 293
    (
        "Saint-Paul",
        C,
        None,
        AMBIGUOUS,
        (
            "Saint-Paul (974, peut-être adhérente)",
            "Saint-Paul (60, peut-être adhérente)",
            "Saint-Paul (87, peut-être adhérente)",
            "Saint-Paul (33, peut-être adhérente)",
            "Saint-Paul (61, peut-être adhérente)",
            "Saint-Paul (65, peut-être adhérente)",
            "Saint-Paul (19, peut-être adhérente)",
            "Saint-Paul (88, peut-être adhérente)",
        ),
        "« Saint-Paul » : 974 (peut-être adhérente), 60 (peut-être adhérente), 87 (peut-être adhérente), 33 (peut-être adhérente) ou 61 (peut-être adhérente) ? Il existe aussi 3 petites communes de ce nom (65, 19, 88). Le département n'est pas indiqué.",
    ),  # line 294
    (
        "Vienne",
        None,
        None,
        AMBIGUOUS,
        ("Vienne (département 86, adhérente)", "Vienne (38)"),
        "« Vienne » : Vienne (département 86, adhérente) ou Vienne (38) ? Le département n'est pas indiqué.",
    ),  # line 295
    (
        "Lamentin",
        C,
        None,
        AMBIGUOUS,
        ("Le Lamentin (972, adhérente)", "Lamentin (971)"),
        "« Lamentin » : Le Lamentin (972, adhérente) ou Lamentin (971) ? Le département n'est pas indiqué.",
    ),  # line 299
    (
        "Lamentin",
        C,
        "971",
        NONE,
        (),
        "« Lamentin » : Lamentin (971), qui n'est pas dans la liste des adhérentes.",
    ),  # line 300
    (
        "Lyons-la-Forêt",
        C,
        "27",
        NONE,
        (),
        "« Lyons-la-Forêt » : Lyons-la-Forêt (27), qui n'est pas dans la liste des adhérentes.",
    ),  # line 311
    (
        "Bretagne",
        None,
        None,
        AMBIGUOUS,
        ("Bretagne (région, adhérente)", "Bretagne (90)", "Bretagne (36)"),
        "« Bretagne » : Bretagne (région, adhérente) ? (et 2 autres) Le département n'est pas indiqué.",
    ),  # line 302
    (
        "La Rochelle",
        None,
        None,
        AMBIGUOUS,
        ("La Rochelle (17, adhérente)", "La Rochelle (70)"),
        "« La Rochelle » : 17 (adhérente) ? Il existe aussi 1 petite commune de ce nom (70). Le département n'est pas indiqué.",
    ),  # line 306
    (
        "Rochelle",
        None,
        None,
        AMBIGUOUS,
        ("La Rochelle (17, adhérente)", "La Rochelle (70)"),
        "« Rochelle » : 17 (adhérente) ? Il existe aussi 1 petite commune de ce nom (70). Le département n'est pas indiqué.",
    ),  # line 308
    (
        "Cergy-Pontoise",
        C,
        "95",
        AMBIGUOUS,
        ("Communauté d'agglomération de Cergy-Pontoise (78, 95)", "Cergy (95, adhérente)"),
        "« Cergy-Pontoise » désigne Communauté d'agglomération de Cergy-Pontoise (78, 95), mais le type indiqué est « Commune » : Cergy (95, adhérente) ?",
    ),  # line 346
    (
        "Poitiers",
        C,
        "86",
        NONE,
        (),
        "« Poitiers » : Poitiers (86) ; l'adhésion de l'adhérente « Poitiers » (ligne 24, 86) est résiliée.",
    ),  # line 347
    (
        "Mairie de Poitiers",
        C,
        None,
        NONE,
        (),
        "« Mairie de Poitiers » : Poitiers (86) ; l'adhésion de l'adhérente « Poitiers » (ligne 24, 86) est résiliée.",
    ),  # line 348
    (
        "Métropole de Lyon",
        I,
        "69",
        NONE,
        (),
        "« Métropole de Lyon » : Métropole de Lyon (69) ; l'adhésion de l'adhérente « Métropole de Lyon » (ligne 77, 69) est résiliée.",
    ),  # line 360
    (
        "Grand Lyon",
        I,
        "69",
        NONE,
        (),
        "« Grand Lyon » : Métropole de Lyon (69) ; l'adhésion de l'adhérente « Métropole de Lyon » (ligne 77, 69) est résiliée.",
    ),  # line 361
    (
        "Communauté d'agglomération de Bastia",
        I,
        "2B",
        NONE,
        (),
        "« Communauté d'agglomération de Bastia » : Communauté d'agglomération de Bastia (2B) ; l'adhésion de l'adhérente « Communauté d'agglomération de Bastia » (ligne 91, 2B) est résiliée.",
    ),  # line 363
    (
        "CA de Bastia",
        I,
        "2B",
        NONE,
        (),
        "« CA de Bastia » : Communauté d'agglomération de Bastia (2B) ; l'adhésion de l'adhérente « Communauté d'agglomération de Bastia » (ligne 91, 2B) est résiliée.",
    ),  # line 364
    (
        "Poitier",
        C,
        "86",
        NONE,
        (),
        "« Poitier » ressemble à l'adhérente « Poitiers » (ligne 24, 86), dont l'adhésion est résiliée.",
    ),  # line 365
    (
        "Brest",
        C,
        "29",
        NONE,
        (),
        "« Brest » : Brest (29) n'est pas adhérente ; Brest Métropole (29) l'est.",
    ),  # line 367
    (
        "Mairie de Brest",
        C,
        "29",
        NONE,
        (),
        "« Mairie de Brest » : Brest (29) n'est pas adhérente ; Brest Métropole (29) l'est.",
    ),  # line 368
    (
        "Brest",
        None,
        None,
        AMBIGUOUS,
        ("Brest (29)", "Brest Métropole (29, adhérente)"),
        "« Brest » : la commune Brest (29) n'est pas adhérente, mais Brest Métropole (29) l'est ; le type de collectivité n'est pas indiqué.",
    ),  # line 370
    (
        "Nice",
        C,
        "06",
        NONE,
        (),
        "« Nice » : Nice (06) n'est pas adhérente ; Métropole Nice Côte d'Azur (06) l'est.",
    ),  # line 373
    (
        "Ville de Nice",
        C,
        "06",
        NONE,
        (),
        "« Ville de Nice » : Nice (06) n'est pas adhérente ; Métropole Nice Côte d'Azur (06) l'est.",
    ),  # line 374
    (
        "Lyon",
        I,
        "69",
        AMBIGUOUS,
        ("Métropole de Lyon (69, adhésion résiliée)", "Lyon (69, adhérente)"),
        "« Lyon » : avec le type et le département indiqués, il s'agit de Métropole de Lyon (69, adhésion résiliée), qui n'est pas adhérente ; mais le nom désigne aussi Lyon (69, adhérente). Vérifiez le type de collectivité.",
    ),  # line 379
    (
        "Rennes Métropole",
        C,
        "35",
        AMBIGUOUS,
        ("Rennes Métropole (35, adhérente)",),
        "« Rennes Métropole » désigne Rennes Métropole (35, adhérente), mais le type indiqué est « Commune ».",
    ),  # line 383
    (
        "Gironde",
        C,
        "33",
        AMBIGUOUS,
        ("Gironde (département 33, adhérente)",),
        "« Gironde » désigne Gironde (département 33, adhérente), mais le type indiqué est « Commune ».",
    ),  # line 563
    (
        "Bordeaux",
        I,
        "33",
        AMBIGUOUS,
        ("Bordeaux Métropole (33)", "Bordeaux (33, adhérente)"),
        "« Bordeaux » : avec le type et le département indiqués, il s'agit de Bordeaux Métropole (33), qui n'est pas adhérente ; mais le nom désigne aussi Bordeaux (33, adhérente). Vérifiez le type de collectivité.",
    ),  # line 393
    (
        "Grand Besançon Métropole",
        C,
        "25",
        AMBIGUOUS,
        ("Communauté urbaine Grand Besançon Métropole (25, adhérente)",),
        "« Grand Besançon Métropole » désigne Communauté urbaine Grand Besançon Métropole (25, adhérente), mais le type indiqué est « Commune ».",
    ),  # line 400
    (
        "Landerneau",
        C,
        "29",
        NONE,
        (),
        "« Landerneau » : Landerneau (29) n'est pas adhérente ; Communauté d'agglomération du Pays de Landerneau-Daoulas (29) l'est.",
    ),  # line 402
    (
        "Quimperlé Communauté",
        I,
        "29",
        NONE,
        (),
        "« Quimperlé Communauté » : Communauté d'agglomération Quimperlé Communauté (29) n'est pas adhérente ; Quimperlé (29) l'est.",
    ),  # line 411
    (
        "Lannion-Trégor Communauté",
        I,
        "22",
        NONE,
        (),
        "« Lannion-Trégor Communauté » : Communauté d'agglomération Lannion-Trégor Communauté (22) n'est pas adhérente ; Lannion (22) l'est.",
    ),  # line 520
    (
        "Bayonne",
        I,
        "64",
        AMBIGUOUS,
        ("Bayonne (64)", "Communauté d'agglomération du Pays Basque (64, adhérente)"),
        "« Bayonne » désigne Bayonne (64), mais le type indiqué est « Intercommunalité » : Communauté d'agglomération du Pays Basque (64, adhérente) ?",
    ),  # line 412
    (
        "La Réunion",
        None,
        None,
        AMBIGUOUS,
        ("La Réunion (département 974, adhérente)", "La Réunion (région)", "La Réunion (47)"),
        "« La Réunion » : La Réunion (département 974, adhérente) ou La Réunion (région) ? (et 1 autres) Le département n'est pas indiqué.",
    ),  # line 428
    (
        "Guyane",
        R,
        "973",
        NONE,
        (),
        "« Guyane » : Collectivité territoriale de Guyane (région), qui n'est pas dans la liste des adhérentes.",
    ),  # line 438
    (
        "Collectivité territoriale de Guyane",
        A,
        "973",
        NONE,
        (),
        "« Collectivité territoriale de Guyane » : Collectivité territoriale de Guyane (région), qui n'est pas dans la liste des adhérentes.",
    ),  # line 439
    (
        "Mayotte",
        D,
        "976",
        NONE,
        (),
        "« Mayotte » : Département de Mayotte (région), qui n'est pas dans la liste des adhérentes.",
    ),  # line 440
    (
        "Département de Mayotte",
        None,
        None,
        NONE,
        (),
        "« Département de Mayotte » : Département de Mayotte (région), qui n'est pas dans la liste des adhérentes.",
    ),  # line 441
    (
        "CINOR",
        I,
        "974",
        NONE,
        (),
        "« CINOR » : Communauté d'agglomération Intercommunale du Nord de la Réunion (CINOR) (974), qui n'est pas dans la liste des adhérentes.",
    ),  # line 447
    (
        "Ajaccio",
        C,
        "2B",
        AMBIGUOUS,
        ("Ajaccio (2A, adhérente)",),
        "« Ajaccio » désigne Ajaccio (2A, adhérente), mais le département indiqué est 2B (Haute-Corse).",
    ),  # line 454
    (
        "Bastia",
        C,
        "2A",
        AMBIGUOUS,
        ("Bastia (2B, adhérente)",),
        "« Bastia » désigne Bastia (2B, adhérente), mais le département indiqué est 2A (Corse-du-Sud).",
    ),  # line 457
    (
        "Communauté d'agglomération du Pays Ajaccien",
        I,
        "2A",
        NONE,
        (),
        "« Communauté d'agglomération du Pays Ajaccien » : Communauté d'agglomération du Pays Ajaccien (2A), qui n'est pas dans la liste des adhérentes.",
    ),  # line 471
    (
        "Bastia",
        I,
        "2B",
        AMBIGUOUS,
        ("Communauté d'agglomération de Bastia (2B, adhésion résiliée)", "Bastia (2B, adhérente)"),
        "« Bastia » : avec le type et le département indiqués, il s'agit de Communauté d'agglomération de Bastia (2B, adhésion résiliée), qui n'est pas adhérente ; mais le nom désigne aussi Bastia (2B, adhérente). Vérifiez le type de collectivité.",
    ),  # line 474
    (
        "Région Pays de la Loire",
        R,
        "44",
        NONE,
        (),
        "« Région Pays de la Loire » : Pays de la Loire (région), qui n'est pas dans la liste des adhérentes.",
    ),  # line 513
    (
        "Communauté de communes du Pays de Pontchâteau Saint-Gildas-des-Bois",
        I,
        "44",
        NONE,
        (),
        "« Communauté de communes du Pays de Pontchâteau Saint-Gildas-des-Bois » : Communauté de communes du Pays de Pontchâteau Saint-Gildas-des-Bois (44), qui n'est pas dans la liste des adhérentes.",
    ),  # line 517
    (
        "CC Faucigny-Glières",
        I,
        "74",
        NONE,
        (),
        "« CC Faucigny-Glières » : Communauté de communes Faucigny-Glières (74), qui n'est pas dans la liste des adhérentes.",
    ),  # line 518
    (
        "Communauté d'agglomération Morlaix Communauté",
        I,
        "29",
        NONE,
        (),
        "« Communauté d'agglomération Morlaix Communauté » : Communauté d'agglomération Morlaix Communauté (29), qui n'est pas dans la liste des adhérentes.",
    ),  # line 519
    (
        "Grand Poitiers",
        I,
        "86",
        NONE,
        (),
        "« Grand Poitiers » : Communauté urbaine du Grand Poitiers (86), qui n'est pas dans la liste des adhérentes.",
    ),  # line 521
    (
        "200046977",
        None,
        None,
        NONE,
        (),
        "« 200046977 » : le SIREN est celui de l'adhérente « Métropole de Lyon » (ligne 77, 69), adhésion résiliée.",
    ),  # line 545
    (
        "Lyon",
        C,
        "29",
        AMBIGUOUS,
        ("Lyon (69, adhérente)",),
        "« Lyon » désigne Lyon (69, adhérente), mais le département indiqué est 29 (Finistère).",
    ),  # line 558
    (
        "Strasbourg",
        C,
        "68",
        AMBIGUOUS,
        ("Strasbourg (67, adhérente)",),
        "« Strasbourg » désigne Strasbourg (67, adhérente), mais le département indiqué est 68 (Haut-Rhin).",
    ),  # line 559
    (
        "Montpellier",
        C,
        "30",
        AMBIGUOUS,
        ("Montpellier (34, adhérente)",),
        "« Montpellier » désigne Montpellier (34, adhérente), mais le département indiqué est 30 (Gard).",
    ),  # line 560
    (
        "Nantes",
        C,
        "85",
        AMBIGUOUS,
        ("Nantes (44, adhérente)",),
        "« Nantes » désigne Nantes (44, adhérente), mais le département indiqué est 85 (Vendée).",
    ),  # line 561
    (
        "Finistère",
        D,
        "56",
        AMBIGUOUS,
        ("Finistère (département 29, adhérente)",),
        "« Finistère » désigne Finistère (département 29, adhérente), mais le département indiqué est 56 (Morbihan).",
    ),  # line 562
    (
        "Quimper",
        C,
        "35",
        NONE,
        (),
        "« Quimper » désigne Quimper (29), qui n'est pas adhérente (le département indiqué est 35 (Ille-et-Vilaine)).",
    ),  # line 569
    (
        "Reims",
        C,
        "29",
        NONE,
        (),
        "« Reims » désigne Reims (51), qui n'est pas adhérente (le département indiqué est 29 (Finistère)).",
    ),  # line 570
    (
        "Cayenne",
        C,
        "971",
        AMBIGUOUS,
        ("Cayenne (973, adhérente)",),
        "« Cayenne » désigne Cayenne (973, adhérente), mais le département indiqué est 971 (Guadeloupe).",
    ),  # line 573
    (
        "Mamoudzou",
        C,
        "974",
        AMBIGUOUS,
        ("Mamoudzou (976, adhérente)",),
        "« Mamoudzou » désigne Mamoudzou (976, adhérente), mais le département indiqué est 974 (La Réunion).",
    ),  # line 574
    (
        "Ville de Brest",
        I,
        "29",
        AMBIGUOUS,
        ("Brest (29)", "Brest Métropole (29, adhérente)"),
        "« Ville de Brest » désigne Brest (29), mais le type indiqué est « Intercommunalité » : Brest Métropole (29, adhérente) ?",
    ),  # line 580
    (
        "Association des maires de France",
        A,
        None,
        NONE,
        (),
        "« Association des maires de France » ne correspond à aucune adhérente.",
    ),  # line 585
    (
        "Syndicat mixte du bassin de la Rance",
        A,
        "35",
        NONE,
        (),
        "« Syndicat mixte du bassin de la Rance » ne correspond à aucune adhérente.",
    ),  # line 586
    (
        "Mairie",
        C,
        "35",
        AMBIGUOUS,
        (),
        "« Mairie » ne nomme pas de collectivité précise.",
    ),  # line 587
    (
        "Conseil départemental",
        D,
        None,
        AMBIGUOUS,
        (),
        "« Conseil départemental » ne nomme pas de collectivité précise.",
    ),  # line 588
    ("-", None, None, AMBIGUOUS, (), "« - » ne nomme pas de collectivité."),  # line 595
    # answers outside the corpus: shortened names, contradicted types and départements
    ("Ivry", D, "94", NONE, (), "« Ivry » ne correspond à aucune adhérente."),
    ("Ivry", I, "94", NONE, (), "« Ivry » ne correspond à aucune adhérente."),
    (
        "Clermont",
        C,
        None,
        NONE,
        (),
        "« Clermont » : Clermont (09), Clermont (40), Clermont (60) et Clermont (74) ; aucune n'est adhérente.",
    ),
    ("Aix", C, None, NONE, (), "« Aix » : Aix (19), qui n'est pas dans la liste des adhérentes."),
    (
        "Saint-Herbl",
        C,
        "44",
        AMBIGUOUS,
        ("Saint-Herblain (44) — Adhérents ligne 33",),
        "« Saint-Herbl » n'est pas un nom de collectivité connu ; il ressemble à l'adhérente « Saint-Herblain » (ligne 33, 44).",
    ),
    (
        "Cherbourg",
        C,
        "14",
        AMBIGUOUS,
        ("Cherbourg-en-Cotentin (50, adhérente)",),
        "« Cherbourg » désigne Cherbourg-en-Cotentin (50, adhérente), mais le département indiqué est 14 (Calvados).",
    ),
    (
        "Romainville",
        C,
        "94",
        AMBIGUOUS,
        ("Romainville (93, adhérente)",),
        "« Romainville » désigne Romainville (93, adhérente), mais le département indiqué est 94 (Val-de-Marne).",
    ),
    (
        "Saint",
        C,
        "44",
        AMBIGUOUS,
        ("Saint-Herblain (44) — Adhérents ligne 33",),
        "« Saint » désigne Le Saint (56), mais le département indiqué est 44 (Loire-Atlantique) ; nom abrégé de l'adhérente « Saint-Herblain » (ligne 33, 44) ?",
    ),
    (
        "Saint",
        None,
        "93",
        AMBIGUOUS,
        ("Saint-Denis (93) — Adhérents ligne 3",),
        "« Saint » désigne Le Saint (56), mais le département indiqué est 93 (Seine-Saint-Denis) ; nom abrégé de l'adhérente « Saint-Denis » (ligne 3, 93) ?",
    ),
    (
        "Ivry",
        C,
        "91",
        AMBIGUOUS,
        ("Évry-Courcouronnes (91) — Adhérents ligne 42", "Igny (91)"),
        "« Ivry » ressemble à l'adhérente « Évry-Courcouronnes » (ligne 42, 91) (approché 75 %), mais aussi à Igny (91) ?",
    ),
    (
        "Évry",
        C,
        "94",
        AMBIGUOUS,
        ("Évry-Courcouronnes (91, adhérente)",),
        "« Évry » désigne Évry (89) et Évry-Courcouronnes (91, adhérente), mais le département indiqué est 94 (Val-de-Marne).",
    ),
    (
        "Lamballe",
        C,
        "44",
        NONE,
        (),
        "« Lamballe » désigne Lamballe-Armor (22), qui n'est pas adhérente (le département indiqué est 44 (Loire-Atlantique)).",
    ),
    (
        "Saint Denis",
        None,
        "974",
        NONE,
        (),
        "« Saint Denis » : Saint-Denis (974) n'est pas adhérente (l'adhérente du même nom est Saint-Denis (93)).",
    ),
    (
        "Cergy",
        I,
        "95",
        AMBIGUOUS,
        ("Communauté d'agglomération de Cergy-Pontoise (78, 95)", "Cergy (95, adhérente)"),
        "« Cergy » : avec le type et le département indiqués, il s'agit de Communauté d'agglomération de Cergy-Pontoise (78, 95), qui n'est pas adhérente ; mais le nom désigne aussi Cergy (95, adhérente). Vérifiez le type de collectivité.",
    ),
    (
        "Métropole de Montpellier",
        C,
        "34",
        AMBIGUOUS,
        ("Montpellier Méditerranée Métropole (34, adhérente)",),
        "« Métropole de Montpellier » désigne Montpellier Méditerranée Métropole (34, adhérente), mais le type indiqué est « Commune ».",
    ),
    ("Grand Paris Sud", C, "91", NONE, (), "« Grand Paris Sud » ne correspond à aucune adhérente."),
    (
        "Lyon",
        D,
        "69",
        AMBIGUOUS,
        ("Lyon (69, adhérente)",),
        "« Lyon » désigne Lyon (69, adhérente), mais le type indiqué est « Département ».",
    ),
    (
        "Bretagne",
        D,
        "35",
        AMBIGUOUS,
        ("Bretagne (région, adhérente)",),
        "« Bretagne » désigne Bretagne (région, adhérente), mais le type indiqué est « Département ».",
    ),
    (
        "Finistère",
        C,
        "29",
        AMBIGUOUS,
        ("Finistère (département 29, adhérente)",),
        "« Finistère » désigne Finistère (département 29, adhérente), mais le type indiqué est « Commune ».",
    ),
    (
        "Corse",
        C,
        None,
        AMBIGUOUS,
        ("Collectivité de Corse (région, adhérente)",),
        "« Corse » désigne Collectivité de Corse (région, adhérente), mais le type indiqué est « Commune ».",
    ),
    # a real name that contradicts the form, and a typo of a member; both contradictions
    (
        "Montélier",
        C,
        "34",
        AMBIGUOUS,
        ("Montpellier (34) — Adhérents ligne 6",),
        "« Montélier » désigne Montélier (26), mais le département indiqué est 34 (Hérault) ; faute de frappe pour l'adhérente « Montpellier » (ligne 6, 34) ?",
    ),
    (
        "Finistère",
        C,
        "56",
        AMBIGUOUS,
        ("Finistère (département 29, adhérente)",),
        "« Finistère » désigne Finistère (département 29, adhérente), mais le type indiqué est « Commune » et le département indiqué est 56 (Morbihan).",
    ),
    (
        "Vienne",
        C,
        "86",
        AMBIGUOUS,
        ("Vienne (département 86, adhérente)",),
        "« Vienne » désigne Vienne (département 86, adhérente), mais le type et le département indiqués ne concordent pas.",
    ),
    (
        "Saint-Martin",
        D,
        "29",
        NONE,
        (),
        "« Saint-Martin » désigne Saint-Martin (32), Saint-Martin (54), Saint-Martin (65) et Saint-Martin (67), qui n'est pas adhérente (le département indiqué est 29 (Finistère)).",
    ),
    (
        "Montelier",
        None,
        "34",
        AMBIGUOUS,
        ("Montpellier (34) — Adhérents ligne 6",),
        "« Montelier » désigne Montélier (26), mais le département indiqué est 34 (Hérault) ; faute de frappe pour l'adhérente « Montpellier » (ligne 6, 34) ?",
    ),
    (
        "Strasbourg",
        D,
        "68",
        AMBIGUOUS,
        ("Strasbourg (67, adhérente)",),
        "« Strasbourg » désigne Strasbourg (67, adhérente), mais le type indiqué est « Département » et le département indiqué est 68 (Haut-Rhin).",
    ),
    (
        "Saint-Pierre",
        D,
        "29",
        AMBIGUOUS,
        ("Saint-Pierre (974, adhérente)",),
        "« Saint-Pierre » désigne Saint-Pierre (04), Saint-Pierre (15), Saint-Pierre (31) et Saint-Pierre (39), mais le type indiqué est « Département » et le département indiqué est 29 (Finistère).",
    ),
    # the start of a member's name: matched only with the département, alone to start so
    (
        "Ivry sur",
        None,
        None,
        AMBIGUOUS,
        ("Ivry-sur-Seine (94) — Adhérents ligne 31",),
        "« Ivry sur » : nom abrégé de l'adhérente « Ivry-sur-Seine » (ligne 31, 94) ?",
    ),
    (
        "Pointe",
        C,
        "971",
        AMBIGUOUS,
        ("Pointe-à-Pitre (971) — Adhérents ligne 48",),
        "« Pointe » : nom abrégé de l'adhérente « Pointe-à-Pitre » (ligne 48, 971) ?",
    ),
    (
        "Pointe",
        None,
        None,
        AMBIGUOUS,
        ("Pointe-à-Pitre (971) — Adhérents ligne 48",),
        "« Pointe » : nom abrégé de l'adhérente « Pointe-à-Pitre » (ligne 48, 971) ?",
    ),
    (
        "Pointe à",
        None,
        "971",
        AMBIGUOUS,
        ("Pointe-à-Pitre (971) — Adhérents ligne 48",),
        "« Pointe à » : nom abrégé de l'adhérente « Pointe-à-Pitre » (ligne 48, 971) ?",
    ),
    (
        "Seine",
        None,
        None,
        AMBIGUOUS,
        ("Conseil départemental de la Seine-Saint-Denis (93) — Adhérents ligne 55",),
        "« Seine » : nom abrégé de l'adhérente « Conseil départemental de la Seine-Saint-Denis » (ligne 55, 93) ?",
    ),
    (
        "Ille",
        D,
        None,
        AMBIGUOUS,
        ("Ille-et-Vilaine (35) — Adhérents ligne 57",),
        "« Ille » : nom abrégé de l'adhérente « Ille-et-Vilaine » (ligne 57, 35) ?",
    ),
    # a typo of an intercommunalité's core name is one only when the answer says intercommunalité
    ("Brestt", None, None, NONE, (), "« Brestt » ne correspond à aucune adhérente."),
    ("Brestt", C, "29", NONE, (), "« Brestt » ne correspond à aucune adhérente."),
]


@pytest.mark.parametrize(
    ("typed", "kind", "department", "outcome", "candidates", "explanation"),
    CASES,
    ids=[ascii_id(f"{c[0]}-{c[1].value if c[1] else '-'}-{c[2] or '-'}") for c in CASES],
)
def test_explanation_and_candidates(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    outcome: MatchOutcome,
    candidates: tuple[str, ...],
    explanation: str,
) -> None:
    """An unmatched answer gets its outcome, the candidates staff choose from and the French
    explanation of why."""
    match = match_authority(index, typed, kind, department)
    assert (match.outcome, match.member, match.method) == (outcome, None, "")
    assert match.candidates == candidates
    assert match.explanation == explanation


# Answers outside the corpus that are matched: (typed, type, département, member row, method)
MATCHES = [
    ("Ivry", C, "94", 31, "nom abrégé"),
    ("Ivry", None, "94", 31, "nom abrégé"),
    ("Ivry sur", C, "94", 31, "nom abrégé"),
    ("Cherbourg", C, None, 22, "nom"),
    ("Cherbourg", None, "50", 22, "nom"),
    ("Mairie d Ivry", None, "94", 31, "nom abrégé"),
    ("Clermont", D, "63", 20, "nom (type ignoré)"),
    ("Aix", C, "13", 21, "nom"),
    ("Aix", R, "13", 21, "nom (type ignoré)"),
    ("Val", D, "94", 59, "nom abrégé"),
    ("Bordeaux", R, "33", 7, "nom (type ignoré)"),
    ("Montpellier", I, "34", 83, "nom"),
    ("Seine", D, "93", 55, "nom abrégé"),
    ("Seine Saint", None, "93", 55, "nom abrégé"),
    ("Ille", None, "35", 57, "nom abrégé"),
    ("Ille et", D, "35", 57, "nom abrégé"),
    ("Seine", None, "93", 55, "nom abrégé"),
    ("Bresst", I, "29", 75, "approché 91 %"),
    ("Rennnes", None, None, 9, "approché 92 %"),
    ("Renes", C, "35", 9, "approché 91 %"),
]


@pytest.mark.parametrize(
    ("typed", "kind", "department", "row", "method"),
    MATCHES,
    ids=[ascii_id(f"{c[0]}-{c[1].value if c[1] else '-'}-{c[2] or '-'}") for c in MATCHES],
)
def test_match_and_method(
    index: MemberIndex,
    typed: str,
    kind: AuthorityKind | None,
    department: str | None,
    row: int,
    method: str,
) -> None:
    """The answer is matched to its member, by the method shown in `Correspondance`."""
    match = match_authority(index, typed, kind, department)
    assert match.member is not None, match.explanation
    assert (match.outcome, match.member.row, match.method) == (MatchOutcome.MATCHED, row, method)
