"""What the directory's API accepts in queries and answers besides the HSDS shapes."""

from __future__ import annotations

from datetime import UTC

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow.exceptions import ValidationError

from backbone.events import vocabulary
from backbone.events.hsds import (
    NestedServiceSchema,
    OrganizationSchema,
    TaxonomySchema,
    TaxonomyTermSchema,
)
from backbone.fields import Moment, identifier, one_of, text


class PagingSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    search = text(200, metadata={"description": "Words, each matching the start of a word."})


class ServiceQuerySchema(PagingSchema):
    taxonomy_term_id = identifier()
    organization_id = identifier()
    modified_after = Moment(default_timezone=UTC)
    local_authority = fields.String(
        validate=one_of(vocabulary.LOCAL_AUTHORITIES),
        metadata={"description": "Services for this area and national ones, local first."},
    )
    referring_team = fields.String(
        validate=one_of(vocabulary.TEAM_LOCAL_AUTHORITIES),
        metadata={"description": "Services for the team's local authorities and national ones."},
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "ndjson"]),
        metadata={"description": "ndjson: every matching service, one per line, unpaged."},
    )

    @validates_schema
    def one_area(self, data, **_kwargs):
        if "local_authority" in data and "referring_team" in data:
            raise ValidationError("Give a local authority or a referring team, not both.")


class OrganizationQuerySchema(PagingSchema):
    pass


class TaxonomyTermQuerySchema(PagingSchema):
    taxonomy_id = identifier()


class MetadataQuerySchema(Schema):
    resource_id = identifier(required=True)


class ApiInfoSchema(Schema):
    version = fields.String()
    profile = fields.String()
    openapi_url = fields.String()
    description = fields.String()


def for_patch(schema_class: type[Schema]) -> Schema:
    """The schema for a PATCH: any top-level field may be left out, while each nested
    object given must still be whole."""
    return schema_class(partial=tuple(schema_class._declared_fields))


def page_of(item_schema: type[Schema], name: str) -> type[Schema]:
    """The HSDS page envelope around a list of `item_schema`."""
    return Schema.from_dict(
        {
            "total_items": fields.Integer(),
            "total_pages": fields.Integer(),
            "page_number": fields.Integer(),
            "size": fields.Integer(),
            "first_page": fields.Boolean(),
            "last_page": fields.Boolean(),
            "empty": fields.Boolean(),
            "contents": fields.List(fields.Nested(item_schema)),
        },
        name=name,
    )


ServicePageSchema = page_of(NestedServiceSchema, "ServicePage")
OrganizationPageSchema = page_of(OrganizationSchema, "OrganizationPage")
TaxonomyPageSchema = page_of(TaxonomySchema, "TaxonomyPage")
TaxonomyTermPageSchema = page_of(TaxonomyTermSchema, "TaxonomyTermPage")
