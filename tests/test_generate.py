"""The demo-world generator: repeatable bytes, every feed in several shapes, a consistent truth."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from stdnum.cn.uscc import is_valid as stdnum_valid

from demo_world.actors import build_population
from demo_world.generate import WorldConfig, generate_world
from demo_world.records import build_complaints, build_outcomes
from demo_world.reference import load_reference
from demo_world.uscc import check_char, is_valid

FEEDS = ("complaints", "listings", "inspections", "entities", "credit", "outcomes")
SMALL = WorldConfig(seed=11, scale=0.2)
CONFIRMED = ("confirmed", "referred_to_police")
UNPROVEN = ("not_confirmed", "insufficient_evidence")
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("world")
    generate_world(root, SMALL)
    return root, json.loads((root / "truth.json").read_text(encoding="utf-8"))


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _text(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _records(path: Path) -> list[dict[str, object]]:
    """A delivered file's records under their delivered headers (malformed ones as given)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pl.read_parquet(path).to_dicts()
    if suffix == ".xlsx":
        rows = list(openpyxl.load_workbook(path, read_only=True).active.iter_rows(values_only=True))
        return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]
    text = _text(path.read_bytes())
    if suffix == ".jsonl":
        out = []
        for line in text.splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                out.append({"_broken": line})
        return out
    rows = list(csv.reader(io.StringIO(text)))
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]


def test_same_config_gives_identical_bytes_and_mtimes(tmp_path: Path) -> None:
    config = WorldConfig(seed=3, scale=0.05)
    generate_world(tmp_path / "a", config)
    generate_world(tmp_path / "b", config)
    first, second = _snapshot(tmp_path / "a"), _snapshot(tmp_path / "b")
    assert len(first) > 100
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
    generate_world(tmp_path / "c", WorldConfig(seed=4, scale=0.05))
    assert (tmp_path / "c" / "truth.json").read_bytes() != (
        tmp_path / "a" / "truth.json"
    ).read_bytes()


def test_every_feed_arrives_in_several_shapes(world: tuple[Path, dict]) -> None:
    root, _ = world
    landing = root / "landing"
    shapes = {}
    for feed in FEEDS:
        files = [p for p in (landing / feed).rglob("*") if p.is_file() and p.stat().st_size]
        assert all(
            len(p.relative_to(landing / feed).parts) >= 2
            for p in files
            if not p.name.startswith(".")
        )
        shapes[feed] = {p.suffix for p in files if not p.name.startswith((".", "~$"))}
    assert shapes["complaints"] == {".csv", ".jsonl"}
    assert shapes["listings"] == {".csv", ".parquet"}
    assert shapes["entities"] == {".csv", ".xlsx"}
    assert shapes["credit"] == {".csv", ".xlsx"}
    assert shapes["outcomes"] == {".csv", ".jsonl"}
    inspections = [
        p.read_bytes() for p in (landing / "inspections").rglob("*.csv") if p.stat().st_size
    ]
    assert any(b.startswith(b"\xef\xbb\xbf") for b in inspections)
    gb18030 = [b for b in inspections if not b.startswith(b"\xef\xbb\xbf")]
    assert gb18030 and "检查结果" in gb18030[0].decode("gb18030").splitlines()[0]
    with pytest.raises(UnicodeDecodeError):
        gb18030[0].decode("utf-8")


def test_register_has_native_date_cells_and_chinese_labels(world: tuple[Path, dict]) -> None:
    root, _ = world
    extract = next((root / "landing" / "entities").rglob("市场主体名录_全量.xlsx"))
    records = _records(extract)
    assert len(records) > 100
    assert {"统一社会信用代码", "成立日期", "登记状态"} <= set(records[0])
    dates = [r["成立日期"] for r in records]
    assert sum(isinstance(d, dt.datetime) for d in dates) > 0.95 * len(dates)
    assert {r["登记状态"] for r in records} >= {"存续"}
    codes = [str(r["统一社会信用代码"]) for r in records]
    assert any(c[0].isalpha() for c in codes if is_valid(c))  # e.g. Y1…/N2… authorities


def test_timestamps_mix_china_time_and_utc(world: tuple[Path, dict]) -> None:
    root, _ = world
    stamps = []
    for path in (root / "landing" / "complaints").rglob("*.jsonl"):
        for record in _records(path):
            stamps += [v for k, v in record.items() if k in ("received_at", "登记时间", "受理时间")]
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", str(s)) for s in stamps)
    assert any(str(s).endswith("Z") for s in stamps)


