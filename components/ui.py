"""Reusable UI pieces: navbar, item cards and galleries, empty and not-found states."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, callback, ctx, dcc, html

from components import ids
from components.images import thumb_url
from components.links import with_collection
from core.workspace import Workspace, build_command

BRAND = "Style Atlas"


def navbar(pages: Iterable[Mapping[str, Any]], extra: Any = None) -> dbc.Navbar:
    """The top bar, one link per registered page with ``nav_order`` (from ``dash.page_registry``),
    then ``extra`` (the collection switcher, the account corner: one or a list) at the right."""
    shown = sorted((p for p in pages if p.get("nav_order") is not None), key=lambda p: p["nav_order"])
    links = [
        dbc.NavItem(dbc.NavLink(p["name"], href=with_collection(p["relative_path"]), active=False,
                                id={"type": ids.NAV_LINK_TYPE, "path": p["relative_path"]}))
        for p in shown
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand([html.Span("◆ ", className="brand-mark"), BRAND], href=with_collection("/"), class_name="fw-bold"),
                dbc.NavbarToggler(id=ids.NAVBAR_TOGGLER),
                dbc.Collapse(dbc.Nav([*links, *(x for x in (extra if isinstance(extra, list) else [extra]) if x is not None)],
                                     navbar=True, class_name="ms-auto"),
                             id=ids.NAVBAR_COLLAPSE, navbar=True),
            ],
            fluid=True,
        ),
        color="primary",
        dark=True,
        class_name="mb-3 shadow-sm",
    )


def active_links(paths: Sequence[str], pathname: str | None) -> list[bool]:
    """Which navbar links (their page paths, without ``?c=``) the page at ``pathname`` highlights:
    the one whose path it is, or lies under (``/clusters`` for ``/clusters/…``); ``/`` only itself."""
    here = "/" + (pathname or "/").strip("/")
    return [here == p or (p != "/" and here.startswith(p.rstrip("/") + "/")) for p in paths]


@callback(Output({"type": ids.NAV_LINK_TYPE, "path": ALL}, "active"), Input("_pages_location", "pathname"))
def _highlight(pathname: str | None) -> list[bool]:
    """The navbar's links carry ``?c=<slug>``, so Dash's ``active="exact"`` (href against the
    path) would never match: the page's path picks the link instead."""
    return active_links([o["id"]["path"] for o in ctx.outputs_list], pathname)


def page_header(title: str, subtitle: str | None = None, right: Any = None) -> html.Div:
    """A page title with an optional subtitle and right-aligned controls."""
    return html.Div(
        [
            html.Div([html.H2(title, className="mb-0"), html.P(subtitle, className="text-muted mb-0") if subtitle else None]),
            html.Div(right) if right is not None else None,
        ],
        className="d-flex justify-content-between align-items-end mb-3 flex-wrap gap-2",
    )


def command_hint(command: str) -> html.Pre:
    """A shell command to copy."""
    return html.Pre(html.Code(command), className="command-hint mb-0")


def empty_state(title: str, message: str, command: str | None = None, icon: str = "◌", **kwargs: Any) -> html.Div:
    """A friendly placeholder when something is missing, naming the command that builds it
    (or, while the first-start build runs, saying that it will fill this in)."""
    from components.bootstrap import building as is_building
    from components.settings import workspace_path

    hint: Any = None
    if command:
        hint = (html.P("The build under way computes it: this page fills in when that step lands.",
                       className="fw-bold mb-0", id=ids.EMPTY_BUILD_NOTE)
                if is_building(workspace_path()) else command_hint(command))
    return html.Div(
        [
            html.Div(icon, className="empty-icon"),
            html.H4(title),
            html.P(message, className="text-muted"),
            hint,
        ],
        className="empty-state text-center",
        **kwargs,
    )


def no_workspace() -> html.Div:
    """The empty state of a page when the configured workspace does not exist yet."""
    from components.settings import workspace_path

    return empty_state("No workspace", "Build the catalog first.",
                       command=f"python -m core run --workspace {workspace_path()}")


