"""Controlled vocabularies shared by every service, as (code, label) pairs.

Codes are what APIs and events carry; labels are what people read. The words follow the
Routes out of Prison family support reports in ../shared/seeds.
"""

REFERRING_TEAMS = {
    "GLASGOW": "Glasgow",
    "LANARKSHIRE": "Lanarkshire",
    "NORTH_STRATHCLYDE": "North Strathclyde",
    "SOUTH_WEST_SCOTLAND": "South West Scotland",
    "OTHER": "Other",
}

REFERRER_ROLES = {
    "prison_life_coach": "Prison Life Coach",
    "community_life_coach": "Community Life Coach",
    "family_contact_officer": "Family Contact Officer",
    "social_worker": "Social worker",
    "other": "Other",
}

RELATIONSHIPS = {
    "partner": "Partner or spouse",
    "parent": "Parent",
    "grandparent": "Grandparent",
    "child": "Son or daughter",
    "sibling": "Brother or sister",
    "kinship_carer": "Kinship carer",
    "other_relative": "Other relative",
    "friend": "Friend",
}

CONTACT_METHODS = {
    "telephone": "Telephone",
    "text": "Text message",
    "email": "Email",
    "letter": "Letter",
    "in_person": "In person",
    "do_not_contact": "Do not contact",
}

CUSTODY_STATUSES = {
    "remand": "On remand",
    "sentenced": "Sentenced",
    "released": "Released",
}

# Scottish prisons, including those named in older reports (historical imports).
ESTABLISHMENTS = {
    "ADDIEWELL": "HMP Addiewell",
    "BARLINNIE": "HMP Barlinnie",
    "CASTLE_HUNTLY": "HMP Castle Huntly",
    "CORNTON_VALE": "HMP & YOI Cornton Vale",
    "DUMFRIES": "HMP Dumfries",
    "EDINBURGH": "HMP Edinburgh",
    "GLENOCHIL": "HMP Glenochil",
    "GRAMPIAN": "HMP & YOI Grampian",
    "GREENOCK": "HMP Greenock",
    "HIGHLAND": "HMP Highland",
    "INVERNESS": "HMP Inverness",
    "KILMARNOCK": "HMP Kilmarnock",
    "LOW_MOSS": "HMP Low Moss",
    "PERTH": "HMP Perth",
    "POLMONT": "HMYOI Polmont",
    "SHOTTS": "HMP Shotts",
    "STIRLING": "HMP & YOI Stirling",
    "BELLA_CENTRE": "Bella Centre (Dundee)",
    "LILIAS_CENTRE": "Lilias Centre (Glasgow)",
}

LOCAL_AUTHORITIES = {
    "ABERDEEN_CITY": "Aberdeen City",
    "ABERDEENSHIRE": "Aberdeenshire",
    "ANGUS": "Angus",
    "ARGYLL_AND_BUTE": "Argyll and Bute",
    "CLACKMANNANSHIRE": "Clackmannanshire",
    "DUMFRIES_AND_GALLOWAY": "Dumfries and Galloway",
    "DUNDEE_CITY": "Dundee City",
    "EAST_AYRSHIRE": "East Ayrshire",
    "EAST_DUNBARTONSHIRE": "East Dunbartonshire",
    "EAST_LOTHIAN": "East Lothian",
    "EAST_RENFREWSHIRE": "East Renfrewshire",
    "EDINBURGH_CITY": "City of Edinburgh",
    "FALKIRK": "Falkirk",
    "FIFE": "Fife",
    "GLASGOW_CITY": "Glasgow City",
    "HIGHLAND": "Highland",
    "INVERCLYDE": "Inverclyde",
    "MIDLOTHIAN": "Midlothian",
    "MORAY": "Moray",
    "NA_H_EILEANAN_SIAR": "Na h-Eileanan Siar",
    "NORTH_AYRSHIRE": "North Ayrshire",
    "NORTH_LANARKSHIRE": "North Lanarkshire",
    "ORKNEY_ISLANDS": "Orkney Islands",
    "PERTH_AND_KINROSS": "Perth and Kinross",
    "RENFREWSHIRE": "Renfrewshire",
    "SCOTTISH_BORDERS": "Scottish Borders",
    "SHETLAND_ISLANDS": "Shetland Islands",
    "SOUTH_AYRSHIRE": "South Ayrshire",
    "SOUTH_LANARKSHIRE": "South Lanarkshire",
    "STIRLING": "Stirling",
    "WEST_DUNBARTONSHIRE": "West Dunbartonshire",
    "WEST_LOTHIAN": "West Lothian",
    "OUTSIDE_SCOTLAND": "Outside Scotland",
}

CARE_ARRANGEMENTS = {
    "with_family": "Living with family",
    "kinship_care": "Kinship care",
    "looked_after": "Looked after",
}

# The local authorities each referring team covers: the Community Justice Authority areas
# the Routes out of Prison teams were organised by.
TEAM_LOCAL_AUTHORITIES = {
    "GLASGOW": ["GLASGOW_CITY"],
    "LANARKSHIRE": ["NORTH_LANARKSHIRE", "SOUTH_LANARKSHIRE"],
    "NORTH_STRATHCLYDE": [
        "ARGYLL_AND_BUTE",
        "EAST_DUNBARTONSHIRE",
        "EAST_RENFREWSHIRE",
        "INVERCLYDE",
        "RENFREWSHIRE",
        "WEST_DUNBARTONSHIRE",
    ],
    "SOUTH_WEST_SCOTLAND": [
        "DUMFRIES_AND_GALLOWAY",
        "EAST_AYRSHIRE",
        "NORTH_AYRSHIRE",
        "SOUTH_AYRSHIRE",
    ],
}

NEEDS = {
    "family_relationships": "Family relationships",
    "coping_with_imprisonment_or_release": "Coping with imprisonment or release",
    "children_and_parenting": "Children and parenting",
    "kinship_care": "Kinship care",
    "looked_after_children": "Looked-after children",
    "domestic_abuse": "Domestic abuse",
    "bereavement": "Bereavement",
    "financial_difficulties": "Financial difficulties",
    "housing": "Housing",
    "education": "Education",
    "social_work": "Social work",
    "health": "Health",
    "prison_contact_and_visits": "Prison contact and visits",
    "substance_use": "Substance use",
    "employment": "Employment",
    "one_to_one_emotional_support": "One-to-one emotional support",
    "other": "Other",
}

# What kind of body a directory organisation is, for funders' reports (signposts by agency
# type, information given on statutory services). Statutory: councils, health and social
# care partnerships, the NHS, the Scottish Prison Service, DWP and Jobcentre Plus, police,
# schools. Voluntary: charities and the third sector (Families Outside, Women's Aid, Cruse,
# Citizens Advice ...).
AGENCY_TYPES = {
    "statutory": "Statutory",
    "voluntary": "Voluntary (charity or third sector)",
    "other": "Other",
}

URGENCIES = {
    "routine": "Routine",
    "urgent": "Urgent",
}

REFERRAL_STATUSES = {
    "received": "Received",
    "accepted": "Accepted",
    "allocated": "Allocated",
    "declined": "Declined",
    "closed": "Closed",
    "withdrawn": "Withdrawn",
}

# Why a partner withdrew a referral. "other" needs a few words of details.
WITHDRAWAL_REASONS = {
    "family_changed_mind": "The family changed their mind",
    "sent_by_mistake": "Sent by mistake",
    "other": "Another reason",
}
