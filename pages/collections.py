"""Collections: every collection of the server; create, rename, delete, and import into the one shown."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import auth, collection_admin, ids, settings, ui
from components.links import shown_slug, with_collection
from core import collections

dash.register_page(__name__, path=collection_admin.PAGE_PATH, name="Collections", title="Style Atlas · Collections",
                   nav_order=90)


def _table(rows: list[dict[str, Any]], current: str | None) -> dbc.Table:
    body = [html.Tr([html.Td(dcc.Link(r["name"], href=with_collection("/", r["slug"]), refresh=True)),
                     html.Td(html.Code(r["slug"])),
                     html.Td("—" if r["items"] is None else f"{r['items']:,}"),
                     html.Td(r["description"], className="small text-muted")],
                    className="table-active" if r["slug"] == current else None) for r in rows]
    return dbc.Table([html.Thead(html.Tr([html.Th("Name"), html.Th("Id (in links)"), html.Th("Photos"),
                                          html.Th("Description")])), html.Tbody(body)],
                     hover=True, size="sm", id=ids.COLLECTION_LIST)


def _create_card() -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.H5("New collection"),
        dbc.Input(id=ids.COLLECTION_CREATE_NAME, placeholder="Name (e.g. Summer 2025)", maxLength=100, class_name="mb-2"),
        dbc.Textarea(id=ids.COLLECTION_CREATE_DESCRIPTION, placeholder="Description (optional)", maxLength=2000,
                     class_name="mb-2"),
        dbc.Button("Create", id=ids.COLLECTION_CREATE, color="primary"),
    ]), class_name="shadow-sm mb-3")


def _import_card(hosted: bool) -> dbc.Card:
    cap = settings.max_import_bytes()
    return dbc.Card(dbc.CardBody([
        html.H5("Import photos"),
        dcc.Upload(html.Div(["Drop photos, a ZIP (with an optional CSV of labels) or a CSV of URLs here, or ",
                             html.A("choose files")]),
                   id=ids.COLLECTION_IMPORT_UPLOAD, multiple=True, max_size=cap, className="upload-drop mb-2",
                   style={"border": "2px dashed #aaa", "borderRadius": "6px", "padding": "1.2rem", "textAlign": "center"}),
        html.Div(id=ids.COLLECTION_IMPORT_FILES, className="small text-muted mb-2"),
        dbc.Textarea(id=ids.COLLECTION_IMPORT_URLS, placeholder="…or paste image URLs, one a line", class_name="mb-2",
                     maxLength=1_000_000),
        dbc.Input(id=ids.COLLECTION_IMPORT_FOLDER, placeholder="…or a folder on this machine", class_name="mb-2",
                  style={"display": "none"} if hosted else None),  # hosted: refused on the server too
        dbc.Button("Import", id=ids.COLLECTION_IMPORT, color="primary"),
        html.Div(f"Up to {cap / 2**20:.0f} MB at once; the work runs as a job.", className="small text-muted mt-1"),
        html.Hr(),
        html.Div(id=ids.COLLECTION_IMPORT_STATUS),
        dcc.Interval(id=ids.COLLECTION_IMPORT_POLL, interval=1500),
    ]), class_name="shadow-sm mb-3")


def _manage_card(current: collections.Collection) -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.H5(f"“{current.name}”"),
        dbc.InputGroup([dbc.Input(id=ids.COLLECTION_RENAME_NAME, value=current.name, maxLength=100),
                        dbc.Button("Rename", id=ids.COLLECTION_RENAME, color="secondary")], class_name="mb-2"),
        dbc.Textarea(id=ids.COLLECTION_RENAME_DESCRIPTION, value=current.description, maxLength=2000, class_name="mb-3"),
        html.Div([dbc.Button("Re-cluster", id=ids.COLLECTION_RECLUSTER, color="secondary", outline=True, size="sm"),
                  html.Span(" retrains the clusters on every photo (new photos are placed without it); "
                            "names you gave follow their clusters.", className="small text-muted")], className="mb-3"),
        html.P(collections.deletion_warning(current.slug), className="small text-danger mb-1",
               id=ids.COLLECTION_DELETE_WARNING),
        dbc.InputGroup([dbc.Input(id=ids.COLLECTION_DELETE_CONFIRM, placeholder=f"type {current.name} to confirm"),
                        dbc.Button("Delete", id=ids.COLLECTION_DELETE, color="danger", outline=True)]),
    ]), class_name="shadow-sm mb-3")


def layout(**_query: Any) -> html.Div:
    single = collections.single_workspace() is not None
    slug = shown_slug()
    current = None
    if slug is not None:
        try:
            current = collections.get(slug)
        except Exception:  # noqa: BLE001 - an unknown slug in the URL: show the list without it
            current = None
    editor = auth.is_editor()
    header = ui.page_header("Collections", "Each collection is its own catalog; the link of every page names it.")
    if single:
        return html.Div([header, dbc.Alert("This server shows the one workspace STYLE_ATLAS_WORKSPACE names; unset it "
                                           "to keep several collections in STYLE_ATLAS_HOME.", color="secondary")],
                        id=ids.PAGE_COLLECTIONS)
    right = [_import_card(settings.hosted()), _manage_card(current)] if current is not None and editor else []
    return html.Div([
        header,
        dcc.Location(id=f"{ids.PAGE_COLLECTIONS}-nav", refresh=True),
        html.Div(id=f"{ids.COLLECTION_MESSAGE}-slot"),
        dbc.Row([
            dbc.Col([_table(collections.summaries(), slug), _create_card() if editor else
                     html.P("Editors create and import collections (Sign in, top right).", className="text-muted")],
                    lg=6),
            dbc.Col(right, lg=6),
        ]),
    ], id=ids.PAGE_COLLECTIONS)


MESSAGE = Output(f"{ids.COLLECTION_MESSAGE}-slot", "children", allow_duplicate=True)
NAV = Output(f"{ids.PAGE_COLLECTIONS}-nav", "href", allow_duplicate=True)


@callback(MESSAGE, NAV, Input(ids.COLLECTION_CREATE, "n_clicks"),
          State(ids.COLLECTION_CREATE_NAME, "value"), State(ids.COLLECTION_CREATE_DESCRIPTION, "value"),
          prevent_initial_call=True)
def _create(_n: int | None, name: str | None, description: str | None) -> tuple[Any, Any]:
    if (refused := auth.refusal("create collections")) is not None:
        return ui.alert(refused, "warning"), no_update
    message, href = collection_admin.create(name, description)
    return message, href or no_update


@callback(MESSAGE, Input(ids.COLLECTION_RENAME, "n_clicks"), State(ids.COLLECTION_RENAME_NAME, "value"),
          State(ids.COLLECTION_RENAME_DESCRIPTION, "value"), prevent_initial_call=True)
def _rename(_n: int | None, name: str | None, description: str | None) -> Any:
    if (refused := auth.refusal("rename collections")) is not None:
        return ui.alert(refused, "warning")
    return collection_admin.rename(shown_slug(), name, description)


@callback(MESSAGE, NAV, Input(ids.COLLECTION_DELETE, "n_clicks"), State(ids.COLLECTION_DELETE_CONFIRM, "value"),
          prevent_initial_call=True)
def _delete(_n: int | None, confirm: str | None) -> tuple[Any, Any]:
    if (refused := auth.refusal("delete collections")) is not None:
        return ui.alert(refused, "warning"), no_update
    message, href = collection_admin.delete(shown_slug(), confirm)
    return message, href or no_update


@callback(MESSAGE, Output(ids.BUILD_POLL, "disabled", allow_duplicate=True), Input(ids.COLLECTION_RECLUSTER, "n_clicks"),
          prevent_initial_call=True)
def _recluster(n_clicks: int | None) -> tuple[Any, Any]:
    if not n_clicks:  # the button rendered, not pressed
        return no_update, no_update
    if (refused := auth.refusal("re-cluster collections")) is not None:
        return ui.alert(refused, "warning"), no_update
    message, queued = collection_admin.recluster(shown_slug())
    return message, False if queued else no_update


@callback(Output(ids.COLLECTION_IMPORT_FILES, "children"), Input(ids.COLLECTION_IMPORT_UPLOAD, "filename"),
          prevent_initial_call=True)
def _chosen(names: list[str] | None) -> str:
    names = names or []
    return f"{len(names)} file(s) chosen: " + ", ".join(n[:60] for n in names[:8]) + (" …" if len(names) > 8 else "")


@callback(MESSAGE, Output(ids.BUILD_POLL, "disabled", allow_duplicate=True), Input(ids.COLLECTION_IMPORT, "n_clicks"),
          State(ids.COLLECTION_IMPORT_UPLOAD, "contents"), State(ids.COLLECTION_IMPORT_UPLOAD, "filename"),
          State(ids.COLLECTION_IMPORT_URLS, "value"), State(ids.COLLECTION_IMPORT_FOLDER, "value"),
          prevent_initial_call=True)
def _import(_n: int | None, contents: Any, names: Any, urls: str | None, folder: str | None) -> tuple[Any, Any]:
    """Stage and queue the import; the banner on every page then follows its job too."""
    if (refused := auth.refusal("import photos")) is not None:
        return ui.alert(refused, "warning"), no_update
    return collection_admin.start_import(shown_slug(), contents, names, urls, folder), False


@callback(Output(ids.COLLECTION_IMPORT_STATUS, "children"), Input(ids.COLLECTION_IMPORT_POLL, "n_intervals"))
def _status(_n: int | None) -> Any:
    return collection_admin.status(shown_slug())
