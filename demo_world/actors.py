"""Who lives in the demo world: registered entities, online shops, planted operators, decoys, surges.

The feeds are written from these objects; the ground truth is read from them too.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from demo_world import names
from demo_world.catalogue import ONLINE_CATEGORIES, PRODUCTS
from demo_world.config import WorldConfig
from demo_world.reference import Reference, Region
from demo_world.uscc import make_uscc

ORDINARY, OPERATOR, DECOY = "ordinary", "operator", "decoy"

# Shop-id shapes per platform: prefix and number of digits.
SHOP_ID_SHAPE = {
    "taobao": ("TB", 8),
    "tmall": ("TM", 8),
    "jd": ("JD", 7),
    "pdd": ("PDD", 9),
    "douyin": ("DY", 10),
    "kuaishou": ("KS", 9),
    "xianyu": ("XY", 8),
    "weidian": ("WD", 9),
    "meituan": ("MT", 8),
    "alibaba1688": ("b2b-", 10),
}
_PLATFORM_SHARE = {
    "taobao": 25,
    "pdd": 20,
    "douyin": 14,
    "jd": 10,
    "tmall": 8,
    "kuaishou": 8,
    "xianyu": 5,
    "weidian": 4,
    "meituan": 3,
    "alibaba1688": 3,
}
_RING_PLATFORMS = {"taobao": 30, "pdd": 30, "douyin": 15, "kuaishou": 12, "xianyu": 6, "weidian": 7}

_ORDINARY_CATEGORIES = {
    "tobacco": 12,
    "other": 20,
    "pharmaceuticals": 8,
    "mobile_phones": 7,
    "auto_parts": 8,
    "seeds": 5,
    "fertilizer": 5,
    "pesticides": 4,
    "veterinary_drugs": 5,
    "fuel": 4,
    "agri_products": 8,
    "books": 3,
    "audio_video": 1,
    "software": 3,
    "export_goods": 2,
}
_OPERATOR_CATEGORIES: dict[str, dict[str, float]] = {
    "online_ring": {
        "mobile_phones": 3,
        "other": 3,
        "export_goods": 2,
        "auto_parts": 2,
        "software": 1,
        "books": 1,
        "pharmaceuticals": 1.5,
        "agri_products": 1.5,
        "audio_video": 0.5,
        "seeds": 0.5,
        "veterinary_drugs": 0.5,
    },
    "offline_seller": {
        "seeds": 3,
        "fuel": 2,
        "veterinary_drugs": 2.5,
        "pesticides": 2,
        "tobacco": 2,
        "pharmaceuticals": 1.5,
        "auto_parts": 1,
        "mobile_phones": 1,
        "fertilizer": 1.5,
        "agri_products": 1,
    },
    "mixed": {
        "seeds": 2,
        "pesticides": 1.5,
        "fertilizer": 1,
        "veterinary_drugs": 2,
        "auto_parts": 1.5,
        "mobile_phones": 1.5,
        "pharmaceuticals": 1,
        "agri_products": 1.5,
    },
    "out_of_province": {
        "mobile_phones": 3,
        "other": 2,
        "export_goods": 2,
        "auto_parts": 1,
        "pharmaceuticals": 1,
        "software": 1,
    },
}
# Cycled so that even a tiny world has one operator and one decoy of each kind.
OPERATOR_KINDS = (
    "online_ring",
    "offline_seller",
    "mixed",
    "out_of_province",
    "online_ring",
    "offline_seller",
    "online_ring",
    "mixed",
    "online_ring",
    "offline_seller",
)
DECOY_KINDS = (
    "flagship_store",
    "aftermarket_parts",
    "professional_complainant_target",
    "old_minor_violation",
    "clearance",
)
_SURGE_TEMPLATES = (
    ("seeds", ("630222", "630223", "630224", "630202", "630203")),
    ("fuel", ("632801",)),
    ("veterinary_drugs", ("632701", "632722", "632723", "632724", "632725", "632726")),
    ("pesticides", ("630106", "630121", "630223", "632521", "632523")),
)
SURGE_SHAPES = ("step", "ramp")
# A wave spread over two neighbouring city districts, each at a few times its usual rate, so
# that neither district alone need stand out (issue 20: a phone-fraud wave in two districts).
_SPLIT_SURGE_PAIRS = (
    ("630102", "630103"),
    ("630103", "630104"),
    ("630104", "630105"),
    ("630102", "630105"),
)
_SPLIT_SURGE_CATEGORIES = ("mobile_phones", "auto_parts", "tobacco", "pharmaceuticals")
SPLIT_SURGE_TIMES_NORMAL = 3.0
# A surge is evident from the day its planted complaints reach this many: before that no
# count detector can tell it from a county's ordinary days (most have 0-1 complaints).
SURGE_EVIDENT_EVENTS = 3
SEASONAL = (("seeds", 2.5), ("pesticides", 2.0), ("fertilizer", 2.2))  # rise every March-May
SEASON_MONTHS = (3, 4, 5)
_AGRI_INPUTS = ("seeds", "pesticides", "fertilizer")


@dataclass
class Entity:
    """A registered market entity (市场主体)."""

    index: int
    uscc: str
    parts: names.NameParts
    region_code: str  # registered county; outside Qinghai for a few
    entity_type: str
    category: str
    registered_on: dt.date
    status: str
    status_changed_on: dt.date | None  # when it became revoked/cancelled, if it did
    address: str
    role: str
    size: float  # relative trading volume, drives base-rate complaints

    @property
    def name(self) -> str:
        return self.parts.full

    @property
    def in_province(self) -> bool:
        return self.region_code.startswith("63")


@dataclass
class Shop:
    """An online shop on one platform."""

    index: int
    platform: str
    shop_id: str
    name: str
    seller_uscc: str | None
    ship_from: str
    contact_hash: str | None
    categories: tuple[str, ...]
    role: str
    style: str  # honest, counterfeit, aftermarket, clearance, flagship, secondhand, wholesale
    n_slots: int
    open_week: int
    close_week: int
    sales_scale: float
    home_region: str  # in-province county where most of its buyers complain from
    entity: int | None = None  # the registered entity behind the shop, shown or not
    low_price_share: float = 0.0
    slang_share: float = 0.0
    brand: str | None = None  # a flagship store sells one brand

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.shop_id}"


@dataclass
class Operator:
    """A planted counterfeit operator."""

    operator_id: str
    kind: str
    strong: bool
    categories: tuple[str, ...]
    region_code: str
    signals: frozenset[str]
    active_from: dt.date
    entities: list[int] = field(default_factory=list)
    shops: list[int] = field(default_factory=list)
    contact_hash: str | None = None


@dataclass
class Decoy:
    """An innocent business planted to look suspicious."""

    decoy_id: str
    kind: str
    categories: tuple[str, ...]
    region_code: str
    entities: list[int] = field(default_factory=list)
    shops: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Surge:
    """Extra complaints for one county and category over a few weeks.

    `shape` is how they arrive: `step` (a batch of fakes reaches the market: the extra rate is
    there from the first day) or `ramp` (word spreads: the rate rises to a peak mid-episode).
    A split surge spreads over `counties` (`region_code` first) at `times_normal` each
    county's usual rate of the category (its complaints of the year before the start), so its
    extra per day is known only once the ordinary complaints are drawn (`extra_per_day` 0).
    """

    surge_id: str
    region_code: str
    category: str
    start: dt.date
    end: dt.date
    extra_per_day: float
    shape: str
    counties: tuple[str, ...] = ()
    times_normal: float | None = None

    @property
    def places(self) -> tuple[str, ...]:
        """The counties the surge runs in."""
        return self.counties or (self.region_code,)


@dataclass
class Population:
    """Everything that acts in the world."""

    config: WorldConfig
    ref: Reference
    entities: list[Entity]
    shops: list[Shop]
    operators: list[Operator]
    decoys: list[Decoy]
    surges: list[Surge]

    @property
    def weeks(self) -> int:
        return len(self.config.snapshot_dates)


def region_weights(ref: Reference, category: str | None = None) -> np.ndarray:
    """Relative chance that a business (of `category`) sits in each county: Xining and Haidong lead."""
    weights = []
    for r in ref.regions:
        w = {"630100": 4.0, "630200": 2.5}.get(r.prefecture_code, 0.7)
        urban = r.code in ("630102", "630103", "630104", "630105")
        if urban:
            w *= 1.3
        if r.code in ("632301", "632521", "632621", "632701", "632802", "632223"):
            w *= 1.8
        if r.code == "632801":
            w *= 4.0
        if r.code in ("632857", "632803"):
            w *= 0.4
        if category in _AGRI_INPUTS:
            if r.prefecture_code == "630200" or r.code in ("630106", "630121", "630123"):
                w *= 2.5
            elif r.code in ("632521", "632523", "632221"):
                w *= 1.8
            elif urban or r.prefecture_code in ("632600", "632700"):
                w *= 0.3
        elif category == "veterinary_drugs":
            if r.prefecture_code in ("632200", "632300", "632500", "632600", "632700"):
                w *= 2.5
            elif urban:
                w *= 0.3
        elif category == "fuel" and r.prefecture_code == "632800":
            w *= 1.5
        elif category == "agri_products":
            if r.prefecture_code in ("632600", "632700"):
                w *= 3.0
            elif r.code in ("632822", "632802"):
                w *= 2.0
        elif category is not None and urban:
            w *= 1.5
        weights.append(w)
    arr = np.asarray(weights)
    return arr / arr.sum()


class _Builder:
    """Makes entities and shops with unique names, codes and ids."""

    def __init__(self, config: WorldConfig, ref: Reference) -> None:
        self.config = config
        self.ref = ref
        self.rnd = random.Random(f"{config.actors_seed}:actors")
        self.np = np.random.default_rng([config.actors_seed, 1])
        self.entities: list[Entity] = []
        self.shops: list[Shop] = []
        self._names: set[str] = set()
        self._codes: set[str] = set()
        self._shop_ids: set[str] = set()
        self._shop_names: set[tuple[str, str]] = set()
        self._hashes: set[str] = set()
        self._region_cdf = {c: region_weights(ref, c) for c in (None, *PRODUCTS)}

    # -- draws ------------------------------------------------------------------------------
    def county(self, category: str | None = None) -> Region:
        weights = self._region_cdf[category]
        return self.ref.regions[int(self.np.choice(len(weights), p=weights))]

    def pick(self, weights: Mapping[str, float]) -> str:
        keys = list(weights)
        return self.rnd.choices(keys, weights=[weights[k] for k in keys])[0]

    def new_hash(self) -> str:
        while (h := names.contact_hash(self.rnd)) in self._hashes:
            pass
        self._hashes.add(h)
        return h

    # -- entities ---------------------------------------------------------------------------
    def entity(
        self,
        role: str,
        category: str,
        *,
        entity_type: str | None = None,
        region: Region | None = None,
        outside: str | None = None,
        registered_after: dt.date | None = None,
        status: str = "active",
    ) -> Entity:
        rnd, cfg = self.rnd, self.config
        if entity_type is None:
            entity_type = self.pick(
                {"company": 35, "individual_business": 55, "cooperative": 6, "other": 4}
                if category in ("seeds", "fertilizer", "veterinary_drugs", "agri_products")
                else {"company": 38, "individual_business": 58, "other": 4}
            )
        if outside is None and region is None:
            region = self.county(category)
        if outside is not None:
            code_region = outside
        else:
            assert region is not None
            code_region = region.code
        place = names.OUT_OF_PROVINCE.get(outside or "")
        while True:
            parts = names.business_name(rnd, entity_type, category, region, place)
            if parts.full not in self._names:
                break
        self._names.add(parts.full)
        kind = entity_type
        if entity_type == "other":
            kind = rnd.choice(("other", "collective"))
        while (code := make_uscc(rnd, kind, code_region)) in self._codes:
            pass
        self._codes.add(code)
        earliest = registered_after or dt.date(2000, 1, 1)
        age = int(self.np.exponential(6 * 365))
        registered = max(earliest, cfg.as_of - dt.timedelta(days=age + 1))
        if registered_after is not None and registered == earliest:
            span = max(1, (cfg.as_of - dt.timedelta(days=120) - earliest).days)
            registered = earliest + dt.timedelta(days=rnd.randrange(span))
        changed = None
        if status != "active":
            span = max(1, (cfg.as_of - registered).days)
            changed = registered + dt.timedelta(days=rnd.randrange(span))
        entity = Entity(
            index=len(self.entities),
            uscc=code,
            parts=parts,
            region_code=code_region,
            entity_type=entity_type,
            category=category,
            registered_on=registered,
            status=status,
            status_changed_on=changed,
            address=names.address(rnd, region, place),
            role=role,
            size=float(self.np.lognormal(0, 0.8)),
        )
        self.entities.append(entity)
        return entity

    # -- shops ------------------------------------------------------------------------------
    def shop(
        self,
        role: str,
        platform: str,
        categories: tuple[str, ...],
        *,
        style: str,
        home_region: str,
        ship_from: str,
        contact: str | None,
        name: str | None = None,
        trade: str | None = None,
        seller_uscc: str | None = None,
        entity: int | None = None,
        n_slots: int | None = None,
        sales_scale: float = 1.0,
        open_week: int = 0,
        close_week: int | None = None,
    ) -> Shop:
        rnd = self.rnd
        prefix, digits = SHOP_ID_SHAPE[platform]
        while (
            shop_id := f"{prefix}{rnd.randrange(10 ** (digits - 1), 10**digits)}"
        ) in self._shop_ids:
            pass
        self._shop_ids.add(shop_id)
        attempt = 0
        while name is None or (platform, name) in self._shop_names:
            name = names.shop_name(rnd, platform, categories[0], trade if attempt == 0 else None)
            attempt += 1
        self._shop_names.add((platform, name))
        shop = Shop(
            index=len(self.shops),
            platform=platform,
            shop_id=shop_id,
            name=name,
            seller_uscc=seller_uscc,
            ship_from=ship_from,
            contact_hash=contact,
            categories=categories,
            role=role,
            style=style,
            n_slots=n_slots if n_slots is not None else rnd.randint(3, 20),
            open_week=open_week,
            close_week=self.config.snapshot_weeks - 1 if close_week is None else close_week,
            sales_scale=sales_scale,
            home_region=home_region,
            entity=entity,
        )
        self.shops.append(shop)
        return shop


def build_population(config: WorldConfig, ref: Reference) -> Population:
    """Every actor of the world, drawn from `config.actors_seed`."""
    b = _Builder(config, ref)
    operators = [_operator(b, i) for i in range(config.count(config.operators, floor=4))]
    decoys = [_decoy(b, i) for i in range(config.count(config.decoys, floor=len(DECOY_KINDS)))]
    _ordinary_entities(b)
    _ordinary_shops(b)
    return Population(config, ref, b.entities, b.shops, operators, decoys, _surges(b))


def _operator(b: _Builder, i: int) -> Operator:
    rnd, cfg = b.rnd, b.config
    kind = OPERATOR_KINDS[i % len(OPERATOR_KINDS)]
    strong = rnd.random() >= cfg.weak_operator_share
    cats = [b.pick(_OPERATOR_CATEGORIES[kind])]
    if rnd.random() < 0.3:
        second = b.pick(_OPERATOR_CATEGORIES[kind])
        if second != cats[0]:
            cats.append(second)
    online = kind != "offline_seller"
    if online:
        cats = [c for c in cats if c in ONLINE_CATEGORIES] or ["mobile_phones"]
    region = b.county(cats[0] if kind != "out_of_province" else None)
    earliest = cfg.history_start + dt.timedelta(days=10)
    active_from = max(earliest, cfg.as_of - dt.timedelta(days=rnd.randint(150, 480)))
    op = Operator(
        operator_id=f"OP{i + 1:03d}",
        kind=kind,
        strong=strong,
        categories=tuple(cats),
        region_code=region.code,
        signals=_signals(rnd, kind, strong),
        active_from=active_from,
    )
    outside = rnd.choice(list(names.OUT_OF_PROVINCE)) if kind == "out_of_province" else None
    has_entity = kind != "online_ring" or rnd.random() < 0.7
    if has_entity:
        etype = "individual_business" if rnd.random() < 0.55 else "company"
        ent = b.entity(
            OPERATOR,
            cats[0],
            entity_type=etype,
            region=None if outside else region,
            outside=outside,
            registered_after=cfg.as_of - dt.timedelta(days=6 * 365),
        )
        op.entities.append(ent.index)
        if online and rnd.random() < 0.15:  # a relative's business used on another shop
            other = b.entity(
                OPERATOR,
                cats[0],
                entity_type="individual_business",
                region=None if outside else region,
                outside=outside,
            )
            op.entities.append(other.index)
    if online:
        _operator_shops(b, op, outside)
    return op


def _signals(rnd: random.Random, kind: str, strong: bool) -> frozenset[str]:
    pool = ["complaints", "penalty"]
    if kind != "offline_seller":
        pool += ["low_price", "slang"]
    if kind in ("offline_seller", "mixed"):
        pool.append("failed_inspection")
    if not strong:
        return frozenset(rnd.sample(pool, rnd.choice((1, 2))))
    chance = {
        "low_price": 0.85,
        "slang": 0.5,
        "failed_inspection": 0.85,
        "complaints": 0.9,
        "penalty": 0.5,
    }
    chosen = {s for s in pool if rnd.random() < chance[s]}
    while len(chosen) < 2:
        chosen.add(rnd.choice(pool))
    return frozenset(chosen)


def _operator_shops(b: _Builder, op: Operator, outside: str | None) -> None:
    rnd, weeks = b.rnd, b.config.snapshot_weeks
    n = {"online_ring": rnd.randint(2, 6), "mixed": rnd.randint(1, 3)}.get(
        op.kind, rnd.randint(1, 4)
    )
    platforms = rnd.sample(list(_RING_PLATFORMS), rnd.randint(1, min(3, n)))
    if op.kind == "mixed" and rnd.random() < 0.3:
        platforms = ["meituan"]
    op.contact_hash = b.new_hash()
    strong = op.strong
    low = "low_price" in op.signals
    slang = "slang" in op.signals
    owners = [op.entities[0]] if op.entities else []
    carries = set()
    if owners and rnd.random() < 0.75:
        carries.add(rnd.randrange(n))
        if rnd.random() < 0.15:
            carries.add(rnd.randrange(n))
    hopping = op.kind == "online_ring" and n >= 3 and rnd.random() < 0.35
    for j in range(n):
        platform = platforms[j % len(platforms)]
        ship_from = outside or (
            op.region_code if rnd.random() < 0.85 else b.county(op.categories[0]).code
        )
        uscc = None
        if j in carries:
            uscc = b.entities[owners[0]].uscc
        elif len(op.entities) > 1 and j == n - 1:
            uscc = b.entities[op.entities[1]].uscc
        trade = (
            b.entities[owners[0]].parts.trade if owners and op.kind == "mixed" and j == 0 else None
        )
        open_week, close_week = 0, weeks - 1
        if hopping and j == 0:
            close_week = rnd.randint(weeks // 3, 2 * weeks // 3)
        elif hopping and j == n - 1:
            open_week = rnd.randint(weeks // 3, 2 * weeks // 3)
        shop = b.shop(
            OPERATOR,
            platform,
            op.categories,
            style="counterfeit",
            home_region=op.region_code,
            ship_from=ship_from,
            contact=op.contact_hash,
            trade=trade,
            seller_uscc=uscc,
            entity=op.entities[0] if op.entities else None,
            n_slots=rnd.randint(3, 15),
            sales_scale=float(b.np.lognormal(0, 0.6)),
            open_week=open_week,
            close_week=close_week,
        )
        if low:
            shop.low_price_share = rnd.uniform(0.5, 0.9) if strong else rnd.uniform(0.3, 0.6)
        if slang:
            shop.slang_share = rnd.uniform(0.2, 0.6) if strong else rnd.uniform(0.1, 0.3)
        op.shops.append(shop.index)


def _decoy(b: _Builder, i: int) -> Decoy:
    rnd = b.rnd
    kind = DECOY_KINDS[i % len(DECOY_KINDS)]
    decoy = Decoy(f"DC{i + 1:03d}", kind, (), "")
    if kind == "flagship_store":
        cat = rnd.choice(
            ("mobile_phones", "other", "auto_parts", "pharmaceuticals", "export_goods", "books")
        )
        brand = rnd.choice(PRODUCTS[cat]).brand
        outside = rnd.choice(list(names.OUT_OF_PROVINCE)) if rnd.random() < 0.5 else None
        region = None if outside else b.ref.region(rnd.choice(("630103", "630104", "630105")))
        ent = b.entity(
            DECOY,
            cat,
            entity_type="company",
            region=region,
            outside=outside,
            registered_after=dt.date(2005, 1, 1),
        )
        platform = rnd.choice(("tmall", "jd", "douyin"))
        name = f"{brand}{'京东自营' if platform == 'jd' else '官方'}旗舰店"
        if (platform, name) in b._shop_names:
            name = f"{brand}{ent.parts.trade}专卖店"
        shop = b.shop(
            DECOY,
            platform,
            (cat,),
            style="flagship",
            home_region=b.county().code,
            ship_from=ent.region_code,
            contact=b.new_hash(),
            name=name,
            seller_uscc=ent.uscc,
            entity=ent.index,
            n_slots=rnd.randint(15, 25),
            sales_scale=float(rnd.uniform(40, 120)),
        )
        shop.brand = brand
        decoy.entities, decoy.shops, decoy.categories = [ent.index], [shop.index], (cat,)
        decoy.region_code = ent.region_code
        return decoy
    if kind in ("aftermarket_parts", "clearance") or (
        kind == "professional_complainant_target" and rnd.random() < 0.6
    ):
        if kind == "aftermarket_parts":
            cat, style = ("auto_parts" if rnd.random() < 0.6 else "mobile_phones"), "aftermarket"
        elif kind == "clearance":
            cat = rnd.choice(
                ("other", "pharmaceuticals", "agri_products", "fertilizer", "pesticides")
            )
            style = "clearance"
        else:
            cat, style = (
                rnd.choice(("other", "pharmaceuticals", "agri_products", "books")),
                "honest",
            )
        region = b.county(cat)
        owner = b.entity(DECOY, cat, region=region) if rnd.random() < 0.6 else None
        platform = rnd.choice(("taobao", "pdd", "douyin", "jd", "kuaishou"))
        shop = b.shop(
            DECOY,
            platform,
            (cat,),
            style=style,
            home_region=region.code,
            ship_from=region.code,
            contact=b.new_hash(),
            trade=owner.parts.trade if owner else None,
            seller_uscc=owner.uscc if owner and rnd.random() < 0.7 else None,
            entity=owner.index if owner else None,
            n_slots=rnd.randint(6, 18),
            sales_scale=float(rnd.uniform(1.5, 4.0)),
        )
        decoy.entities = [owner.index] if owner else []
        decoy.shops, decoy.categories, decoy.region_code = [shop.index], (cat,), region.code
        return decoy
    # professional-complainant target offline, or an old minor violation
    cat = b.pick(_ORDINARY_CATEGORIES)
    region = b.county(cat)
    ent = b.entity(DECOY, cat, region=region, registered_after=dt.date(2010, 1, 1))
    decoy.entities, decoy.categories, decoy.region_code = [ent.index], (cat,), region.code
    if kind == "old_minor_violation" and cat in ONLINE_CATEGORIES and rnd.random() < 0.3:
        shop = b.shop(
            DECOY,
            b.pick(_PLATFORM_SHARE),
            (cat,),
            style="honest",
            home_region=region.code,
            ship_from=region.code,
            contact=b.new_hash(),
            trade=ent.parts.trade,
            seller_uscc=ent.uscc,
            entity=ent.index,
        )
        decoy.shops = [shop.index]
    return decoy


def _ordinary_entities(b: _Builder) -> None:
    cfg, rnd = b.config, b.rnd
    target = cfg.count(cfg.entities, floor=60)
    while len(b.entities) < target:
        cat = b.pick(_ORDINARY_CATEGORIES)
        status = b.pick({"active": 88, "revoked": 5, "cancelled": 7})
        outside = rnd.choice(list(names.OUT_OF_PROVINCE)) if rnd.random() < 0.05 else None
        b.entity(ORDINARY, cat, outside=outside, status=status)


def _ordinary_shops(b: _Builder) -> None:
    cfg, rnd = b.config, b.rnd
    target = cfg.count(cfg.shops, floor=30)
    sellers = [
        e
        for e in b.entities
        if e.role == ORDINARY and e.status == "active" and e.category in ONLINE_CATEGORIES
    ]
    by_category: dict[str, list[Entity]] = {}
    for e in sellers:
        by_category.setdefault(e.category, []).append(e)
    while len(b.shops) < target:
        platform = b.pick(_PLATFORM_SHARE)
        cat = b.pick({c: w for c, w in _ORDINARY_CATEGORIES.items() if c in ONLINE_CATEGORIES})
        second = cat if rnd.random() < 0.7 else rnd.choice(ONLINE_CATEGORIES)
        cats = tuple(dict.fromkeys((cat, second)))
        style = {"xianyu": "secondhand", "alibaba1688": "wholesale"}.get(platform, "honest")
        owner = (
            rnd.choice(by_category[cat]) if by_category.get(cat) and rnd.random() < 0.45 else None
        )
        home = owner.region_code if owner and owner.in_province else b.county(cat).code
        if owner is not None:
            ship_from = owner.region_code
        else:
            ship_from = home if rnd.random() < 0.8 else rnd.choice(list(names.OUT_OF_PROVINCE))
        contact = b.new_hash() if rnd.random() < 0.95 else None
        open_week = 0 if rnd.random() < 0.85 else rnd.randint(1, cfg.snapshot_weeks - 4)
        close_week = None
        if rnd.random() < 0.1:
            close_week = rnd.randint(open_week + 2, cfg.snapshot_weeks - 2)
        shop = b.shop(
            ORDINARY,
            platform,
            cats,
            style=style,
            home_region=home,
            ship_from=ship_from,
            contact=contact,
            trade=owner.parts.trade if owner else None,
            seller_uscc=owner.uscc if owner and rnd.random() < 0.85 else None,
            entity=owner.index if owner else None,
            sales_scale=float(b.np.lognormal(0, 0.9)),
            open_week=open_week,
            close_week=close_week,
        )
        if owner is not None and rnd.random() < 0.1 and len(b.shops) < target:
            # the same business on a second platform, with the same contact
            second = b.pick({p: w for p, w in _PLATFORM_SHARE.items() if p != platform})
            b.shop(
                ORDINARY,
                second,
                cats,
                style="honest",
                home_region=home,
                ship_from=ship_from,
                contact=contact,
                trade=owner.parts.trade,
                seller_uscc=owner.uscc,
                entity=owner.index,
                sales_scale=shop.sales_scale,
            )


def _surges(b: _Builder) -> list[Surge]:
    cfg, rnd = b.config, b.rnd
    n = min(cfg.count(cfg.surges, floor=1), len(b.ref.regions) * len(PRODUCTS))
    seen: set[tuple[str, str]] = set()
    surges: list[Surge] = []
    for i in range(n):
        if i < len(_SURGE_TEMPLATES):
            cat, counties = _SURGE_TEMPLATES[i]
            county = rnd.choice(counties)
        else:
            while True:
                cat = b.pick({c: w for c, w in _ORDINARY_CATEGORIES.items()})
                county = b.county(cat).code
                if (county, cat) not in seen:
                    break
        seen.add((county, cat))
        duration = rnd.randint(14, 28)
        start = cfg.as_of - dt.timedelta(days=rnd.randint(duration - 1, 85))
        end = start + dt.timedelta(days=duration - 1)
        extra = round(rnd.uniform(1.5, 4.0), 2)
        shape = SURGE_SHAPES[(i + cfg.seed) % len(SURGE_SHAPES)]  # every world has both
        surges.append(Surge(f"SG{i + 1:02d}", county, cat, start, end, extra, shape))
    return surges + _split_surges(cfg, len(surges))


def _split_surges(cfg: WorldConfig, first: int) -> list[Surge]:
    """Surges over two neighbouring districts, drawn from a stream of their own so that adding
    them reshuffles nothing else of the population; none below scale 1 (`split_surges`)."""
    rnd = random.Random(f"{cfg.actors_seed}:split-surges")
    surges: list[Surge] = []
    used: set[tuple[tuple[str, str], str]] = set()
    n = min(round(cfg.split_surges * cfg.scale), len(_SPLIT_SURGE_PAIRS) * 2)
    for i in range(first, first + n):
        pair = rnd.choice(_SPLIT_SURGE_PAIRS)
        cat = rnd.choice(_SPLIT_SURGE_CATEGORIES)
        while (pair, cat) in used:  # one wave per pair and category (scale 2 and above)
            pair, cat = rnd.choice(_SPLIT_SURGE_PAIRS), rnd.choice(_SPLIT_SURGE_CATEGORIES)
        used.add((pair, cat))
        duration = rnd.randint(14, 28)
        start = cfg.as_of - dt.timedelta(days=rnd.randint(duration - 1, 85))
        end = start + dt.timedelta(days=duration - 1)
        surges.append(
            Surge(
                f"SG{i + 1:02d}",
                pair[0],
                cat,
                start,
                end,
                0.0,
                "step",
                pair,
                SPLIT_SURGE_TIMES_NORMAL,
            )
        )
    return surges
