"""Geometry of the report's inline SVG: the county symbol map and the alerts' trend lines.

Only numbers and short labels are computed here; the template draws them (and escapes the
text). County outlines are not available offline, so each county is a circle at its seat's
coordinates from regions.csv, nudged apart where circles would overlap.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from data_contracts.contract import regions
from reports.labels import PROVINCE, category_label

# Sequential classes of the county's best hotspot score (light yellow to dark red). The score
# is L / (1 + L), L the relative risk's 95 % lower bound (models/hotspots.py): 0.5 is at least
# as expected, 0.8 at least four times.
SCORE_CLASSES: tuple[tuple[float, str, str], ...] = (
    (0.8, "#a50f15", "≥ 0.8 (≥ 4×)"),
    (2 / 3, "#de2d26", "0.67–0.8 (2–4×)"),
    (0.6, "#fb6a4a", "0.6–0.67 (1.5–2×)"),
    (0.5, "#fcae91", "0.5–0.6 (1–1.5×)"),
    (0.0, "#fee5d9", "< 0.5 (below expected)"),
)
NO_HOTSPOT = "#ffffff"
PROVINCE_BOUNDS = (90.2, 31.8, 103.4, 38.7)  # lon_min, lat_min, lon_max, lat_max
EAST_BOUNDS = (101.05, 35.7, 103.05, 37.1)  # 西宁 and 海东, where counties crowd together


def score_colour(score: float | None) -> str:
    """The fill of a county symbol for its best hotspot score."""
    if score is None:
        return NO_HOTSPOT
    return next(colour for floor, colour, _ in SCORE_CLASSES if score >= floor)


@dataclass(frozen=True)
class MapSymbol:
    code: str | None  # None for context counties outside the report's area (no data shown)
    name: str
    x: float
    y: float
    r: float
    fill: str
    score: float | None
    best_category: str
    leads: int
    alerts: int
    label: tuple[float, float, str] | None = None  # x, y, text-anchor of the county's name


@dataclass(frozen=True)
class MapPanel:
    key: str
    title: str
    width: int
    height: int
    symbols: tuple[MapSymbol, ...]
    gridlines: tuple[tuple[float, float, float, float, str], ...]  # x1, y1, x2, y2, label
    frames: tuple[tuple[float, float, float, float, str], ...] = ()  # x, y, w, h of an inset


@dataclass(frozen=True)
class _County:
    code: str
    name: str
    lon: float
    lat: float
    in_scope: bool
    score: float | None
    best_category: str
    leads: int
    alerts: int


def _counties(
    scope: str, hotspots: pl.DataFrame, leads: pl.DataFrame, alerts: pl.DataFrame
) -> list[_County]:
    best = (
        hotspots.sort(["score", "product_category"], descending=[True, False])
        .unique("region_code", keep="first", maintain_order=True)
        .select("region_code", "score", "product_category")
    )
    best_of = {r[0]: (r[1], r[2]) for r in best.iter_rows()}
    serious = leads.filter(pl.col("risk_level").is_in(["high", "medium"]))
    lead_count = dict(serious.group_by("region_code").len().iter_rows())
    alert_count = dict(alerts.group_by("region_code").len().iter_rows())
    out = []
    for code, region in sorted(regions().items()):
        in_scope = scope == PROVINCE or region.prefecture_code == scope
        score, category = best_of.get(code, (None, "")) if in_scope else (None, "")
        out.append(
            _County(
                code=code,
                name=region.name,
                lon=region.longitude,
                lat=region.latitude,
                in_scope=in_scope,
                score=score,
                best_category=category_label(category) if category else "",
                leads=int(lead_count.get(code, 0)) if in_scope else 0,
                alerts=int(alert_count.get(code, 0)) if in_scope else 0,
            )
        )
    return out


def _radius(leads: int) -> float:
    return min(15.0, 5.5 + 2.2 * math.sqrt(leads))


def _separate(points: list[list[float]], radii: list[float], rounds: int = 80) -> None:
    """Push overlapping circles apart in place (deterministic: fixed order, fixed rounds)."""
    for _ in range(rounds):
        moved = False
        for i in range(len(points)):
            for j in range(i + 1, len(points)):
                dx = points[j][0] - points[i][0]
                dy = points[j][1] - points[i][1]
                distance = math.hypot(dx, dy)
                wanted = radii[i] + radii[j] + 1.5
                if distance >= wanted:
                    continue
                if distance < 1e-6:
                    dx, dy, distance = 1.0, 0.0, 1.0
                push = (wanted - distance) / 2
                ux, uy = dx / distance, dy / distance
                points[i][0] -= ux * push
                points[i][1] -= uy * push
                points[j][0] += ux * push
                points[j][1] += uy * push
                moved = True
        if not moved:
            return


Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def _text_width(text: str, size: float = 11) -> float:
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _place_labels(
    names: list[str],
    points: list[list[float]],
    radii: list[float],
    order: list[int],
    size: tuple[int, int],
    reserved: list[Box] | None = None,
) -> dict[int, tuple[float, float, str]]:
    """Greedy label placement: right, left, above or below each circle, in `order`, skipping
    a name that would cover another name, another circle or the panel's edge."""
    circles = [(p[0] - r, p[1] - r, p[0] + r, p[1] + r) for p, r in zip(points, radii, strict=True)]
    placed: list[Box] = list(reserved or [])
    labels: dict[int, tuple[float, float, str]] = {}
    for i in order:
        (x, y), r, w = points[i], radii[i], _text_width(names[i])
        candidates = [
            ((x + r + 3, y - 8, x + r + 3 + w, y + 4), (x + r + 3, y + 4, "start")),
            ((x - r - 3 - w, y - 8, x - r - 3, y + 4), (x - r - 3, y + 4, "end")),
            ((x - w / 2, y - r - 14, x + w / 2, y - r - 2), (x, y - r - 4, "middle")),
            ((x - w / 2, y + r + 2, x + w / 2, y + r + 14), (x, y + r + 12, "middle")),
        ]
        for box, anchor in candidates:
            inside = box[0] >= 2 and box[1] >= 2 and box[2] <= size[0] - 2 and box[3] <= size[1] - 2
            if (
                inside
                and not any(_overlaps(box, other) for other in placed)
                and not any(_overlaps(box, c) for j, c in enumerate(circles) if j != i)
            ):
                placed.append(box)
                labels[i] = (round(anchor[0], 1), round(anchor[1], 1), anchor[2])
                break
    return labels


