"""How well entity resolution put each planted operator together, against the demo truth.

`linkage_quality` reads the resolved keys of a run (core.entity_keys) and the world's
truth.json (as a dict): for every planted operator, how many of its shops, USCCs and names
ended up in its main entity (the one holding most of them), and which entities hold keys of
two planted actors (false merges). `record_attribution` follows each record the generator
wrote about a business (`name_truth.record_businesses`) to the entity it was attributed to.
The pipeline itself never reads the truth.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb
import polars as pl

from transforms.resolve import key_name

KINDS = ("shops", "usccs", "names")


def _actor_keys(actor: dict[str, Any]) -> dict[str, set[str]]:
    """The resolved-key forms of a planted actor's identities; names as their key name."""
    return {
        "shops": {f"shop:{k.strip()}" for k in actor.get("shop_keys") or [] if k and k.strip()},
        "usccs": {f"uscc:{u.strip().upper()}" for u in actor.get("usccs") or [] if u and u.strip()},
        "names": {n for n in (key_name(x) for x in actor.get("names") or []) if n},
    }


def _entity_of_keys(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, str], dict[str, set[str]]]:
    """key -> entity_id for shop and USCC keys; key name -> entity ids of its name keys."""
    rows = con.execute("select key, entity_id from core.entity_keys order by key").fetchall()
    hard: dict[str, str] = {}
    names: dict[str, set[str]] = {}
    for key, entity in rows:
        if key.startswith(("shop:", "uscc:")):
            hard[key] = entity
        elif key.startswith("name:"):
            names.setdefault(key.split(":", 2)[2], set()).add(entity)
    return hard, names


def linkage_quality(con: duckdb.DuckDBPyConnection, truth: dict[str, Any]) -> dict[str, Any]:
    """Per planted operator, its shops / USCCs / names seen in the run and how many of them
    are in its main entity; and the false merges: entities holding keys of two operators, of
    an operator and a decoy, or of two decoys.

    A name counts when some name key carries its key name (in any scope); a key name that
    several planted actors share is left out of the false merges, as it cannot tell them
    apart.
    """
    hard, name_entities = _entity_of_keys(con)
    actors = [(o["operator_id"], "operator", o) for o in truth.get("operators", [])]
    actors += [(d["decoy_id"], "decoy", d) for d in truth.get("decoys", [])]
    keys_of = {actor_id: _actor_keys(raw) for actor_id, _, raw in actors}
    name_owners = Counter(n for keys in keys_of.values() for n in keys["names"])

    holders: dict[str, set[str]] = {}  # entity_id -> planted actors with a key in it
    operators = []
    for actor_id, role, raw in actors:
        keys = keys_of[actor_id]
        # kind -> (key, the entities that hold it) for each of the actor's keys seen
        found: dict[str, list[tuple[str, set[str]]]] = {
            "shops": [(k, {hard[k]}) for k in sorted(keys["shops"]) if k in hard],
            "usccs": [(k, {hard[k]}) for k in sorted(keys["usccs"]) if k in hard],
            "names": [(n, name_entities[n]) for n in sorted(keys["names"]) if n in name_entities],
        }
        for kind, seen in found.items():
            for key, entities in seen:
                if kind != "names" or name_owners[key] == 1:
                    for entity in entities:
                        holders.setdefault(entity, set()).add(actor_id)
        if role != "operator":
            continue
        # main entity: the one holding most of its shops and USCCs (else of its names)
        votes = Counter(e for kind in ("shops", "usccs") for _, es in found[kind] for e in es)
        votes = votes or Counter(e for _, es in found["names"] for e in es)
        main = min(votes, key=lambda e: (-votes[e], e)) if votes else None
        row: dict[str, Any] = {"operator_id": actor_id, "kind": raw.get("kind", "")}
        for kind, seen in found.items():
            row[kind] = len(seen)
            row[f"{kind}_in_main"] = sum(1 for _, entities in seen if main in entities)
        row["entities"] = len({e for seen in found.values() for _, es in seen for e in es})
        operators.append(row)

    roles = {actor_id: role for actor_id, role, _ in actors}
    merges = []
    for entity in sorted(holders):
        ops = sorted(a for a in holders[entity] if roles[a] == "operator")
        decoys = sorted(a for a in holders[entity] if roles[a] == "decoy")
        if len(ops) >= 2 or (ops and decoys) or len(decoys) >= 2:
            merges.append({"entity_id": entity, "operators": ops, "decoys": decoys})

    summary: dict[str, Any] = {"operators": len(operators)}
    for kind in KINDS:
        total = sum(r[kind] for r in operators)
        in_main = sum(r[f"{kind}_in_main"] for r in operators)
        summary[f"{kind}_in_main_share"] = in_main / total if total else None
    rings = [r for r in operators if r["shops"] >= 2]
    summary["rings"] = len(rings)
    summary["rings_complete"] = sum(1 for r in rings if r["shops_in_main"] == r["shops"])
    summary["false_merges"] = len(merges)
    return {"summary": summary, "operators": operators, "false_merges": merges}


def record_attribution(
    con: duckdb.DuckDBPyConnection, record_business: pl.DataFrame, truth: dict[str, Any]
) -> dict[str, Any]:
    """Of the records (feed, record_id, business) that the generator wrote about a business
    (`uscc:…` or `shop:platform:shop_id`): the share attributed to the entity that holds the
    business's own key, for every business and for the planted operators'; and how many were
    attributed to an entity that holds other businesses' keys but not its own (a name that
    led to another business). A record without keys, or quarantined, reaches no entity."""
    records = con.sql("select feed, record_id, entity_id from core.record_entities").pl()
    keys = con.sql("select key, entity_id from core.entity_keys").pl()
    hard = keys.filter(
        pl.col("key").str.starts_with("uscc:") | pl.col("key").str.starts_with("shop:")
    )
    operators = [f"uscc:{u}" for o in truth.get("operators", []) for u in o.get("usccs") or []]
    operators += [f"shop:{k}" for o in truth.get("operators", []) for k in o.get("shop_keys") or []]
    attributed = (
        record_business.join(records, on=["feed", "record_id"], how="left")
        .join(hard.rename({"key": "business", "entity_id": "own"}), on="business", how="left")
        .with_columns(
            (pl.col("entity_id") == pl.col("own")).fill_null(False).alias("home"),
            pl.col("entity_id").is_in(hard["entity_id"].implode()).alias("anchored"),
            pl.col("business").is_in(operators).alias("operator"),
        )
    )
    elsewhere = attributed.filter(pl.col("anchored") & ~pl.col("home"))
    ops = attributed.filter(pl.col("operator"))
    return {
        "records": attributed.height,
        "records_in_own_entity_share": attributed["home"].mean() if attributed.height else None,
        "operator_records": ops.height,
        "operator_records_in_own_entity_share": ops["home"].mean() if ops.height else None,
        "records_in_another_business": elsewhere.height,
        "operator_records_in_another_business": elsewhere["operator"].sum(),
    }