def test_every_operator_and_decoy_shop_is_listed(world: tuple[Path, dict]) -> None:
    root, truth = world
    listed = set()
    for path in (root / "landing" / "listings").rglob("*"):
        platform = path.stem
        if path.suffix not in (".csv", ".parquet") or "_" in platform:
            continue  # the truncated re-send is unreadable on purpose
        for record in _records(path):
            shop_id = next(v for k, v in record.items() if k.lower() in ("shop_id", "店铺编号"))
            listed.add(f"{platform}:{shop_id}")
    planted = [k for group in ("operators", "decoys") for a in truth[group] for k in a["shop_keys"]]
    assert planted and set(planted) <= listed
    assert len(truth["operators"]) == round(60 * SMALL.scale)
    kinds = Counter(op["kind"] for op in truth["operators"])
    assert set(kinds) == {"online_ring", "offline_seller", "mixed", "out_of_province"}
    rings = [op for op in truth["operators"] if op["kind"] == "online_ring"]
    assert all(len(op["contact_hashes"]) == 1 and len(op["shop_keys"]) >= 2 for op in rings)
    hashes = [h for op in truth["operators"] for h in op["contact_hashes"]]
    assert len(hashes) == len(set(hashes))


def test_planted_codes_verify_and_outsiders_are_registered_elsewhere(
    world: tuple[Path, dict],
) -> None:
    _, truth = world
    codes = [c for group in ("operators", "decoys") for a in truth[group] for c in a["usccs"]]
    assert codes and all(is_valid(c) for c in codes)
    assert all(stdnum_valid(c) for c in codes if c[:8].isdigit())
    outsiders = [op for op in truth["operators"] if op["kind"] == "out_of_province"]
    assert outsiders and all(op["usccs"][0][2:4] != "63" for op in outsiders)
    assert all(op["region_code"].startswith("63") for op in truth["operators"])


def test_check_character_matches_python_stdnum() -> None:
    from stdnum.cn.uscc import calc_check_digit

    for body in ("91630100MA7523XX1", "92632801MA0000001", "93630222123456789"):
        assert check_char(body) == calc_check_digit(body)


def test_every_planted_mistake_points_at_a_real_row(world: tuple[Path, dict]) -> None:
    root, truth = world
    landing = root / "landing"
    counts: dict[str, int] = {}
    for entry in truth["bad_rows"] + truth["uscc_findings"]:
        path = landing / entry["file"]
        if entry["file"] not in counts:
            counts[entry["file"]] = len(_records(path))
        assert 1 <= entry["row_number"] <= counts[entry["file"]]
    reasons: dict[str, set[str]] = {e["feed"]: set() for e in truth["bad_rows"]}
    for e in truth["bad_rows"]:
        reasons[e["feed"]].add(e["reason"].split(":")[0])
    assert set(reasons) == set(FEEDS)
    assert "malformed" in reasons["complaints"] and "uscc" in reasons["entities"]
    broken_json = [e for e in truth["bad_rows"] if e["file"].endswith(".jsonl")
                   and e["reason"] == "malformed:record"]  # fmt: skip
    assert (
        broken_json
        and "_broken"
        in _records(landing / broken_json[0]["file"])[broken_json[0]["row_number"] - 1]
    )
    assert {e["feed"] for e in truth["uscc_findings"]} == set(FEEDS) - {"entities"}
    statuses = Counter(e["expected_status"] for e in truth["bad_files"])
    assert statuses == {"ignored": 5, "rejected": 3, "loaded": 4, "duplicate": 1}
    for entry in truth["bad_files"]:
        assert (landing / entry["file"]).is_file()
    duplicate = next(e for e in truth["bad_files"] if e["expected_status"] == "duplicate")
    original = duplicate["file"].replace("_重发", "")
    assert (landing / duplicate["file"]).read_bytes() == (landing / original).read_bytes()
    assert (landing / duplicate["file"]).stat().st_mtime > (landing / original).stat().st_mtime


def test_the_project_validator_quarantines_exactly_the_planted_rows(
    world: tuple[Path, dict],
) -> None:
    from data_contracts.batch import DeliveredFile, build_batch

    root, truth = world
    landing = root / "landing"
    planted = {(e["file"], e["row_number"]): e["reason"] for e in truth["bad_rows"]}
    findings = {(e["file"], e["row_number"], e["column"]) for e in truth["uscc_findings"]}
    skip = {e["file"] for e in truth["bad_files"] if e["expected_status"] != "loaded"}
    seen: dict[tuple[str, int], str] = {}
    found: set[tuple[str, int, str]] = set()
    for path in sorted(landing.rglob("*")):
        rel = path.relative_to(landing).as_posix()
        if not path.is_file() or rel in skip:
            continue
        batch = build_batch(DeliveredFile(rel.split("/")[0], path, rel, 0.0, path.stat().st_size))
        assert batch.status == "loaded", rel
        assert batch.rows is not None
        q = batch.rows.quarantined
        seen |= {(rel, n): r for n, r in zip(q["_row_number"], q["reasons"], strict=True)}
        f = batch.rows.findings
        found |= {
            (rel, n, c.split(":")[1]) for n, c in zip(f["_row_number"], f["finding"], strict=True)
        }
    assert seen == planted
    assert found == findings