def _within(c: _County, bounds: tuple[float, float, float, float]) -> bool:
    return bounds[0] <= c.lon <= bounds[2] and bounds[1] <= c.lat <= bounds[3]


def _gridlines(
    bounds: tuple[float, float, float, float],
    project: Callable[[float, float], tuple[float, float]],
    size: tuple[int, int],
    pad: int,
) -> list[tuple[float, float, float, float, str]]:
    """Meridians and parallels every 2° (0.5° on a small map), for orientation."""
    lon_min, lat_min, lon_max, lat_max = bounds
    step = 2.0 if lon_max - lon_min > 4 else 0.5
    grid: list[tuple[float, float, float, float, str]] = []
    lon = math.ceil(lon_min / step) * step
    while lon <= lon_max:
        x = round(project(lon, lat_min)[0], 1)
        grid.append((x, pad, x, size[1] - pad, f"{lon:g}°E"))
        lon += step
    lat = math.ceil(lat_min / step) * step
    while lat <= lat_max:
        y = round(project(lon_min, lat)[1], 1)
        grid.append((pad, y, size[0] - pad, y, f"{lat:g}°N"))
        lat += step
    return grid


INSET_LABEL = "见右图 inset →"


def _panel(
    key: str,
    title: str,
    counties: list[_County],
    bounds: tuple[float, float, float, float],
    size: tuple[int, int],
    max_labels: int,
    inset: tuple[float, float, float, float] | None = None,
) -> MapPanel:
    """One map of the counties within `bounds`, fitted into at most `size` (width, height);
    with `inset`, a frame marks the counties drawn larger in the inset and they get no names."""
    lon_min, lat_min, lon_max, lat_max = bounds
    shrink = math.cos(math.radians((lat_min + lat_max) / 2))
    pad = 18
    scale = min(
        (size[0] - 2 * pad) / ((lon_max - lon_min) * shrink),
        (size[1] - 2 * pad) / (lat_max - lat_min),
    )
    width = int(round((lon_max - lon_min) * shrink * scale + 2 * pad))
    height = int(round((lat_max - lat_min) * scale + 2 * pad))

    def project(lon: float, lat: float) -> tuple[float, float]:
        return pad + (lon - lon_min) * shrink * scale, pad + (lat_max - lat) * scale

    shown = [c for c in counties if _within(c, bounds)]
    context = [c for c in shown if not c.in_scope]
    active = [c for c in shown if c.in_scope]
    points = [list(project(c.lon, c.lat)) for c in active]
    radii = [_radius(c.leads) for c in active]
    _separate(points, radii)

    frames: list[tuple[float, float, float, float, str]] = []
    reserved: list[Box] = []
    if inset is not None:  # the frame holds the inset's circles where they were nudged to
        boxes = [
            (p[0] - r, p[1] - r, p[0] + r, p[1] + r)
            for c, p, r in zip(active, points, radii, strict=True)
            if _within(c, inset)
        ]
        if boxes:
            x0, y0 = min(b[0] for b in boxes) - 4, min(b[1] for b in boxes) - 4
            x1, y1 = max(b[2] for b in boxes) + 4, max(b[3] for b in boxes) + 4
            frames.append(
                (round(x0, 1), round(y0, 1), round(x1 - x0, 1), round(y1 - y0, 1), INSET_LABEL)
            )
            reserved.append((x1 - _text_width(INSET_LABEL, 10), y0 - 13, x1, y0 - 1))

    ranked = sorted(
        range(len(active)), key=lambda i: (-(active[i].score or -1), -active[i].leads, i)
    )
    if inset is not None:
        ranked = [i for i in ranked if not _within(active[i], inset)]
    labels = _place_labels(
        [c.name for c in active], points, radii, ranked[:max_labels], (width, height), reserved
    )
    symbols = []
    for c in context:  # position only: no name, code or data of another area
        x, y = project(c.lon, c.lat)
        symbols.append(
            MapSymbol(None, "", round(x, 1), round(y, 1), 2.5, "#cbd2d9", None, "", 0, 0)
        )
    symbols += [
        MapSymbol(
            code=c.code,
            name=c.name,
            x=round(points[i][0], 1),
            y=round(points[i][1], 1),
            r=round(radii[i], 1),
            fill=score_colour(c.score),
            score=c.score,
            best_category=c.best_category,
            leads=c.leads,
            alerts=c.alerts,
            label=labels.get(i),
        )
        for i, c in enumerate(active)
    ]
    grid = _gridlines(bounds, project, (width, height), pad)
    return MapPanel(key, title, width, height, tuple(symbols), tuple(grid), tuple(frames))


