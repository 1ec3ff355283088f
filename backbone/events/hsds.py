"""Open Referral HSDS 3.0 shapes, as profiled by Open Referral UK: shared by the
directory's API, its import files and its events.

Extensions this system needs carry HSDS's `x_` prefix: `x_confidential` and
`x_safe_contact` on a location whose address must stay hidden (a refuge), and
`x_agency_type` on an organisation (statutory, voluntary or other) for funders' reports.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backbone.events import vocabulary as v
from backbone.fields import (
    PHONE,
    POSTCODE,
    StrictFloat,
    identifier,
    matching,
    one_of,
    strict_integer,
    text,
)

HSDS_VERSION = "3.0"
PROFILE = "https://openreferraluk.org"
NATIONAL_AREA = "Scotland"
# A service area is named after a local authority, or is the whole of Scotland.
AREA_NAMES = [*v.LOCAL_AUTHORITIES.values(), NATIONAL_AREA]
SERVICE_STATUSES = ["active", "inactive", "defunct", "temporarily closed"]
LOCATION_TYPES = ["physical", "postal", "virtual"]
WEEKDAYS = matching(
    r"(MO|TU|WE|TH|FR|SA|SU)(,(MO|TU|WE|TH|FR|SA|SU))*",
    error="Give days as RFC 5545 codes separated by commas, like MO,TU,WE.",
)
TIME = matching(r"([01][0-9]|2[0-3]):[0-5][0-9]", error="Give a time like 09:30.")
ID = identifier()


class HsdsSchema(Schema):
    class Meta:
        ordered = True


class PhoneSchema(HsdsSchema):
    id = ID
    number = fields.String(required=True, validate=PHONE)
    extension = text(20)
    type = fields.String(validate=validate.OneOf(["voice", "text", "textphone", "cell", "fax"]))
    description = text(500)


class ScheduleSchema(HsdsSchema):
    id = ID
    freq = fields.String(validate=validate.OneOf(["WEEKLY", "MONTHLY"]))
    byday = fields.String(validate=WEEKDAYS)
    opens_at = fields.String(validate=TIME)
    closes_at = fields.String(validate=TIME)
    description = text(500)
    notes = text(500)


class ContactSchema(HsdsSchema):
    """A role to ask for, not a person: the directory holds no staff names."""

    id = ID
    name = text(200)
    title = text(200)
    department = text(200)
    email = fields.Email()
    phones = fields.List(fields.Nested(PhoneSchema))


class AddressSchema(HsdsSchema):
    id = ID
    attention = text(200)
    address_1 = text(200, required=True)
    address_2 = text(200)
    city = text(100, required=True)
    region = text(100)
    state_province = text(100, load_default="Scotland")
    postal_code = fields.String(required=True, validate=POSTCODE)
    country = fields.String(
        load_default="GB", validate=matching("[A-Z]{2}", error="Give a country code, like GB.")
    )
    address_type = fields.String(load_default="physical", validate=validate.OneOf(LOCATION_TYPES))


class LocationSchema(HsdsSchema):
    id = ID
    location_type = fields.String(load_default="physical", validate=validate.OneOf(LOCATION_TYPES))
    name = text(200)
    alternate_name = text(200)
    description = text(2000)
    transportation = text(1000)
    latitude = StrictFloat(validate=validate.Range(min=54.0, max=61.5))
    longitude = StrictFloat(validate=validate.Range(min=-9.0, max=-0.5))
    addresses = fields.List(fields.Nested(AddressSchema))
    phones = fields.List(fields.Nested(PhoneSchema))
    schedules = fields.List(fields.Nested(ScheduleSchema))
    x_confidential = fields.Boolean(
        load_default=False,
        metadata={"description": "The address is withheld from the public and from events."},
    )
    x_safe_contact = text(
        500, metadata={"description": "How the public may safely make contact instead."}
    )


class OrganizationSchema(HsdsSchema):
    id = ID
    name = text(200, required=True)
    alternate_name = text(200)
    description = text(4000, required=True)
    email = fields.Email()
    website = fields.Url()
    phones = fields.List(fields.Nested(PhoneSchema))
    # No default: an organisation imported or written without it has it "not recorded",
    # and a file lacking it leaves the type already stored as it was.
    x_agency_type = fields.String(
        validate=one_of(v.AGENCY_TYPES, error="x_agency_type must be one of: {choices}."),
        metadata={
            "description": "What kind of body this is: statutory (council, health and social "
            "care partnership, NHS, prison, DWP, police, school), voluntary (charity or third "
            "sector) or other. Left out when not recorded."
        },
    )


class ServiceAreaSchema(HsdsSchema):
    id = ID
    name = fields.String(
        required=True,
        validate=validate.OneOf(AREA_NAMES, error="Name a Scottish local authority or Scotland."),
    )
    description = text(500)


class TaxonomySchema(HsdsSchema):
    id = ID
    name = text(200, required=True)
    description = text(2000, required=True)
    uri = fields.Url()
    version = text(20)


class TaxonomyTermSchema(HsdsSchema):
    id = ID
    code = text(100)
    name = text(200, required=True)
    description = text(2000, required=True)
    parent_id = ID
    taxonomy_id = ID
    language = text(35, load_default="en")
    term_uri = fields.Url()


class AttributeSchema(HsdsSchema):
    """Links a service to a taxonomy term, such as a need it answers."""

    id = ID
    taxonomy_term_id = identifier(required=True)
    taxonomy_term = fields.Nested(TaxonomyTermSchema)


class MetadataSchema(HsdsSchema):
    """One change to one field of a resource: who, when, and the values before and after."""

    id = ID
    resource_id = fields.String()
    resource_type = fields.String()
    last_action_date = fields.AwareDateTime()
    last_action_type = fields.String()
    field_name = fields.String()
    previous_value = fields.String()
    replacement_value = fields.String()
    updated_by = fields.String()
    x_updated_by_name = fields.String()


class ServiceFields(HsdsSchema):
    """What a service holds of its own, whether written or read."""

    id = ID
    name = text(200, required=True)
    alternate_name = text(200)
    description = text(4000, required=True)
    url = fields.Url()
    email = fields.Email()
    status = fields.String(load_default="active", validate=validate.OneOf(SERVICE_STATUSES))
    application_process = text(2000)
    fees_description = text(1000)
    eligibility_description = text(2000)
    minimum_age = strict_integer(validate=validate.Range(min=0, max=120))
    maximum_age = strict_integer(validate=validate.Range(min=0, max=120))
    alert = text(1000)
    phones = fields.List(fields.Nested(PhoneSchema))
    schedules = fields.List(fields.Nested(ScheduleSchema))
    contacts = fields.List(fields.Nested(ContactSchema))
    service_areas = fields.List(fields.Nested(ServiceAreaSchema))
    attributes = fields.List(fields.Nested(AttributeSchema))


class ServiceLinkSchema(HsdsSchema):
    """A service offered at a location, written by the location's id."""

    id = ID
    location_id = identifier(required=True)
    description = text(1000)


