"""What every service's web pages share: GOV.UK Frontend (its styles, assets and Jinja
macros), the templates in backbone/templates/familyties/ (sign-in, form macros), strict
page headers, and the error summary's links. A service adds its own pages blueprint,
whose templates provide `base.html` and `error.html`."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, request
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from backbone.web import serve_node_package

TEMPLATES = Path(__file__).resolve().parent / "templates"
# No script runs on the pages; images may be inline (data:), as the reports' charts are.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'none'; object-src 'none'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def add_govuk_pages(app: Flask, pages: Blueprint, *extra_assets: str) -> None:
    """Serve GOV.UK Frontend (and the npm packages' `extra_assets` folders at /assets/),
    make its macros and the shared templates available, and give every page of `pages`
    the strict headers. The blueprint object is shared by every app a process makes, so
    what is added goes on the app, as registering the blueprint would put it."""
    serve_node_package(app, "/static/govuk", "govuk-frontend/dist/govuk")
    # GOV.UK Frontend's stylesheets ask for fonts and images at /assets/.
    serve_node_package(app, "/assets", "govuk-frontend/dist/govuk/assets", *extra_assets)
    # GOV.UK Frontend's macros (govuk-frontend-jinja), the templates with which
    # govuk-frontend-wtf renders WTForms fields through them, and backbone's templates.
    app.jinja_loader = ChoiceLoader(
        [
            *([app.jinja_loader] if app.jinja_loader else []),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                    "familyties": FileSystemLoader(TEMPLATES / "familyties"),
                }
            ),
        ]
    )
    app.after_request_funcs.setdefault(pages.name, []).append(page_headers)
    app.context_processor(lambda: {"error_links": error_links})


def page_headers(response: Response) -> Response:
    # A page that sets a policy of its own (a framed preview, say) keeps it.
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    # Over HTTPS the CSRF check also wants a same-origin Referer; other sites get none.
    response.headers["Referrer-Policy"] = "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def error_links(errors: dict[str, str]) -> list[dict[str, str]]:
    """{id: message} as the GOV.UK error summary's list, each linking to its answer."""
    return [{"text": message, "href": f"#{field_id}"} for field_id, message in errors.items()]
