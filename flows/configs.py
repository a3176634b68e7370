"""Every YAML configuration the nightly run reads, checked before it starts: a bad key stops
`radar run` with one line per bad key, before a server starts or the warehouse is opened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from data_contracts.config import ConfigError
from models.dispositions import load_disposition_config
from models.hotspots import CONFIG_PATH as HOTSPOTS_PATH
from models.hotspots import load_hotspot_config
from models.inspection_plan import CONFIG_PATH as PLAN_PATH
from models.inspection_plan import load_plan_config
from models.scoring import CONFIG_DIR, load_baseline_config, load_referral_config
from models.surges import CONFIG_PATH as SURVEILLANCE_PATH
from models.surges import load_config
from models.train import load_model_config
from transforms.shop_linkage import CONFIG_PATH as SHOP_LINKAGE_PATH
from transforms.shop_linkage import load_config as load_shop_linkage
from transforms.splink_match import CONFIG_PATH as NAME_MATCHING_PATH
from transforms.splink_match import load_config as load_name_matching
from transforms.wording import WORDING_PATH, load_wording

CONFIGURATIONS: dict[str, tuple[Path, Callable[[Path], object]]] = {
    "baseline": (CONFIG_DIR / "baseline.yaml", load_baseline_config),
    "referral": (CONFIG_DIR / "referral.yaml", load_referral_config),
    "dispositions": (CONFIG_DIR / "dispositions.yaml", load_disposition_config),
    "hotspots": (HOTSPOTS_PATH, load_hotspot_config),
    "inspection_plan": (PLAN_PATH, load_plan_config),
    "model": (CONFIG_DIR / "model.yaml", load_model_config),
    "surveillance": (SURVEILLANCE_PATH, load_config),
    "name_matching": (NAME_MATCHING_PATH, load_name_matching),
    "shop_linkage": (SHOP_LINKAGE_PATH, load_shop_linkage),
    "wording": (WORDING_PATH, load_wording.__wrapped__),
}


def configuration_problems(
    configurations: dict[str, tuple[Path, Callable[[Path], object]]] | None = None,
) -> list[str]:
    """One line per bad key of every configuration (empty when all load)."""
    problems: list[str] = []
    for path, load in (configurations or CONFIGURATIONS).values():
        try:
            load(path)
        except ConfigError as exc:
            problems += str(exc).splitlines()
        except (ValueError, KeyError, TypeError) as exc:  # a loader's own check
            problems.append(f"{path.name}: {exc}")
    return problems