def _bounds_of(counties: list[_County]) -> tuple[float, float, float, float]:
    """The area's counties with a margin, at least 0.9° wide and 0.6° tall."""
    lons = [c.lon for c in counties if c.in_scope]
    lats = [c.lat for c in counties if c.in_scope]
    cx, cy = (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2
    half_w = max(0.45, (max(lons) - min(lons)) * 0.6)
    half_h = max(0.3, (max(lats) - min(lats)) * 0.6)
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def county_map(
    scope: str, hotspots: pl.DataFrame, leads: pl.DataFrame, alerts: pl.DataFrame
) -> list[MapPanel]:
    """The map panels of a report: the province with an inset of the crowded east, or one
    prefecture with its neighbours' seats as grey dots (no data of theirs)."""
    counties = _counties(scope, hotspots, leads, alerts)
    if scope == PROVINCE:
        return [
            _panel(
                "province", "全省 Province", counties, PROVINCE_BOUNDS, (520, 600), 30, EAST_BOUNDS
            ),
            _panel("east", "东部放大：西宁·海东 East inset", counties, EAST_BOUNDS, (320, 600), 30),
        ]
    return [_panel(scope, "本辖区 This area", counties, _bounds_of(counties), (820, 480), 30)]


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    points: str  # the 7-day sum as an SVG polyline
    area: str  # the same line closed to the baseline
    expected_y: float
    alert_x: float
    top_label: str
    first_day: str
    last_day: str


def sparkline(
    trend: pl.DataFrame, alert_date: dt.date, expected: float, width: int = 400, height: int = 90
) -> Sparkline | None:
    """The chart of one alert: its 7-day sum per day (`trend` rows of one alert, by day)."""
    if trend.is_empty():
        return None
    days = trend["day"].to_list()
    sums = [float(v or 0.0) for v in trend["moving_sum"].to_list()]
    left, right, top, bottom = 4, width - 4, 12, height - 16
    ceiling = max(max(sums), expected, 1.0) * 1.1
    step = (right - left) / max(1, len(days) - 1)

    def y(value: float) -> float:
        return round(bottom - (bottom - top) * value / ceiling, 1)

    coords = [(round(left + i * step, 1), y(v)) for i, v in enumerate(sums)]
    points = " ".join(f"{x},{yy}" for x, yy in coords)
    area = f"{coords[0][0]},{bottom} {points} {coords[-1][0]},{bottom}"
    offset = (alert_date - days[0]).days
    alert_x = round(left + min(max(offset, 0), len(days) - 1) * step, 1)
    return Sparkline(
        width=width,
        height=height,
        points=points,
        area=area,
        expected_y=y(expected),
        alert_x=alert_x,
        top_label=f"{max(sums):g}",
        first_day=days[0].strftime("%m-%d"),
        last_day=days[-1].strftime("%m-%d"),
    )