def page_guard(ws: Workspace | None, header: Any, page_id: str, needs: str | None = None,
               missing: tuple[str, str, str] | None = None) -> html.Div | None:
    """The whole page when it cannot be drawn, else None: the "no workspace" state, or (``needs``:
    the artifact the page reads) the empty state ``missing = (title, message, id)`` naming the
    command that builds it."""
    if ws is None:
        return html.Div([header, no_workspace()], id=page_id)
    if needs is not None and not ws.has(needs):
        title, message, state_id = missing or ("Not built yet", f"This page needs {needs}.", f"{page_id}-missing")
        return html.Div([header, empty_state(title, message, command=build_command(needs, ws.root), id=state_id)],
                        id=page_id)
    return None


def not_found(what: str, ident: str, back_href: str = "/", back_label: str = "Back to the overview") -> html.Div:
    """The view for an unknown item or cluster id in the URL."""
    return html.Div(
        [
            html.Div("?", className="empty-icon"),
            html.H4(f"No {what} “{ident[:40]}”"),
            html.P(
                f"This {what} is not in the current catalog. The link may be old, or the catalog was rebuilt.",
                className="text-muted",
            ),
            dbc.Button(back_label, href=with_collection(back_href), color="primary", outline=True),
        ],
        className="empty-state text-center",
        id=ids.NOT_FOUND,
    )


def item_card(
    item_id: str,
    title: str | None = None,
    subtitle: str | None = None,
    badge: str | None = None,
    href: str | None = None,
    extra: Any = None,
    board_add: bool = True,
) -> dbc.Card:
    """One image card linking to the item's detail view, with a ＋ that adds it to the open board."""
    body = [
        html.Div(
            [
                html.Span(title or "unlabelled", className="card-title small fw-semibold text-truncate mb-0"),
                html.Span([
                    dcc.Link("similar", href=with_collection(f"/search?item={item_id}"), className="similar-link small",
                             title="Find similar pieces"),
                    html.Button("＋", id={"type": ids.BOARD_ADD_TYPE, "item": item_id}, className="board-add-btn",
                                title="Add to the open board", n_clicks=0) if board_add else None,
                ], className="text-nowrap"),
            ],
            className="d-flex justify-content-between align-items-baseline gap-1",
        ),
        html.Div(subtitle, className="small text-muted text-truncate") if subtitle else None,
        extra,
    ]
    return dbc.Card(
        [
            dcc.Link(
                [
                    html.Img(src=thumb_url(item_id), className="card-img-top item-thumb", alt=title or item_id),
                    dbc.Badge(badge, color="dark", class_name="score-badge") if badge else None,
                ],
                href=with_collection(href or f"/item/{item_id}"),
                className="thumb-link",
            ),
            dbc.CardBody(body, class_name="p-2"),
        ],
        class_name="item-card h-100 shadow-sm",
        id={"type": ids.ITEM_CARD_TYPE, "item": item_id},
    )


def gallery(cards: Sequence[Any], min_width: int = 150, **kwargs: Any) -> html.Div:
    """A responsive grid of cards."""
    return html.Div(list(cards), className="gallery", style={"--card-min": f"{min_width}px"}, **kwargs)


def _is_text(value: Any) -> bool:
    """A value that is words rather than a number (shown smaller)."""
    return isinstance(value, str) and not value.replace(",", "").replace(".", "").isdigit()


def stat_card(label: str, value: Any, hint: str | None = None, **kwargs: Any) -> dbc.Card:
    """A big number with a label."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(label, className="text-uppercase small text-muted fw-semibold"),
                html.Div(value, className="stat-value" + (" stat-text" if _is_text(value) else "")),
                html.Div(hint, className="small text-muted") if hint else None,
            ]
        ),
        class_name="shadow-sm h-100",
        **kwargs,
    )


def alert(message: str, color: str = "info", **kwargs: Any) -> dbc.Alert:
    """A dismissable message."""
    return dbc.Alert(message, color=color, dismissable=True, class_name="mb-2", **kwargs)