def test_every_phone_is_recorded(world: tuple[Path, dict]) -> None:
    root, truth = world
    phones = set(truth["phones"])
    assert phones and all(re.fullmatch(r"1[3-9]\d{9}", p) for p in phones)
    written: set[str] = set()
    for path in (root / "landing" / "complaints").rglob("*"):
        if path.suffix not in (".csv", ".jsonl"):
            continue
        for record in _records(path):
            for key, value in record.items():
                if (
                    key
                    and str(key).lower() in ("complainant_phone", "投诉人电话", "联系电话")
                    and value
                ):
                    written.add(str(value))
                written |= set(PHONE.findall(str(value or "")))
    assert written and written <= phones
    descriptions = " ".join(
        str(v)
        for p in (root / "landing" / "complaints").rglob("*.csv")
        for r in _records(p)
        for v in r.values()
    )
    assert re.search(r"身份证号：\d{17}[\dX]", descriptions)


def test_surges_start_in_the_last_90_days_and_seasons_are_declared(
    world: tuple[Path, dict],
) -> None:
    _, truth = world
    as_of = dt.date.fromisoformat(truth["as_of"])
    assert truth["surges"]
    for surge in truth["surges"]:
        start, end = dt.date.fromisoformat(surge["start"]), dt.date.fromisoformat(surge["end"])
        assert as_of - dt.timedelta(days=90) < start <= end <= as_of
        assert 14 <= (end - start).days + 1 <= 28
        assert start <= dt.date.fromisoformat(surge["evident_from"]) <= end
    shapes = [s["shape"] for s in truth["surges"]]
    assert set(shapes) <= {"step", "ramp"}
    assert len(shapes) < 2 or set(shapes) == {"step", "ramp"}, "a world with 2+ has both"
    assert {s["product_category"] for s in truth["seasonal"]} == {
        "seeds",
        "pesticides",
        "fertilizer",
    }
    assert dt.date.fromisoformat(truth["history_start"]) <= as_of - dt.timedelta(days=395)


@pytest.mark.parametrize("seed", [21, 22])
def test_outcomes_read_like_enforcement_records(seed: int) -> None:
    """Most operators are never caught, some of their cases end without proof, and ordinary
    businesses have confirmed cases too: a confirmed case is a signal, not the ground truth."""
    pop = build_population(WorldConfig(seed=seed), load_reference())
    rows = build_outcomes(pop)
    operators = {op.operator_id for op in pop.operators}
    caught = {r["_operator"] for r in rows if r["_operator"] and r["outcome"] in CONFIRMED}
    assert caught <= operators
    assert 0 < len(caught) <= 0.3 * len(operators)
    unproven = [r for r in rows if r["_operator"] and r["outcome"] in UNPROVEN]
    assert unproven, "an operator's case may end without proof"
    ordinary_confirmed = [r for r in rows if not r["_operator"] and r["outcome"] in CONFIRMED]
    assert len(ordinary_confirmed) >= 10
    assert all(r["illegal_turnover_cny"] for r in ordinary_confirmed)


def test_truth_lists_each_operators_outcomes(world: tuple[Path, dict]) -> None:
    root, truth = world
    pop = build_population(SMALL, load_reference())
    rows = build_outcomes(pop)
    listed = sorted(
        (op["operator_id"], case["closed_on"], case["outcome"])
        for op in truth["operators"]
        for case in op["outcomes"]
    )
    assert listed == sorted(
        (str(r["_operator"]), str(r["closed_on"]), str(r["outcome"]))
        for r in rows
        if r["_operator"]
    )


