"""The directory a new installation starts with: the agencies the Family Support
Coordinator signposts families to across the four referring-team areas, the prisons
their relatives are held in, and national services.

Organisation names and what they do are public facts. Nobody real is named, and every
telephone number is from Ofcom's ranges for drama (0141 496 0xxx in Glasgow, 01632
960xxx elsewhere, 0808 157 0xxx freephone). Refuge addresses are invented, and marked
confidential as a real refuge's would be.
"""

from __future__ import annotations

import uuid
from itertools import count
from typing import Any

from backbone.events import vocabulary
from backbone.events.hsds import NATIONAL_AREA
from services.directory.taxonomy import need_term_id

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://familyties.example/directory/seed")
OFFICE_HOURS = [
    {"freq": "WEEKLY", "byday": "MO,TU,WE,TH,FR", "opens_at": "09:00", "closes_at": "17:00"}
]
GLASGOW_AREA = {"GLASGOW_CITY"}
# The local authorities of the four referring teams, in a steady order.
SEED_AREAS = [code for codes in vocabulary.TEAM_LOCAL_AUTHORITIES.values() for code in codes]


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


class _Phones:
    """Numbers from Ofcom's drama ranges, a new one each time."""

    def __init__(self) -> None:
        self._glasgow, self._elsewhere, self._freephone = count(), count(), count()

    def local(self, area: str) -> str:
        if area in GLASGOW_AREA:
            return f"0141 496 {next(self._glasgow):04d}"
        return f"01632 960{next(self._elsewhere):03d}"

    def freephone(self) -> str:
        return f"0808 157 {next(self._freephone):04d}"


def _organization(
    key: str, name: str, description: str, website: str | None = None, *, agency_type: str
) -> dict:
    organization = {
        "id": _id("organization", key),
        "name": name,
        "description": description,
        "x_agency_type": agency_type,
    }
    if website:
        organization["website"] = website
    return organization


def _service(
    organization: dict,
    key: str,
    name: str,
    description: str,
    needs: list[str],
    areas: list[str],
    phone: str,
    status: str = "active",
    **extra: Any,
) -> dict[str, Any]:
    service_id = _id("service", key)
    return {
        "id": service_id,
        "name": name,
        "description": description,
        "status": status,
        "organization": organization,
        "phones": [{"id": _id("phone", key), "number": phone, "type": "voice"}],
        "schedules": [{**OFFICE_HOURS[0], "id": _id("schedule", key)}],
        "service_areas": [
            {
                "id": _id("area", key, area),
                "name": vocabulary.LOCAL_AUTHORITIES.get(area, NATIONAL_AREA),
            }
            for area in areas
        ],
        "attributes": [
            {"id": _id("attribute", key, need), "taxonomy_term_id": need_term_id(need)}
            for need in needs
        ],
        "service_at_locations": [],
        **extra,
    }


