"""The dashboard's pages: server-rendered HTML (Flask + Jinja2), no script, nothing fetched.

Every page but the login needs a staff session; every form carries the session's CSRF token
and every POST checks it. Jinja escapes every string; plots are SVG built on the server
(dashboard/plots.py). The Content-Security-Policy forbids scripts and anything from elsewhere.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    abort,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from dashboard import auth
from dashboard.annotate import add_annotation_routes
from dashboard.plots import line_plot
from dashboard.review import kind_tally, review_items
from dashboard.store import Store
from dashboard.trends import METRICS, SiteTrend, mdc_fraction, site_trends
from sync.models import InvalidMessage, ReplyMessage, WorklistCommand, validate_message

log = logging.getLogger(__name__)

COOKIE = "dermocap_session"
LOGIN_COOKIE = "dermocap_login"
SEND_TIMEOUT_S = 8.0
Commander = Callable[[str, str, dict[str, Any]], ReplyMessage | None]
"""Sends a command ``(device_id, name, payload)`` to a rig; returns its reply or None."""

CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def create_app(
    store: Store,
    *,
    commander: Commander | None = None,
    session_hours: float = 12.0,
    secure_cookies: bool = False,
) -> Flask:
    """The Flask app over ``store``; ``commander`` sends worklists (None: the form says so)."""
    app = Flask(__name__, template_folder=str(Path(__file__).with_name("templates")))
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024)
    app.jinja_env.globals["review_items"] = review_items
    app.jinja_env.globals["kind_tally"] = kind_tally

    def cookie(resp: Response, name: str, value: str, max_age: int | None) -> None:
        resp.set_cookie(
            name, value, max_age=max_age, httponly=True, samesite="Strict", secure=secure_cookies
        )

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.before_request
    def need_login() -> ResponseReturnValue | None:
        g.session = auth.session_of(store, request.cookies.get(COOKIE))
        g.started = time.perf_counter()
        if request.endpoint in ("login", "static") or request.endpoint is None:
            return None
        if g.session is None:
            return redirect(url_for("login", next=request.path))
        if request.method == "POST" and not auth.csrf_ok(
            g.session.csrf, request.form.get("csrf_token")
        ):
            abort(400, "the form is stale or forged (CSRF token): reload the page")
        return None

    @app.context_processor
    def common() -> dict[str, Any]:
        s = g.get("session")
        return {"user": s.username if s else None, "csrf_token": s.csrf if s else ""}

    # -- login ------------------------------------------------------------------------------

    @app.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        error = ""
        if request.method == "POST":
            if not auth.csrf_ok(request.cookies.get(LOGIN_COOKIE, ""), request.form.get("token")):
                error = "The login form expired: try again."
            else:
                token = auth.log_in(
                    store,
                    request.form.get("username", "")[:64],
                    request.form.get("password", "")[:256],
                    session_hours,
                )
                if token is not None:
                    target = request.args.get("next", "")
                    # Only a path of this site: never an open redirect.
                    if not target.startswith("/") or target.startswith("//"):
                        target = url_for("rigs")
                    resp = redirect(target)
                    cookie(resp, COOKIE, token, int(session_hours * 3600))
                    resp.delete_cookie(LOGIN_COOKIE)
                    return resp
                error = "Wrong username or password."
        token = secrets.token_urlsafe(24)
        resp = make_response(render_template("login.html", error=error, token=token))
        cookie(resp, LOGIN_COOKIE, token, 3600)
        return resp

    @app.post("/logout")
    def logout() -> ResponseReturnValue:
        store.drop_session(auth.token_key(request.cookies.get(COOKIE, "")))
        resp = redirect(url_for("login"))
        resp.delete_cookie(COOKIE)
        return resp

    # -- rigs -------------------------------------------------------------------------------

    @app.get("/")
    def index() -> ResponseReturnValue:
        return redirect(url_for("rigs"))

    @app.get("/rigs")
    def rigs() -> ResponseReturnValue:
        tally = store.review_tally(time.time() - REVIEW_DAYS * 86400)
        return render_template(
            "rigs.html",
            rigs=[_rig_view(r, tally.get(r["device_id"])) for r in store.rigs()],
            review_days=REVIEW_DAYS,
            dead_letters=store.dead_letters(20),
            dead_total=store.count("dead_letters"),
        )

    # -- subjects ---------------------------------------------------------------------------

    @app.get("/subjects")
    def subjects() -> ResponseReturnValue:
        return render_template("subjects.html", subjects=store.subjects())

    def subject_context(subject: str) -> dict[str, Any]:
        results = store.subject_results(subject)
        if not results:
            abort(404, "no results for this subject")
        rig_cv = {dev: _density_cv(t) for dev, t in store.telemetry().items()}
        sites = []
        for trend in site_trends(results):
            latest = trend.results[trend.visits[-1]]
            cv = rig_cv.get(latest["device_id"])
            mdc = mdc_fraction(cv)
            sites.append(
                {"trend": trend, "mdc": mdc, "cv": cv, "device_id": latest["device_id"],
                 "plots": _plots(trend)}
            )  # fmt: skip
        return {"subject": subject, "sites": sites, "metrics": METRICS, "count": len(results)}

    @app.get("/subjects/<subject>")
    def subject(subject: str) -> ResponseReturnValue:
        return render_template("subject.html", **subject_context(subject))

    @app.get("/subjects/<subject>/report")
    def report(subject: str) -> ResponseReturnValue:
        ctx = subject_context(subject)
        return render_template("report.html", printed=time.strftime("%Y-%m-%d %H:%M"), **ctx)

    @app.get("/subjects/<subject>/sites/<site>")
    def side_by_side(subject: str, site: str) -> ResponseReturnValue:
        trends = [t for t in site_trends(store.subject_results(subject)) if t.site == site]
        if not trends:
            abort(404, "no results for this site")
        trend = trends[0]
        overlay = request.args.get("overlay") == "1"
        ids = [trend.results[v]["capture_id"] for v in trend.visits]
        images = store.images_of(ids)
        columns = []
        for visit in trend.visits:
            r = trend.results[visit]
            shown = _pick(images.get(r["capture_id"], []), overlay)
            is_overlay = shown is not None and Store.is_overlay(shown["name"])
            columns.append({"visit": visit, "result": r, "image": shown, "overlay": is_overlay})
        return render_template(
            "side_by_side.html", subject=subject, site=site, columns=columns, overlay=overlay
        )

    @app.get("/images/<image_id>")
    def image(image_id: str) -> ResponseReturnValue:
        row = store.image(image_id)
        if row is None or not row["file"]:
            abort(404)
        path = store.images_dir / row["file"]
        if path.resolve().parent != store.images_dir.resolve():
            abort(404)
        return send_file(path, mimetype=row["content_type"], max_age=0)

    # -- worklist ---------------------------------------------------------------------------

    @app.route("/worklist", methods=["GET", "POST"])
    def worklist() -> ResponseReturnValue:
        sent: dict[str, Any] | None = None
        error = ""
        form = {
            "device_id": "",
            "subject": "",
            "visit": "baseline",
            "sites": "frontal vertex occipital",
        }
        if request.method == "POST":
            form = {k: request.form.get(k, "")[:400] for k in form}
            device_ids = {r["device_id"] for r in store.rigs()}
            try:
                if form["device_id"] not in device_ids:
                    raise ValueError(f"unknown rig {form['device_id']!r}")
                cmd = validate_message(
                    WorklistCommand,
                    {"subject": form["subject"].strip(), "visit": form["visit"].strip(),
                     "sites": form["sites"].replace(",", " ").split()},
                )  # fmt: skip
            except (InvalidMessage, ValueError) as exc:
                error = str(exc)
            else:
                sent = _send(store, commander, form["device_id"], cmd, g.session.username)
        return render_template(
            "worklist.html",
            rigs=store.rigs(),
            form=form,
            sent=sent,
            error=error,
            history=store.commands(10),
            can_send=commander is not None,
        )

    add_annotation_routes(app, store)

    @app.errorhandler(400)
    @app.errorhandler(404)
    def error_page(exc: Any) -> ResponseReturnValue:
        return render_template("error.html", error=exc), exc.code

    return app


def _send(
    store: Store, commander: Commander | None, device_id: str, cmd: WorklistCommand, user: str
) -> dict[str, Any]:
    payload = cmd.model_dump(mode="json")
    command_id = store.log_command(device_id, "worklist", payload, user)
    reply = commander(device_id, "worklist", payload) if commander is not None else None
    if reply is None:
        out: dict[str, Any] = {"ok": None, "error": "no reply from the rig in time (offline?)"}
    else:
        out = {"ok": reply.ok, "error": reply.error, "data": reply.data}
    store.command_replied(command_id, out["ok"], out)
    return {"device_id": device_id, "payload": payload, **out}


def _density_cv(telemetry: dict[str, Any]) -> float | None:
    raw = telemetry.get("repeatability_density_cv")
    return None if raw is None else float(raw)


# The rigs page counts review flags over results received in this many days: a rig whose
# results are often flagged for the same kind (say, hair mats) tells the clinic what to change.
REVIEW_DAYS = 30


def _rig_view(r: dict[str, Any], review: dict[str, Any] | None = None) -> dict[str, Any]:
    t = r["telemetry"]
    age = time.time() - float(r["last_seen"])
    online = r["state"] == "online"
    return {
        **r,
        "online": online,
        "seen_ago_s": age,
        "queued": t.get("outbox_depth"),
        "calibration_age_h": None
        if t.get("calibration_age_s") is None
        else float(t["calibration_age_s"]) / 3600,
        "led_drift_pct": t.get("led_drift_pct"),
        "light_check_age_h": None
        if t.get("light_check_age_s") is None
        else float(t["light_check_age_s"]) / 3600,
        "density_cv": t.get("repeatability_density_cv"),
        "review": review or {"results": 0, "flagged": 0},
    }


def _pick(images: list[dict[str, Any]], overlay: bool) -> dict[str, Any] | None:
    """The capture's overlay image when asked and sent, else its photograph."""
    overlays = [i for i in images if Store.is_overlay(i["name"])]
    plain = [i for i in images if not Store.is_overlay(i["name"])]
    if overlay and overlays:
        return overlays[0]
    return plain[0] if plain else (overlays[0] if overlays else None)


def _plots(trend: SiteTrend) -> list[Any]:
    labels = trend.visits
    flagged = [bool(trend.results[v].get("review")) for v in labels]
    density = {label: [trend.value(v, key) for v in labels] for key, label, _ in METRICS[:3]}
    return [
        line_plot(
            labels, density, title=f"{trend.site}: density", unit="hairs/cm²", flagged=flagged
        ),
        line_plot(
            labels,
            {"Mean diameter": [trend.value(v, "mean_diameter_um") for v in labels]},
            title=f"{trend.site}: mean diameter",
            unit="µm",
            flagged=flagged,
        ),
        line_plot(
            labels,
            {
                "Cumulative thickness": [
                    trend.value(v, "cumulative_thickness_mm_per_cm2") for v in labels
                ]
            },
            title=f"{trend.site}: cumulative thickness",
            unit="mm/cm²",
            flagged=flagged,
        ),
    ]
