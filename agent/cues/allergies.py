"""Allergy status (Z88, Z91.0-): "PCN allergy", "allergic to sulfa", "Allergies: codeine,
latex". An allergy on the chart's allergy list is a status a coder reports (I.C.21.c.3: Z88
allergy status to drugs, Z91.0- to food, latex, insects and contrast); the reaction itself,
when it happens this stay, is coded from Chapter 19 instead."""

from __future__ import annotations

import re

from agent.cues import Cue, any_of

_GUIDELINE = "I.C.21.c.3"
# What a patient is allergic to, by the status code a coder reports for it.
_ALLERGENS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("penicillin", "Z88.0", ("penicillins?", "PCN", "amoxicillin", "ampicillin", "augmentin",
                             "nafcillin", "piperacillin", "dicloxacillin")),
    ("other antibiotic", "Z88.1", ("cephalosporins?", "cephalexin", "keflex", "cefazolin",
                                   "ceftriaxone", "cefuroxime", "erythromycin",
                                   "azithromycin", "clarithromycin", "macrolides?",
                                   "vancomycin", "doxycycline", "tetracyclines?",
                                   "ciprofloxacin", "levofloxacin", "fluoroquinolones?",
                                   "quinolones?", "clindamycin", "gentamicin",
                                   "aminoglycosides?", "nitrofurantoin")),
    ("sulfonamide", "Z88.2", ("sulfa", "sulfonamides?", "bactrim", "sulfamethoxazole",
                              "TMP-SMX")),
    ("anesthetic", "Z88.4", ("lidocaine", "novocaine", "local anesthetics?",
                             "anesthesia")),
    ("narcotic", "Z88.5", ("codeine", "morphine", "opioids?", "opiates?", "hydrocodone",
                           "oxycodone", "narcotics?", "tramadol", "hydromorphone",
                           "dilaudid", "percocet", "vicodin")),
    ("analgesic", "Z88.6", ("aspirin", "ASA", "NSAIDs?", "ibuprofen", "naproxen", "motrin",
                            "advil", "aleve")),
    ("serum or vaccine", "Z88.7", ("vaccines?", "serum")),
    ("peanut", "Z91.010", ("peanuts?",)),
    ("milk", "Z91.011", ("milk", "dairy")),
    ("egg", "Z91.012", ("eggs?",)),
    ("seafood", "Z91.013", ("shellfish", "seafood", "shrimp", "fish")),
    ("insect", "Z91.030", ("bee stings?", "bees?", "wasps?", "insect stings?")),
    ("latex", "Z91.040", ("latex",)),
    ("contrast", "Z91.041", ("contrast(?: dye| media)?", "iodinated contrast", "IV contrast",
                             "radiographic dye", "iodine")),
)  # fmt: skip
# "PCN allergy", "penicillin-allergic", "allergic to PCN", "Allergies: sulfa, latex" (up to
# a few list items, each with its reaction in brackets, before it). Each word is atomic: a
# word is never given back in pieces, which matched nothing more (the same matches on every
# CodiEsp sentence and suite chart) but cost ~185 ms on one long sentence.
_LIST = r"(?:(?>[\w/-]+)(?: (?>[\w/-]+))?(?: ?\([^()]{0,30}\))?\s*(?:,|and|&)?\s*){0,4}?"


def _cues(name: str, code: str, words: tuple[str, ...]) -> tuple[Cue, Cue]:
    allergen = any_of(*words)
    pattern = (
        rf"{allergen}[- ](?:allerg(?:y|ies|ic)|hypersensitivity)"
        rf"|\ballerg(?:y|ies|ic)\s*(?:to|:)?\s*{_LIST}{allergen}"
    )
    stated = Cue(f"{name} allergy status", re.compile(pattern, re.I), code, _GUIDELINE)
    listed = Cue(
        f"{name} allergy status (allergy list)",
        re.compile(allergen, re.I),
        code,
        _GUIDELINE,
        sections=("allergies",),
    )
    return stated, listed


ALLERGY_CUES: tuple[Cue, ...] = tuple(cue for a in _ALLERGENS for cue in _cues(*a))