def _at(key: str, location: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": _id("service_at_location", key), "location": location}]


# name, street, town, postcode, latitude, longitude
PRISONS = {
    "BARLINNIE": ("81 Lee Avenue", "Glasgow", "G33 2QX", 55.868, -4.186),
    "ADDIEWELL": ("9 Station Road", "West Calder", "EH55 8QF", 55.843, -3.618),
    "GREENOCK": ("Old Inverkip Road", "Greenock", "PA16 9AJ", 55.936, -4.793),
    "KILMARNOCK": ("Mauchline Road", "Kilmarnock", "KA1 5AA", 55.588, -4.481),
    "DUMFRIES": ("Terregles Street", "Dumfries", "DG2 9AX", 55.073, -3.620),
    "CORNTON_VALE": ("Cornton Road", "Stirling", "FK9 5NU", 56.136, -3.951),
    "POLMONT": ("Redding Road", "Falkirk", "FK2 0AB", 55.993, -3.712),
}
# Invented addresses for the refuges, one per referring-team area. ZZ99 postcodes deliver
# nowhere (the NHS uses them for "no fixed abode"), so none of these can point at a home.
REFUGES = {
    "GLASGOW": ("GLASGOW_CITY", "12 Sample Lane", "Glasgow", "ZZ99 3VZ"),
    "LANARKSHIRE": ("NORTH_LANARKSHIRE", "3 Example Court", "Motherwell", "ZZ99 3WZ"),
    "NORTH_STRATHCLYDE": ("RENFREWSHIRE", "7 Specimen Row", "Paisley", "ZZ99 3CZ"),
    "SOUTH_WEST_SCOTLAND": ("SOUTH_AYRSHIRE", "5 Placeholder Place", "Ayr", "ZZ99 3GZ"),
}
# Cornton Vale, which the seeds name, closed in 2023; its entries stay, marked defunct, as
# referrals from before then name it.
CLOSED = {
    "CORNTON_VALE": "HMP & YOI Cornton Vale closed in 2023: women are now held at "
    "HMP & YOI Stirling."
}


WOMENS_AID = _organization(
    "scottish-womens-aid",
    "Scottish Women's Aid",
    "The lead organisation in Scotland working to end domestic abuse, with a network of "
    "local Women's Aid groups offering refuge and support.",
    "https://womensaid.scot",
    agency_type="voluntary",
)

CRUSE = _organization(
    "cruse-scotland",
    "Cruse Scotland",
    "Bereavement support for adults, children and young people across Scotland.",
    "https://www.crusescotland.org.uk",
    agency_type="voluntary",
)


def seed_services() -> list[dict[str, Any]]:
    """Every seed service, fully nested, as an import file holds them."""
    phones = _Phones()
    services = _national(phones) + _prisons(phones) + _team_areas(phones)
    for area in SEED_AREAS:
        services += _local(area, phones)
    return services


def _national(phones: _Phones) -> list[dict[str, Any]]:
    scotland = ["SCOTLAND"]
    families_outside = _organization(
        "families-outside",
        "Families Outside",
        "The national charity in Scotland that works on behalf of families affected by "
        "imprisonment: support, information and training.",
        "https://www.familiesoutside.org.uk",
        agency_type="voluntary",
    )
    relationships = _organization(
        "relationships-scotland",
        "Relationships Scotland",
        "Scotland's largest provider of relationship counselling, family mediation and "
        "child contact centres.",
        "https://www.relationships-scotland.org.uk",
        agency_type="voluntary",
    )
    kinship = _organization(
        "kinship-care-advice",
        "Kinship Care Advice Service for Scotland",
        "Advice and information for kinship carers: grandparents, relatives and friends "
        "bringing up children who cannot live with their parents.",
        agency_type="voluntary",
    )
    enquire = _organization(
        "enquire",
        "Enquire",
        "The Scottish advice service for additional support for learning.",
        "https://enquire.org.uk",
        agency_type="voluntary",
    )
    scottish_families = _organization(
        "scottish-families",
        "Scottish Families Affected by Alcohol and Drugs",
        "A national charity supporting anyone concerned about someone else's alcohol or drug "
        "use, including families of people in prison.",
        "https://www.sfad.org.uk",
        agency_type="voluntary",
    )
    dwp = _organization(
        "dwp",
        "Department for Work and Pensions",
        "The UK government department responsible for benefits, pensions and employment "
        "support, through Jobcentre Plus.",
        "https://www.gov.uk/government/organisations/department-for-work-pensions",
        agency_type="statutory",
    )
    return [
        _service(
            families_outside,
            "fo-helpline",
            "Families Outside Support and Information Helpline",
            "Free, confidential support and information for anyone affected "
            "by a family member's imprisonment: visits, prison contact, release, children.",
            [
                "coping_with_imprisonment_or_release",
                "prison_contact_and_visits",
                "children_and_parenting",
                "one_to_one_emotional_support",
            ],
            scotland,
            phones.freephone(),
        ),
        _service(
            families_outside,
            "fo-family-support",
            "Families Outside family support",
            "One-to-one support from a regional Family Support Coordinator, who can go "
            "with families to Children's Hearings and reviews.",
            ["one_to_one_emotional_support", "family_relationships", "children_and_parenting"],
            scotland,
            phones.local("SCOTLAND"),
        ),
        _service(
            WOMENS_AID,
            "da-helpline",
            "Scotland's Domestic Abuse and Forced Marriage Helpline",
            "Support for anyone experiencing domestic abuse or forced "
            "marriage, and for those supporting them, 24 hours a day.",
            ["domestic_abuse"],
            scotland,
            phones.freephone(),
        ),
        _service(
            relationships,
            "mediation",
            "Family mediation",
            "Helps separating families "
            "agree arrangements for their children, including contact with a parent in "
            "prison.",
            ["family_relationships", "children_and_parenting"],
            scotland,
            phones.local("SCOTLAND"),
        ),
        _service(
            relationships,
            "counselling",
            "Relationship counselling",
            "Counselling for "
            "couples and individuals facing the strain of a partner's imprisonment.",
            ["family_relationships", "one_to_one_emotional_support"],
            scotland,
            phones.local("SCOTLAND"),
        ),
        _service(
            CRUSE,
            "cruse-helpline",
            "Cruse bereavement helpline",
            "Support after the "
            "death of someone close, including deaths in custody and after release.",
            ["bereavement", "one_to_one_emotional_support"],
            scotland,
            phones.freephone(),
        ),
        _service(
            kinship,
            "kinship-advice",
            "Kinship care advice line",
            "Advice for kinship "
            "carers on allowances, legal orders and support for the children in their "
            "care.",
            ["kinship_care", "looked_after_children", "children_and_parenting"],
            scotland,
            phones.freephone(),
        ),
        _service(
            enquire,
            "enquire-helpline",
            "Additional support for learning helpline",
            "Advice for parents and carers on children's education and the support "
            "schools must give.",
            ["education", "children_and_parenting"],
            scotland,
            phones.local("SCOTLAND"),
        ),
        _service(
            scottish_families,
            "sfad-helpline",
            "Scottish Families helpline",
            "Support "
            "for families worried about a relative's alcohol or drug use, and bereavement "
            "support after a drug or alcohol death.",
            ["substance_use", "bereavement", "family_relationships"],
            scotland,
            phones.freephone(),
        ),
        _service(
            dwp,
            "jobcentre",
            "Jobcentre Plus: benefits and work",
            "Claims for Universal "
            "Credit and other benefits, budgeting advances, and help into work.",
            ["financial_difficulties", "employment"],
            scotland,
            phones.freephone(),
        ),
    ]


def _prisons(phones: _Phones) -> list[dict[str, Any]]:
    sps = _organization(
        "sps",
        "Scottish Prison Service",
        "Runs Scotland's prisons. Family Contact Officers in each prison help families "
        "stay in touch with a relative in custody.",
        "https://www.sps.gov.uk",
        agency_type="statutory",
    )
    services = []
    for code in [
        "BARLINNIE",
        "ADDIEWELL",
        "GREENOCK",
        "KILMARNOCK",
        "DUMFRIES",
        "CORNTON_VALE",
        "POLMONT",
    ]:
        prison = vocabulary.ESTABLISHMENTS[code]
        street, town, postcode, latitude, longitude = PRISONS[code]
        location = {
            "id": _id("location", code),
            "location_type": "physical",
            "name": prison,
            "latitude": latitude,
            "longitude": longitude,
            "addresses": [
                {
                    "id": _id("address", code),
                    "address_1": street,
                    "city": town,
                    "postal_code": postcode,
                    "state_province": "Scotland",
                    "country": "GB",
                    "address_type": "physical",
                }
            ],
        }
        number = phones.local("GLASGOW_CITY" if code == "BARLINNIE" else "elsewhere")
        closed = {"status": "defunct", "alert": CLOSED[code]} if code in CLOSED else {}
        services.append(
            _service(
                sps,
                f"fco-{code}",
                f"Family Contact Officers, {prison}",
                f"Help for families of people held in {prison}: visits, phone and "
                "video calls, and worries about a relative's wellbeing.",
                ["prison_contact_and_visits", "coping_with_imprisonment_or_release"],
                ["SCOTLAND"],
                number,
                **closed,
                service_at_locations=_at(f"fco-{code}", location),
            )
        )
        services.append(
            _service(
                sps,
                f"visits-{code}",
                f"Visits and visitor centre, {prison}",
                f"Booking visits to {prison}, and a visitor centre where families and "
                "children can wait, find information and talk to someone.",
                ["prison_contact_and_visits", "children_and_parenting"],
                ["SCOTLAND"],
                number,
                **closed,
                service_at_locations=_at(f"visits-{code}", location),
            )
        )
    return services


def _team_areas(phones: _Phones) -> list[dict[str, Any]]:
    """Services covering a referring team's local authorities: refuges, bereavement."""
    services = []
    for team, (area, street, town, postcode) in REFUGES.items():
        areas = vocabulary.TEAM_LOCAL_AUTHORITIES[team]
        team_name = vocabulary.REFERRING_TEAMS[team]
        location = {
            "id": _id("location", "refuge", team),
            "location_type": "physical",
            "name": f"Women's Aid refuge, {team_name}",
            "x_confidential": True,
            "x_safe_contact": "Call Scotland's Domestic Abuse and Forced Marriage Helpline "
            "or the local Women's Aid group; never visit unannounced.",
            "addresses": [
                {
                    "id": _id("address", "refuge", team),
                    "address_1": street,
                    "city": town,
                    "postal_code": postcode,
                    "state_province": "Scotland",
                    "country": "GB",
                    "address_type": "physical",
                }
            ],
        }
        services.append(
            _service(
                WOMENS_AID,
                f"refuge-{team}",
                f"Refuge and outreach, {team_name}",
                "Safe temporary accommodation and outreach support for women, children "
                "and young people experiencing domestic abuse.",
                ["domestic_abuse", "housing", "children_and_parenting"],
                areas,
                phones.local(area),
                service_at_locations=_at(f"refuge-{team}", location),
            )
        )
        services.append(
            _service(
                CRUSE,
                f"cruse-{team}",
                f"Bereavement support, {team_name}",
                "Face-to-face and group support after a death, for adults and for "
                "children and young people.",
                ["bereavement", "one_to_one_emotional_support"],
                areas,
                phones.local(area),
            )
        )
    return services


def _local(area: str, phones: _Phones) -> list[dict[str, Any]]:
    """Each local authority's own agencies."""
    name = vocabulary.LOCAL_AUTHORITIES[area]
    council = _organization(
        f"council-{area}",
        f"{name} Council",
        f"The local authority for {name}.",
        agency_type="statutory",
    )
    partnership = _organization(
        f"hscp-{area}",
        f"{name} Health and Social Care Partnership",
        f"Community health and social work services in {name}.",
        agency_type="statutory",
    )
    cab = _organization(
        "citizens-advice",
        "Citizens Advice Scotland",
        "Scotland's network of local Citizens Advice Bureaux: free, "
        "independent advice on money, benefits, housing and work.",
        "https://www.cas.org.uk",
        agency_type="voluntary",
    )
    carers = _organization(
        "carers-trust",
        "Carers Trust Scotland",
        "Works with local carers centres across Scotland to support "
        "unpaid carers, including kinship carers.",
        agency_type="voluntary",
    )
    here = [area]
    return [
        _service(
            partnership,
            f"cat-{area}",
            f"Community Addiction Team, {name}",
            "Assessment, treatment and recovery support for alcohol and drug use, and "
            "support for affected family members.",
            ["substance_use", "health"],
            here,
            phones.local(area),
        ),
        _service(
            partnership,
            f"social-work-{area}",
            f"Children and families social work, {name}",
            "Social work support for children and families, kinship carers "
            "and looked-after children.",
            ["social_work", "looked_after_children", "kinship_care"],
            here,
            phones.local(area),
        ),
        _service(
            council,
            f"housing-{area}",
            f"Housing options and homelessness, {name}",
            "Advice for anyone homeless or at risk of losing their home, including on "
            "a relative's release from prison.",
            ["housing"],
            here,
            phones.local(area),
        ),
        _service(
            council,
            f"welfare-rights-{area}",
            f"Welfare rights, {name}",
            "Help to claim the benefits a family is entitled to, and to challenge decisions.",
            ["financial_difficulties"],
            here,
            phones.local(area),
        ),
        _service(
            cab,
            f"cab-{area}",
            f"Citizens Advice, {name}",
            "Free advice on debt, benefits, housing and employment.",
            ["financial_difficulties", "housing", "employment"],
            here,
            phones.local(area),
        ),
        _service(
            carers,
            f"carers-{area}",
            f"Carers centre, {name}",
            "Information, breaks "
            "and emotional support for unpaid carers, including grandparents bringing up "
            "grandchildren.",
            ["kinship_care", "one_to_one_emotional_support", "health"],
            here,
            phones.local(area),
        ),
    ]