def test_planted_rows_get_data_quality_mistakes_like_every_other_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No exemption: rows about an operator's or a decoy's business get planted mistakes at
    about the rate of every other row (each row's business is its `_subject`)."""
    import demo_world.landing as landing

    pop = build_population(SMALL, load_reference())
    actors = pop.operators + pop.decoys
    planted = {f"uscc:{pop.entities[i].uscc}" for a in actors for i in a.entities}
    planted |= {f"shop:{pop.shops[i].key}" for a in actors for i in a.shops}
    rows = {True: [0, 0], False: [0, 0]}  # about a planted business: [rows, rows spoilt]
    put_rows, spoil_row = landing.Landing.put_rows, landing.spoil_row

    def counting_put_rows(self, feed, relpath, written, *args, **kwargs):  # type: ignore[no-untyped-def]
        for row in written:
            rows[row.get("_subject") in planted][0] += 1
        return put_rows(self, feed, relpath, written, *args, **kwargs)

    def counting_spoil_row(row, *args, **kwargs):  # type: ignore[no-untyped-def]
        rows[row.get("_subject") in planted][1] += 1
        return spoil_row(row, *args, **kwargs)

    monkeypatch.setattr(landing.Landing, "put_rows", counting_put_rows)
    monkeypatch.setattr(landing, "spoil_row", counting_spoil_row)
    generate_world(tmp_path, SMALL)
    planted_rate, other_rate = (rows[k][1] / rows[k][0] for k in (True, False))
    assert rows[True][1] >= 3, rows
    assert 0.4 * other_rate <= planted_rate <= 2.5 * other_rate, rows


def test_each_scale_of_a_seed_has_its_own_population() -> None:
    """Held-out worlds: seed 13 at scale 2 shares no operator, decoy or name with seed 13 at
    scale 1 (whose names tuned the matcher); scale 1 keeps the seed's own population, and an
    explicit population_seed gives the same population at another scale."""
    ref = load_reference()

    def planted(config: WorldConfig) -> tuple[set[str], set[str]]:
        pop = build_population(config, ref)
        actors = pop.operators + pop.decoys
        codes = {pop.entities[i].uscc for a in actors for i in a.entities}
        codes |= {pop.shops[i].key for a in actors for i in a.shops}
        return codes, {pop.entities[i].name for a in actors for i in a.entities}

    one, two = planted(WorldConfig(seed=13)), planted(WorldConfig(seed=13, scale=2))
    assert not one[0] & two[0] and not one[1] & two[1]
    assert WorldConfig(seed=13).actors_seed == 13
    assert WorldConfig(seed=13, scale=2).actors_seed != WorldConfig(seed=14, scale=2).actors_seed
    same = build_population(WorldConfig(seed=13, scale=2, population_seed=13), ref)
    first = build_population(WorldConfig(seed=13), ref)
    assert [same.shops[i].key for op in same.operators[:60] for i in op.shops] == [
        first.shops[i].key for op in first.operators for i in op.shops
    ]


def test_truth_records_the_population_seed(world: tuple[Path, dict]) -> None:
    from demo_world.name_truth import world_config

    _, truth = world
    assert truth["population_seed"] == SMALL.actors_seed != SMALL.seed
    assert world_config(truth).actors_seed == SMALL.actors_seed


def test_a_split_surge_triples_two_districts_and_reshuffles_nothing_else() -> None:
    # at scale 1 a world has one surge over two neighbouring Xining districts (none below)
    ref = load_reference()
    config = WorldConfig(seed=41, scale=1)
    pop = build_population(config, ref)
    split = [s for s in pop.surges if s.counties]
    assert len(split) == 1 and len(pop.surges) == config.surges + 1
    surge = split[0]
    assert len(surge.counties) == 2 and all(c.startswith("6301") for c in surge.counties)
    assert not any(s.counties for s in build_population(replace(config, scale=0.5), ref).surges)
    rows, _, evident, extra = build_complaints(pop)
    without = replace(pop, surges=[s for s in pop.surges if not s.counties])
    rows_without, _, evident_without, _ = build_complaints(without)

    def key(row: dict) -> tuple:
        return tuple((k, str(v)) for k, v in row.items() if k != "complaint_id")

    before = Counter(key(r) for r in rows_without)
    added = Counter(key(r) for r in rows) - before
    assert Counter(key(r) for r in rows) - added == before  # every other complaint unchanged
    assert {k: v for k, v in evident.items() if k != surge.surge_id} == evident_without
    # the planted ones: in the two districts, the surge's category and days, no business named
    planted = [dict(k) for k in added.elements()]
    assert {r["region_code"] for r in planted} <= set(surge.counties)
    assert {r["product_category"] for r in planted} == {surge.category}
    assert all(
        surge.start.isoformat() <= r["received_at"][:10] <= surge.end.isoformat() for r in planted
    )
    # about twice the districts' usual daily rate on top of it (three times in all)
    days = (surge.end - surge.start).days + 1
    usual = sum(
        1
        for r in rows_without
        if r["region_code"] in surge.counties
        and r["product_category"] == surge.category
        and surge.start - dt.timedelta(days=365) <= r["received_at"].date() < surge.start
    )
    assert extra[surge.surge_id] == pytest.approx(2 * usual / 365, abs=0.01)
    assert len(planted) == pytest.approx(extra[surge.surge_id] * days, abs=4 * (2 * days) ** 0.5)
