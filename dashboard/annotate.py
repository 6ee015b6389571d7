"""The annotation page: staff click emergence points on a stored photograph, with diameters,
and export them in the hair model's fine-tuning format.

No script: the photograph is an ``<input type="image">``, so a click submits its pixel
coordinates with the form (and the diameter field beside it). The export is the format
``scripts/train_model.py --real-dir`` reads, one ``NAME.json`` beside ``NAME.png|jpg``::

    {"um_per_px": 3.2, "hairs": [{"x_px": 812.0, "y_px": 40.0, "diameter_um": 64.0}, ...]}

``x_px``/``y_px`` is the clicked pixel, whose centre the format takes as the point; every
emerging hair of the image must be clicked before it is used for training.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from flask import Flask, abort, g, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue

from dashboard.store import Store
from dermocap.errors import ImageError
from dermocap.images import decode_rgb

MIN_DIAMETER_UM, MAX_DIAMETER_UM = 5.0, 300.0


def add_annotation_routes(app: Flask, store: Store) -> None:
    """Register the annotation pages on ``app`` (behind its login and CSRF checks)."""

    def photo(image_id: str) -> tuple[dict[str, Any], dict[str, Any], tuple[int, int]]:
        row = store.image(image_id)
        if row is None or not row["file"] or store.is_overlay(row["name"]):
            abort(404, "no such photograph (overlays are not annotated)")
        result = store.result(row["capture_id"])
        if result is None:
            abort(404, "the photograph's result has not arrived")
        try:
            h, w = decode_rgb(store.images_dir / row["file"]).shape[:2]
        except ImageError:
            abort(404, "the photograph is unreadable")
        size = (w, h)
        return row, result, size

    def export(image_id: str, result: dict[str, Any]) -> dict[str, Any]:
        return {
            "um_per_px": float(result["um_per_px"]),
            "hairs": [
                {"x_px": p["x_px"], "y_px": p["y_px"], "diameter_um": p["diameter_um"]}
                for p in store.points(image_id)
            ],
        }

    @app.route("/annotate/<image_id>", methods=["GET", "POST"])
    def annotate(image_id: str) -> ResponseReturnValue:
        row, result, (w, h) = photo(image_id)
        error = ""
        diameter = request.form.get("diameter_um", "60")
        if request.method == "POST":
            try:
                x, y = float(request.form["point.x"]), float(request.form["point.y"])
                d = float(diameter)
                if not (0 <= x < w and 0 <= y < h):
                    raise ValueError(f"the point ({x:g}, {y:g}) is outside the {w}x{h} image")
                if not MIN_DIAMETER_UM <= d <= MAX_DIAMETER_UM:
                    raise ValueError(
                        f"a diameter of {d:g} um is outside {MIN_DIAMETER_UM:g}-"
                        f"{MAX_DIAMETER_UM:g} um"
                    )
            except (KeyError, ValueError) as exc:
                error = str(exc) if not isinstance(exc, KeyError) else "click on the photograph"
            else:
                store.add_point(image_id, x, y, d, g.session.username)
                return redirect(url_for("annotate", image_id=image_id, d=f"{d:g}"))
        return render_template(
            "annotate.html", image=row, result=result, width=w, height=h,
            points=store.points(image_id), error=error,
            diameter=request.args.get("d", diameter)[:8],
        )  # fmt: skip

    @app.post("/annotate/<image_id>/undo")
    def annotate_undo(image_id: str) -> ResponseReturnValue:
        photo(image_id)
        store.drop_last_point(image_id)
        return redirect(url_for("annotate", image_id=image_id))

    @app.get("/annotate/<image_id>.json")
    def annotation_json(image_id: str) -> ResponseReturnValue:
        _, result, _ = photo(image_id)
        return app.response_class(
            json.dumps(export(image_id, result), indent=1), mimetype="application/json"
        )

    @app.get("/annotations.zip")
    def annotations_zip() -> ResponseReturnValue:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for image_id in store.annotated_images():
                row = store.image(image_id)
                result = store.result(row["capture_id"]) if row else None
                if row is None or result is None or not row["file"]:
                    continue
                suffix = ".png" if row["content_type"] == "image/png" else ".jpg"
                z.write(store.images_dir / row["file"], f"{row['capture_id']}{suffix}")
                z.writestr(f"{row['capture_id']}.json", json.dumps(export(image_id, result)))
        buf.seek(0)
        return send_file(
            buf, mimetype="application/zip", as_attachment=True,
            download_name="dermocap-annotations.zip",
        )  # fmt: skip
