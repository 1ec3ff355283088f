"""How the directory is searched, free of I/O: what a service is found by, the order of
what is found, and where a page of the whole listing lies.

Searching runs in the database, by index. A service keeps beside it the weight of every
start of each of its words (3 in its names, 2 in its needs, 1 in its description and
areas: a word searched for must be one of these keys, and scores its weight), and, for
each area it serves, the first four letters of each word ("INVERCLYDE:bere"): a search
for "bereavement" in Inverclyde is an indexed lookup of "INVERCLYDE:bere" and
"SCOTLAND:bere", then a check of the few services found. `rank` is the same order
written out in Python, for what runs without a database (the service layer's unit
tests).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backbone.events import vocabulary
from services.directory.domain import NATIONAL, area_codes

UNPLACED = "UNPLACED"  # the area a service that names none is found under by its words
EVERY_AREA = sorted([*vocabulary.LOCAL_AUTHORITIES, NATIONAL, UNPLACED])
# A word is looked up by its first letters: more would index every start of every word
# in every area (and the local database checks each of a service's tokens against what
# it looked up); fewer would find too many services to check.
LOOKUP_LETTERS = 4
IN_NAME, IN_NEEDS, IN_TEXT = 3, 2, 1
LOCAL = 1000  # more than any score: the family's own area comes first
# The whole listing is counted in blocks of this many numbers, so that a page anywhere in
# it is read from its block on rather than counted from the first service.
LISTING_BLOCK = 32


@dataclass(frozen=True)
class ServiceSearch:
    """What `GET /services` asks for: every word must start a word of a service; the
    family's own local authorities (their services and national ones, local first)."""

    words: list[str] = field(default_factory=list)
    local_authorities: list[str] = field(default_factory=list)
    organization_id: str | None = None
    taxonomy_term_id: str | None = None
    modified_after: datetime | None = None

    @property
    def ranked(self) -> bool:
        """Whether what is found is ranked (words or an area), or listed as added."""
        return bool(self.words or self.local_authorities)

    @property
    def lists_everything(self) -> bool:
        return self == ServiceSearch()

    def lookup_tokens(self) -> list[str]:
        """The tokens an index finds candidates by: the first letters of the longest word
        (the fewest services have it) in each area searched, or in every area. None for
        words too short to look up: the area, or the other filters, find those."""
        long_words = [word for word in self.words if len(word) >= LOOKUP_LETTERS]
        if not long_words:
            return []
        start = max(long_words, key=len)[:LOOKUP_LETTERS]
        areas = [*self.local_authorities, NATIONAL] if self.local_authorities else EVERY_AREA
        return [f"{area}:{start}" for area in areas]


def words(text: str) -> list[str]:
    """Lower-case words without accents: 'Cruse Bereavement' -> ['cruse', 'bereavement']."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    return re.findall(r"[^\W_]+", plain)


def prefixes(found: Iterable[str]) -> list[str]:
    """Every start of every word: a word searched for must equal one of these, an indexed
    equality rather than a pattern no index of the local database serves."""
    return sorted({word[:end] for word in found for end in range(1, len(word) + 1)})


def name_fields(name: str) -> dict[str, Any]:
    """What lists of named things (organisations, taxonomies) sort and search by."""
    return {"sort_name": name.casefold(), "name_prefixes": prefixes(words(name))}


def search_fields(
    service: dict[str, Any], organization_name: str, term_names: dict[str, str]
) -> dict[str, Any]:
    """What the directory keeps beside a service so that searching and sorting run in the
    database: the areas it serves, its name to sort by, the weight of each start of its
    words, and the tokens an index looks words up by."""
    names = words(f"{service['name']} {service.get('alternate_name', '')} {organization_name}")
    needs = words(
        " ".join(
            term_names.get(attribute["taxonomy_term_id"], "")
            for attribute in service.get("attributes", [])
        )
    )
    area_names = " ".join(area["name"] for area in service.get("service_areas", []))
    text = words(f"{service.get('description', '')} {area_names}")
    weights = dict.fromkeys(prefixes(text), IN_TEXT)
    weights |= dict.fromkeys(prefixes(needs), IN_NEEDS)
    weights |= dict.fromkeys(prefixes(names), IN_NAME)
    areas = area_codes(service.get("service_areas", []))
    # a shorter word is never looked up: no longer word searched for can start it
    starts = {
        word[:LOOKUP_LETTERS] for word in [*names, *needs, *text] if len(word) >= LOOKUP_LETTERS
    }
    return {
        "area_codes": areas,
        "sort_name": service["name"].casefold(),
        "word_weights": dict(sorted(weights.items())),
        "area_words": sorted(f"{area}:{start}" for area in areas or [UNPLACED] for start in starts),
    }


def rank(services: list[dict[str, Any]], search: ServiceSearch) -> list[str]:
    """The ids of the stored services that match `search`, in order: a ranked search puts
    the family's own area before national services, then the better match, then by name;
    anything else comes in the order services were added."""
    if not search.ranked:
        listed = sorted(services, key=lambda service: service["listing_number"])
        return [service["_id"] for service in listed]
    wanted = {*search.local_authorities, NATIONAL}
    ranked = []
    for service in services:
        if search.local_authorities and not set(service["area_codes"]) & wanted:
            continue
        weights = service["word_weights"]
        if not all(word in weights for word in search.words):
            continue
        local = bool(set(service["area_codes"]) & set(search.local_authorities))
        score = LOCAL * local + sum(weights[word] for word in search.words)
        ranked.append((-score, service["sort_name"], service["_id"]))
    return [key[-1] for key in sorted(ranked)]


def listing_span(blocks: dict[int, int], skip: int, limit: int) -> tuple[int, int, int]:
    """Where services `skip` to `skip + limit` (0: to the end) of the whole listing lie,
    given how many current services each block of listing numbers holds: the listing
    numbers to read from and up to, and how many of those to pass over first."""
    counted, start, passed = 0, None, 0
    end = None
    for block in sorted(blocks):
        if start is None and counted + blocks[block] > skip:
            start, passed = block * LISTING_BLOCK, skip - counted
        counted += blocks[block]
        if start is not None and limit and counted >= skip + limit:
            end = (block + 1) * LISTING_BLOCK
            break
    if start is None:
        return 0, 0, 0
    return start, end if end is not None else (max(blocks) + 1) * LISTING_BLOCK, passed
