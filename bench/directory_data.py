"""A synthetic directory for benchmarks: fully nested HSDS services, as
`familyties directory import` takes them, spread across every local authority (and some
national services) and every need. Every name is made up from word lists; every phone
number is from Ofcom's drama ranges."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from backbone.events import vocabulary as v
from backbone.events.hsds import NATIONAL_AREA
from services.directory.taxonomy import need_term_id

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://familyties.example/bench/directory")
SERVICES_PER_ORGANIZATION = 20
NATIONAL_SHARE = 0.05

PLACES = [
    "Clyde",
    "Heather",
    "Thistle",
    "Harbour",
    "Glen",
    "Loch",
    "Bridge",
    "Riverside",
    "Hillview",
    "Westfield",
    "Northgate",
    "Kirk",
    "Braes",
    "Meadow",
    "Firth",
    "Cairn",
]
THEMES = [
    "Family",
    "Community",
    "Carers",
    "Young People",
    "Kinship",
    "Recovery",
    "Women's",
    "Parents",
    "Advice",
    "Wellbeing",
    "Housing",
    "Learning",
]
KINDS = ["Trust", "Project", "Network", "Association", "Partnership", "Centre", "Alliance"]
OFFERS = [
    "drop-in",
    "helpline",
    "support group",
    "advice service",
    "outreach",
    "mentoring",
    "counselling",
    "play sessions",
    "befriending",
    "casework",
    "workshops",
    "café",
]
AUDIENCES = [
    "families",
    "partners",
    "grandparents",
    "children",
    "young people",
    "carers",
    "mothers",
    "fathers",
    "kinship carers",
    "siblings",
]
TOPICS = [
    "bereavement",
    "debt",
    "benefits",
    "tenancy",
    "homelessness",
    "visiting",
    "release",
    "sentencing",
    "addiction",
    "alcohol",
    "gambling",
    "school",
    "nursery",
    "employment",
    "training",
    "isolation",
    "anxiety",
    "contact",
    "mediation",
    "separation",
    "abuse",
    "safety",
    "court",
    "hearings",
    "transport",
    "food",
]


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(part) for part in parts)))


def services(count: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    """`count` fully nested services, the same ones for the same seed."""
    rng = random.Random(seed)
    areas = list(v.LOCAL_AUTHORITIES.items())
    needs = list(v.NEEDS)
    organization = location = None
    for number in range(count):
        if number % SERVICES_PER_ORGANIZATION == 0:
            organization, location = _organization(rng, number // SERVICES_PER_ORGANIZATION)
        area_name = NATIONAL_AREA if rng.random() < NATIONAL_SHARE else rng.choice(areas)[1]
        offer, audience = rng.choice(OFFERS), rng.choice(AUDIENCES)
        topics = rng.sample(TOPICS, 3)
        service = {
            "id": _id("service", number),
            "name": f"{rng.choice(PLACES)} {offer} for {audience}, {area_name}",
            "description": f"A {offer} for {audience} of people in prison: help with "
            f"{topics[0]}, {topics[1]} and {topics[2]}, by phone or in person.",
            "status": "active",
            "organization": organization,
            "phones": [{"number": f"01632 960{number % 1000:03d}", "type": "voice"}],
            "service_areas": [{"name": area_name}],
            "attributes": [
                {"taxonomy_term_id": need_term_id(code)} for code in rng.sample(needs, 2)
            ],
            "service_at_locations": (
                [{"location": location}] if location and rng.random() < 0.5 else []
            ),
        }
        yield service


def _organization(rng: random.Random, number: int) -> tuple[dict, dict | None]:
    name = f"{rng.choice(PLACES)} {rng.choice(THEMES)} {rng.choice(KINDS)} {number}"
    organization = {
        "id": _id("organization", number),
        "name": name,
        "description": f"{name} supports the families of people in prison.",
    }
    if number % 2:
        return organization, None
    location = {
        "id": _id("location", number),
        "name": f"{name} office",
        "addresses": [
            {
                "address_1": f"{number % 200 + 1} {rng.choice(PLACES)} Street",
                "city": "Glasgow",
                "postal_code": "G2 1AA",
            }
        ],
    }
    if number % 50 == 0:  # a refuge now and then: its address is for safeguarding only
        location |= {"x_confidential": True, "x_safe_contact": "Call 0808 157 0001 first."}
    return organization, location


def write_ndjson(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for service in services(count):
            out.write(json.dumps(service) + "\n")
    return path