class ServiceWriteSchema(ServiceFields):
    """A service as an editor writes it: its organisation and locations by id."""

    organization_id = identifier(required=True)
    service_at_locations = fields.List(fields.Nested(ServiceLinkSchema))


class ServiceAtLocationSchema(HsdsSchema):
    id = ID
    description = text(1000)
    location = fields.Nested(LocationSchema, required=True)


class NestedServiceSchema(ServiceFields):
    """A service fully nested: its organisation, locations and taxonomy terms inside.
    What the API answers, events carry, and import and export files hold."""

    organization = fields.Nested(OrganizationSchema, required=True)
    service_at_locations = fields.List(fields.Nested(ServiceAtLocationSchema))
    last_modified = fields.AwareDateTime()


NESTED_SERVICE = NestedServiceSchema()


class AuthorSchema(HsdsSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class FieldChangeSchema(HsdsSchema):
    field_name = fields.String(required=True)
    previous_value = fields.String(required=True)
    replacement_value = fields.String(required=True)


class ChangeSchema(HsdsSchema):
    """Who changed the directory, when, and what (confidential values withheld)."""

    action = fields.String(required=True, validate=validate.OneOf(["create", "update", "delete"]))
    resource_type = fields.String(required=True)
    resource_id = fields.String(required=True)
    by = fields.Nested(AuthorSchema, required=True)
    at = fields.AwareDateTime(required=True)
    fields_changed = fields.List(fields.Nested(FieldChangeSchema), required=True)


class ServiceChangedSchema(Schema):
    """The data of ServicePublished, ServiceUpdated and ServiceWithdrawn."""

    service = fields.Nested(NestedServiceSchema, required=True)
    change = fields.Nested(ChangeSchema, required=True)
