"""Unit tests of core/wire/visit.py and of what the page's requests get (issue 13): a browser
visit is one client, the page's script and style are the only resources, and a page
people trust says so in its headers. No sockets."""

from __future__ import annotations

from test_routing import answer, entry, headers_of, state  # noqa: F401  (fixtures)

from core.server.offer import OfferState
from core.wire.protocol import clean_client_id
from core.wire.visit import VISIT_COOKIE, cookies, new_visit_id, set_visit_cookie


def test_cookies_are_read_as_browsers_send_them() -> None:
    assert cookies("a=1; filecast_visit=abc_DEF-123; b=\"q\"") == {
        "a": "1", VISIT_COOKIE: "abc_DEF-123", "b": "q"}
    assert cookies("x=1; x=2; junk; =v; ;") == {"x": "1"}  # the first of a name wins
    assert cookies(None) == {} and cookies("") == {}
    assert len(cookies("; ".join(f"c{n}=1" for n in range(500)))) == 50  # bounded


def test_a_visit_id_is_a_valid_client_id_in_a_strict_http_only_cookie() -> None:
    visit = new_visit_id()
    assert clean_client_id(visit) == visit and new_visit_id() != visit
    cookie = set_visit_cookie(visit)
    assert cookie.startswith(f"{VISIT_COOKIE}={visit};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie


def test_the_page_gives_a_visit_id_once_and_says_how_it_may_be_used(
        state: OfferState) -> None:  # noqa: F811
    first = headers_of(answer(state, "GET", "/"))
    assert first["set-cookie"].startswith(f"{VISIT_COOKIE}=")
    policy = first["content-security-policy"]
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert first["x-content-type-options"] == "nosniff"
    assert first["referrer-policy"] == "no-referrer"
    visit = first["set-cookie"].split(";")[0].split("=", 1)[1]
    again = headers_of(answer(state, "GET", "/", f"Cookie: {VISIT_COOKIE}={visit}"))
    assert "set-cookie" not in again  # the visit keeps its id


def test_the_page_resources_are_served_and_cached_by_etag(state: OfferState) -> None:  # noqa: F811
    for name, kind in (("filecast.js", "text/javascript"), ("filecast.css", "text/css")):
        reply = answer(state, "GET", f"/page/{name}")
        got = headers_of(reply)
        assert reply.status == 200 and got["content-type"].startswith(kind) and reply.body
        assert answer(state, "GET", f"/page/{name}",
                      f"If-None-Match: {got['etag']}").status == 304


def test_nothing_else_is_served_from_the_assets(state: OfferState) -> None:  # noqa: F811
    from test_routing import refusal

    for path in ("/page/", "/page/../README.md", "/page/draw_icons.py", "/page/x.js",
                 "/page/filecast.js/", "/assets/page/filecast.js", "/page/%2e%2e/core"):
        assert refusal(state, "GET", path).status == 404, path


def test_an_unchanged_offer_is_a_304_without_a_greeting(state: OfferState) -> None:  # noqa: F811
    from core.server.routing import Outcome

    first = answer(state, "GET", "/api/v1/offer")
    assert first.outcome is Outcome.OFFER_SENT
    tag = headers_of(first)["etag"]
    again = answer(state, "GET", "/api/v1/offer", f"If-None-Match: {tag}")
    assert again.status == 304 and again.outcome is Outcome.NONE and again.body == b""


def test_a_re_read_of_a_changed_offer_is_no_greeting(state: OfferState) -> None:  # noqa: F811
    """The page polls with If-None-Match; while a folder is hashed the offer changes every
    moment, and each poll once printed "Message sent out to client" again (the adversarial
    pass, issue 13)."""
    from core.server.routing import Outcome

    changed = answer(state, "GET", "/api/v1/offer", 'If-None-Match: "an-older-offer"')
    assert changed.status == 200 and changed.outcome is Outcome.NONE


def test_a_page_reached_from_another_site_sets_no_visit_but_its_first_request_does(
        state: OfferState) -> None:  # noqa: F811
    """SameSite=Strict keeps the visit cookie off a request from a link on another site;
    a new id there would replace the one the browser has (the adversarial pass)."""
    page = headers_of(answer(state, "GET", "/", "Sec-Fetch-Site: cross-site"))
    assert "set-cookie" not in page
    first = headers_of(answer(state, "GET", "/api/v1/offer", "Sec-Fetch-Site: same-origin"))
    assert first["set-cookie"].startswith(f"{VISIT_COOKIE}=")
    tk = headers_of(answer(state, "GET", "/api/v1/offer", "X-Filecast-Client-Id: tk-client-1",
                           "Sec-Fetch-Site: same-origin"))
    assert "set-cookie" not in tk  # a client with an id of its own gets none
