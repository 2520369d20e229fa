"""Spans of postal addresses in German and English text.

- German-speaking countries: a street ending in a street word ("Hauptstraße", "Frederik-Ortner-Ring",
  "Alte Landstr.") and a house number ("12", "12a", "6/3", "26-83"), then optionally a 4- or 5-digit
  postcode and the town ("10115 Berlin", "5760 Saalfelden am Steinernen Meer"). "Am Markt 3" and other
  streets without a street word count only with their postcode and town.
- US and UK: a house number, a street ending in a USPS or UK street word, an optional unit, the town,
  and the state and ZIP code or the UK postcode. A UK postcode alone is redacted too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["address_spans"]

_UP = "".join(c for c in map(chr, range(0x41, 0x250)) if c.isalpha() and c.isupper())
_LO = "".join(c for c in map(chr, range(0x61, 0x250)) if c.isalpha() and c.islower())
_CAP = rf"[{_UP}][{_LO}]+"
_CAP_COMPOUND = rf"{_CAP}(?:-(?:[{_LO}]{{1,3}}-)?{_CAP})*"  # Attnang-Puchheim, Val-de-Ruz

_DE_SUFFIX = (
    r"straße|strasse|str\.|weg|gasse|gässle|platz|allee|ring|damm|ufer|chaussee|steig|stieg|pfad|markt|"
    r"graben|wall|kamp|zeile|promenade|twiete|steg|stiege"
)
_DE_SUFFIX_WORD = (
    r"Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee|Ring|Damm|Ufer|Chaussee|Steig|Stieg|Pfad|Markt|"
    r"Graben|Wall|Kamp|Zeile|Promenade"
)
_DE_PREPOSITION = r"Am|An der|An den|Auf der|Auf dem|Im|In der|In den|Zum|Zur|Unter den|Hinter der|Vor dem|Alte[rs]?"
_HOUSE = r"\d{1,4}(?: ?[a-zA-Z](?![\w]))?(?: ?[-/] ?\d{1,4}[a-zA-Z]?)?(?![\d.,]\d)"
_DE_STREET = (
    rf"(?:[{_UP}][\w.'-]*(?:{_DE_SUFFIX})"  # Hauptstraße, Frederik-Ortner-Ring, Lindenstr.
    rf"|(?:{_CAP}-)+(?:{_DE_SUFFIX_WORD})"  # Dogan-Kuhl-Gasse
    rf"|(?:{_CAP_COMPOUND} )+(?:{_DE_SUFFIX_WORD}))"
)  # Alte Landstraße, Bad Homburger Weg
_DE_TOWN_LINK = r"am|an|an der|im|in|ob|ob der|bei|vorm|vor der|unter|zu|/"
_DE_TOWN = rf"(?:St\. )?{_CAP_COMPOUND}(?:(?: (?:{_DE_TOWN_LINK}) | |/)(?:St\. )?{_CAP_COMPOUND}){{0,3}}(?: \([{_UP}][{_LO}]+\))?"
_DE_POSTCODE = r"(?:[DA]-|CH-)?\d{4,5}"
_DE_TOWN_PART = rf"(?:,? ?\n? ?|,? in |,\s*){_DE_POSTCODE} {_DE_TOWN}"
_DE_ADDRESS = re.compile(rf"(?<![\w-])(?:{_DE_STREET}) {_HOUSE}(?:{_DE_TOWN_PART})?")
_DE_PREP_ADDRESS = re.compile(rf"\b(?:{_DE_PREPOSITION}) (?:{_CAP_COMPOUND} ){{1,2}}?{_HOUSE}{_DE_TOWN_PART}")

_EN_SUFFIX = (
    "Alley|Annex|Arcade|Avenue|Ave|Bayou|Beach|Bend|Bluffs?|Bottom|Boulevard|Blvd|Branch|Bridge|Brooks?|Burgs?|"
    "Bypass|Camp|Canyon|Cape|Causeway|Centers?|Centre|Circles?|Cliffs?|Close|Club|Commons?|Corners?|Course|Courts?|"
    "Coves?|Creek|Crescent|Crest|Crossing|Crossroad|Curve|Dale|Dam|Divide|Drives?|Dr|Estates?|Expressway|"
    "Extensions?|Falls?|Ferry|Fields?|Flats?|Fords?|Forest|Forges?|Forks?|Fort|Freeway|Gardens?|Gate|Gateway|"
    "Glens?|Greens?|Groves?|Harbou?rs?|Haven|Heights|Highway|Hills?|Hollow|Inlet|Islands?|Isle|Junctions?|Keys?|"
    "Knolls?|Lakes?|Land|Landing|Lane|Ln|Lights?|Loaf|Locks?|Lodge|Loop|Mall|Manors?|Meadows?|Mews|Mills?|Mission|"
    "Motorway|Mount|Mountains?|Neck|Orchard|Oval|Overpass|Parade|Parks?|Parkways?|Pass|Passage|Path|Pike|Pines?|"
    "Place|Pl|Plains?|Plaza|Points?|Ports?|Prairie|Radial|Ramp|Ranch|Rapids?|Rest|Ridges?|Rise|River|Roads?|Rd|"
    "Route|Row|Rue|Run|Shoals?|Shores?|Skyway|Springs?|Spurs?|Squares?|Sq|Station|Stravenue|Stream|Streets?|St|"
    "Summit|Terrace|Throughway|Trace|Track|Trafficway|Trail|Tunnel|Turnpike|Underpass|Unions?|Vale|Valleys?|Via|"
    "Viaduct|Views?|Villages?|Ville|Vista|Walks?|Wall|Ways?|Wells?|Wharf|Yard"
)
_EN_UNIT = r"(?:Apt\.?|Apartment|Suite|Ste\.|Unit|Flat|Fl\.|Studio|#) ?(?=[\w-]{0,5}\d)[\w-]{1,6}\b"
_EN_TOWN = rf"{_CAP_COMPOUND}(?: {_CAP_COMPOUND}){{0,2}}"
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"
_EN_ADDRESS = re.compile(
    rf"\b(?:{_EN_UNIT}(?:,? |\n)\d{{1,5}}[A-Za-z]?,? |{_EN_UNIT}(?:, |\n)|\d{{1,5}}[A-Za-z]?,? )"
    rf"(?:(?:{_CAP_COMPOUND}|\d{{1,3}}(?:st|nd|rd|th)) ){{1,3}}(?:{_EN_SUFFIX})\b\.?"
    rf"(?:,? {_EN_UNIT})?"
    rf"(?:(?:,\s*|\n)(?!{_UK_POSTCODE}\b){_EN_TOWN})?"
    rf"(?:(?:,\s*| )[A-Z]{{2}} \d{{5}}(?:-\d{{4}})?|(?:,\s*| |\n){_UK_POSTCODE}\b)?"
)
_UK_POSTCODE_ALONE = re.compile(rf"\b{_UK_POSTCODE}\b")


def address_spans(text: str) -> Iterator[tuple[int, int]]:
    for regex in (_DE_ADDRESS, _DE_PREP_ADDRESS, _EN_ADDRESS, _UK_POSTCODE_ALONE):
        for m in regex.finditer(text):
            yield m.span()
