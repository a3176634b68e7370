"""The records of the small feeds: complaints, inspections, credit, outcomes and the register.

Each builder returns rows of contract columns (dates as `date`, timestamps as naive China
time), sorted by record date with ids assigned. Rows carrying a planted signal (operators,
decoys, surges) get data-quality mistakes at the same rate as every other row.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from demo_world import names
from demo_world.actors import (
    DECOY,
    OPERATOR,
    ORDINARY,
    SEASON_MONTHS,
    SEASONAL,
    SURGE_EVIDENT_EVENTS,
    Entity,
    Population,
    Shop,
    Surge,
    region_weights,
)
from demo_world.catalogue import (
    INFRINGEMENT_BY_CATEGORY,
    PRODUCTS,
    PROFESSIONAL_TEMPLATE,
    Product,
    complaint_text,
)
from demo_world.names import INDUSTRY

Row = dict[str, object]
Subject = Shop | Entity | None


def business_of(subject: Subject) -> str | None:
    """The business a record is about (`uscc:…` or `shop:platform:shop_id`), kept on the row
    as `_subject` for the demo's name truth (`name_truth.py`); never delivered."""
    if isinstance(subject, Shop):
        return f"shop:{subject.key}"
    if isinstance(subject, Entity):
        return f"uscc:{subject.uscc}"
    return None


_HOUR_WEIGHTS = np.array(
    [
        0.2,
        0.1,
        0.05,
        0.05,
        0.05,
        0.1,
        0.3,
        0.8,
        2,
        3,
        3,
        2.5,
        1.5,
        2,
        2.8,
        2.8,
        2.5,
        2,
        1.5,
        1.5,
        1.2,
        0.8,
        0.5,
        0.3,
    ]
)
_ONLINE_CHANNELS = {
    "web_12315": 55,
    "hotline_12315": 20,
    "platform_referral": 20,
    "hotline_12345": 5,
}
_OFFLINE_CHANNELS = {
    "hotline_12315": 40,
    "web_12315": 20,
    "hotline_12345": 20,
    "tipoff_reward": 7,
    "visit": 8,
    "department_referral": 3,
    "media": 2,
}
_VIOLATION = {
    "seeds": ("counterfeit_trademark", "substandard_quality"),
    "fuel": ("substandard_quality",),
    "veterinary_drugs": ("substandard_quality", "unlicensed", "counterfeit_trademark"),
    "pesticides": ("substandard_quality", "counterfeit_trademark"),
    "fertilizer": ("substandard_quality",),
    "tobacco": ("counterfeit_trademark",),
    "pharmaceuticals": ("counterfeit_trademark", "unlicensed"),
    "mobile_phones": ("counterfeit_trademark",),
    "auto_parts": ("counterfeit_trademark",),
    "agri_products": ("fake_origin",),
    "books": ("other",),
    "audio_video": ("other",),
    "software": ("other",),
    "export_goods": ("counterfeit_trademark",),
    "other": ("counterfeit_trademark",),
}
_BASE_VIOLATION = {
    "mislabeled": 45,
    "substandard_quality": 20,
    "unlicensed": 15,
    "other": 10,
    "counterfeit_trademark": 6,
    "fake_origin": 4,
}
_SAMPLED = ("seeds", "fertilizer", "pesticides", "veterinary_drugs", "fuel", "pharmaceuticals")


def _weighted(rnd: random.Random, weights: Mapping[str, float]) -> str:
    keys = list(weights)
    return rnd.choices(keys, weights=[weights[k] for k in keys])[0]


def _weekday(day: dt.date) -> dt.date:
    """Offices work Monday to Friday: a weekend day moves to the Friday before."""
    return day - dt.timedelta(days=max(0, day.weekday() - 4))


class Calendar:
    """Daily intensity over the history: fewer complaints at weekends, spring seasons."""

    def __init__(self, pop: Population, seed_tag: int) -> None:
        cfg = pop.config
        self.start = cfg.history_start
        self.days = cfg.history_days
        dates = [self.start + dt.timedelta(days=i) for i in range(self.days)]
        weekday = np.array([(1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.5)[d.weekday()] for d in dates])
        trend = 1.0 + 0.2 * np.arange(self.days) / max(1, self.days - 1)
        self.base = weekday * trend
        spring = np.array([d.month in SEASON_MONTHS for d in dates])
        self.factor = {cat: np.where(spring, f, 1.0) for cat, f in SEASONAL}
        self.rng = np.random.default_rng([cfg.seed, seed_tag])

    def offset(self, day: dt.date) -> int:
        return min(self.days - 1, max(0, (day - self.start).days))

    def sample(
        self,
        n: int,
        category: str | None = None,
        lo: dt.date | None = None,
        hi: dt.date | None = None,
        recent: float = 1.0,
    ) -> list[dt.date]:
        """`n` days drawn by intensity between `lo` and `hi`; `recent` weights the last 180 days."""
        if n <= 0:
            return []
        a = self.offset(lo) if lo else 0
        b = self.offset(hi) if hi else self.days - 1
        w = self.base[a : b + 1].copy()
        if category in self.factor:
            w *= self.factor[category][a : b + 1]
        if recent != 1.0:
            w = w * np.where(np.arange(a, b + 1) >= self.days - 180, recent, 1.0)
        picks = self.rng.choice(b - a + 1, size=n, p=w / w.sum()) + a
        return [self.start + dt.timedelta(days=int(i)) for i in picks]

    def moment(self, day: dt.date) -> dt.datetime:
        hour = int(self.rng.choice(24, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()))
        second = int(self.rng.integers(3600))
        return dt.datetime.combine(day, dt.time(hour, second // 60, second % 60))


# ---------------------------------------------------------------------------------------------
# complaints
# ---------------------------------------------------------------------------------------------
class ComplaintMaker:
    """Builds complaint rows and remembers every phone number written into them."""

    def __init__(self, pop: Population) -> None:
        self.pop = pop
        self.ref = pop.ref
        self.cfg = pop.config
        self.rnd = random.Random(f"{self.cfg.seed}:complaints")
        self.cal = Calendar(pop, 11)
        self.phones: set[str] = set()
        self.voices: list[tuple[dt.datetime, int, Row]] = []
        self.surge_days: dict[str, list[dt.date]] = defaultdict(list)
        self.split_extra: dict[str, float] = {}  # a split surge's planted extra a day, all counties
        self._weights = {c: region_weights(self.ref, c) for c in (None, *PRODUCTS)}
        self._regions = [r.code for r in self.ref.regions]
        self._by_code = {r.code: r for r in self.ref.regions}

    # -- building blocks ----------------------------------------------------------------------
    def county(self, category: str | None = None) -> str:
        weights = self._weights[category]
        return self._regions[int(self.cal.rng.choice(len(weights), p=weights))]

    def phone(self) -> str:
        p = names.mobile_phone(self.rnd)
        self.phones.add(p)
        return p

    def product(self, category: str, shop: Shop | None = None) -> Product:
        items = PRODUCTS[category]
        if shop is not None and shop.brand:
            items = tuple(p for p in items if p.brand == shop.brand) or items
        return self.rnd.choice(items)

    def region_for(self, subject: Subject, category: str, home: str | None) -> str:
        rnd = self.rnd
        if home and rnd.random() < 0.65:
            code = home
        elif isinstance(subject, Shop):
            code = subject.home_region if rnd.random() < 0.55 else self.county()
        elif isinstance(subject, Entity) and subject.in_province:
            code = subject.region_code if rnd.random() < 0.92 else self.county(category)
        else:
            code = self.county(category)
        retired = self.ref.retired_for.get(code)
        if retired and rnd.random() < 0.15:  # old forms still carry the retired county code
            return retired
        return code

    def add(
        self,
        day: dt.date,
        category: str,
        subject: Subject,
        kind: str,
        *,
        home: str | None = None,
        channel: str | None = None,
        complainant: str | None = None,
        phone: str | None = None,
        description: str | None = None,
        product: Product | None = None,
        infringement: str | None = None,
        amount: float | None = None,
        subject_name: str | None = None,
    ) -> None:
        rnd = self.rnd
        shop = subject if isinstance(subject, Shop) else None
        entity = subject if isinstance(subject, Entity) else None
        product = product or self.product(category, shop)
        online = shop is not None
        row: Row = {c: None for c in ("subject_name", "subject_uscc", "platform", "shop_id")}
        platform_zh = ""
        if shop is not None:
            platform_zh = self.ref.platform_zh[shop.platform]
            row["platform"] = shop.platform
            if subject_name is None and rnd.random() < 0.9:
                subject_name = names.shop_variant(rnd, shop.name, platform_zh)
            row["shop_id"] = shop.shop_id if rnd.random() < 0.85 else None
            if shop.seller_uscc and rnd.random() < 0.25:
                row["subject_uscc"] = shop.seller_uscc
            if row["shop_id"] is None and subject_name is None:
                subject_name = shop.name
        elif entity is not None:
            if subject_name is None:
                region = self._by_code.get(entity.region_code)
                subject_name = names.loose_variant(rnd, entity.parts, region)
            if rnd.random() < 0.25:
                row["subject_uscc"] = entity.uscc
        row["subject_name"] = subject_name
        if complainant is None:
            weights = {"consumer": 85, "rights_holder": 1, "competitor": 5, "anonymous": 9}
            if kind == "counterfeit":  # brand owners report fakes of their brand
                weights["rights_holder"] = 15
            complainant = _weighted(rnd, weights)
        if phone is None and complainant != "anonymous":
            phone = self.phone()
        if amount is None and rnd.random() < 0.75:
            factor = rnd.uniform(0.3, 0.6) if kind == "counterfeit" else rnd.uniform(0.85, 1.0)
            amount = round(product.ref_price * factor * rnd.choice((1, 1, 1, 2, 3)), 2)
        if description is None:
            description = complaint_text(
                rnd,
                kind,
                category,
                online,
                subject=subject_name or ("该店铺" if online else "该商户"),
                brand=product.brand,
                product=product.name,
                amount=f"{amount or product.ref_price:.0f}",
                platform=platform_zh or "网上",
                date=f"{day.month}月{day.day}日",
            )
            description = self._extras(description, phone, day)
        if infringement is None:
            if kind == "counterfeit":
                infringement = rnd.choice(INFRINGEMENT_BY_CATEGORY[category])
            else:
                infringement = _weighted(
                    rnd,
                    {"other": 50, "substandard_quality": 35, "unlicensed": 10, "fake_origin": 5},
                )
        received = self.cal.moment(day)
        row.update(
            complaint_id=None,
            received_at=received,
            channel=channel or _weighted(rnd, _ONLINE_CHANNELS if online else _OFFLINE_CHANNELS),
            region_code=self.region_for(subject, category, home),
            product_category=category,
            infringement_type=infringement,
            complainant_type=complainant,
            brand=product.brand if rnd.random() < 0.8 else None,
            description=description,
            amount_cny=amount,
            complainant_phone=phone,
            _subject=business_of(subject),
        )
        self.voices.append((received, len(self.voices), row))

    def _extras(self, text: str, phone: str | None, day: dt.date) -> str:
        """Personal data that people write into free text, and the odd second line."""
        rnd = self.rnd
        pick = rnd.random()
        if pick < 0.03:
            own = phone or self.phone()
            self.phones.add(own)
            text += rnd.choice((f"联系电话{own}。", f"本人电话：{own}，请尽快回复。"))
        elif pick < 0.045:
            text += f"商家电话{self.phone()}，多次拨打无人接听。"
        elif pick < 0.055:
            county = rnd.choice(self._regions)
            text += (
                f"投诉人身份证号：{names.id_card_number(rnd, county, rnd.randint(1960, 2003))}。"
            )
        if rnd.random() < 0.01:
            text += f"\n补充说明：{day.month}月{day.day}日已与商家协商未果。"
        return text

    # -- who complains ------------------------------------------------------------------------
    def background(self) -> None:
        """Base-rate complaints about ordinary businesses, shops and unknown sellers."""
        pop, rnd, cal = self.pop, self.rnd, self.cal
        total = self.cfg.complaint_volume
        shops = [
            s
            for s in pop.shops
            if s.role == ORDINARY or (s.role == DECOY and s.style != "flagship")
        ]
        ents = [e for e in pop.entities if e.in_province and e.role in (ORDINARY, DECOY)]
        n_online, n_offline = round(total * 0.32), round(total * 0.53)
        picks: list[tuple[str, Subject]] = []
        weights = np.array([s.sales_scale * s.n_slots for s in shops])
        for i in cal.rng.choice(len(shops), size=n_online, p=weights / weights.sum()):
            shop = shops[int(i)]
            picks.append((rnd.choice(shop.categories), shop))
        weights = np.array([e.size for e in ents])
        for i in cal.rng.choice(len(ents), size=n_offline, p=weights / weights.sum()):
            picks.append((ents[int(i)].category, ents[int(i)]))
        cats = list(PRODUCTS)
        cat_weights = [
            3 if c in ("seeds", "fertilizer", "pesticides", "veterinary_drugs") else 1 for c in cats
        ]
        for _ in range(total - n_online - n_offline):
            picks.append((rnd.choices(cats, weights=cat_weights)[0], None))
        by_category: dict[str, list[int]] = defaultdict(list)
        for i, (cat, _) in enumerate(picks):
            by_category[cat].append(i)
        days: dict[int, dt.date] = {}
        for cat in sorted(by_category):
            for i, day in zip(
                by_category[cat], cal.sample(len(by_category[cat]), cat), strict=True
            ):
                days[i] = day
        for i, (cat, subject) in enumerate(picks):
            kind = (
                "unknown_subject"
                if subject is None
                else ("counterfeit" if rnd.random() < 0.35 else "ordinary")
            )
            self.add(days[i], cat, subject, kind)

    def operators(self) -> None:
        pop, rnd = self.pop, self.rnd
        for op in pop.operators:
            if "complaints" in op.signals:
                n = max(8, int(self.cal.rng.poisson(24))) if op.strong else rnd.randint(2, 5)
            else:
                n = int(self.cal.rng.poisson(0.5))
            subjects: list[Subject] = [pop.shops[i] for i in op.shops]
            if op.entities and (not subjects or rnd.random() < 0.4):
                subjects += [pop.entities[op.entities[0]]] * max(1, len(subjects))
            for day in self.cal.sample(n, op.categories[0], lo=op.active_from, recent=2.0):
                subject = rnd.choice(subjects)
                kind = "counterfeit" if rnd.random() < 0.85 else "ordinary"
                self.add(
                    day,
                    rnd.choice(op.categories),
                    subject,
                    kind,
                    home=op.region_code,
                )

    def decoys(self) -> None:
        pop, rnd = self.pop, self.rnd
        for decoy in pop.decoys:
            if decoy.kind == "flagship_store":
                shop = pop.shops[decoy.shops[0]]
                for day in self.cal.sample(int(self.cal.rng.poisson(70)), shop.categories[0]):
                    kind = "counterfeit" if rnd.random() < 0.3 else "ordinary"
                    self.add(day, shop.categories[0], shop, kind)
            elif decoy.kind == "professional_complainant_target":
                self._professional(decoy.shops, decoy.entities, decoy.categories[0])

    def _professional(
        self, shop_ids: Sequence[int], entity_ids: Sequence[int], category: str
    ) -> None:
        """职业打假: one phone, one template text, 10-30 complaints within a few days."""
        pop, rnd, cfg = self.pop, self.rnd, self.cfg
        subject: Shop | Entity = pop.shops[shop_ids[0]] if shop_ids else pop.entities[entity_ids[0]]
        product = self.product(category)
        name = subject.name
        phone = self.phone()
        text = PROFESSIONAL_TEMPLATE.format(subject=name, brand=product.brand, product=product.name)
        start = cfg.as_of - dt.timedelta(days=rnd.randint(20, 170))
        span = rnd.randint(2, 6)
        amount = round(product.ref_price, 2)
        home = subject.home_region if isinstance(subject, Shop) else subject.region_code
        for _ in range(rnd.randint(10, 30)):
            day = start + dt.timedelta(days=rnd.randrange(span))
            self.add(
                day,
                category,
                subject,
                "ordinary",
                home=home,
                channel=rnd.choice(("web_12315", "tipoff_reward")),
                complainant="consumer",
                phone=phone,
                description=text,
                product=product,
                infringement="other",
                amount=amount,
                subject_name=name,
            )

    def surges(self) -> None:
        pop, rnd = self.pop, self.rnd
        for surge in pop.surges:
            if surge.counties:
                self._split_surge(surge)
                continue
            local = [
                e
                for e in pop.entities
                if e.region_code == surge.region_code
                and e.category == surge.category
                and e.role == ORDINARY
            ]
            local = local[:3] or [e for e in pop.entities if e.region_code == surge.region_code][:2]
            days = (surge.end - surge.start).days + 1
            n = int(self.cal.rng.poisson(surge.extra_per_day * days))
            for _ in range(n):
                if surge.shape == "step":
                    offset = rnd.randrange(days)
                else:  # rises to a peak in the middle of the episode
                    offset = min(days - 1, int(rnd.triangular(0, days, days / 2)))
                self.surge_days[surge.surge_id].append(surge.start + dt.timedelta(days=offset))
                subject: Subject = rnd.choice(local) if local and rnd.random() < 0.6 else None
                kind = "counterfeit" if subject is not None else "unknown_subject"
                self.add(
                    surge.start + dt.timedelta(days=offset),
                    surge.category,
                    subject,
                    kind,
                    home=surge.region_code,
                )

    def _split_surge(self, surge: Surge) -> None:
        """A surge over neighbouring districts: in each, (times_normal − 1) × its usual daily
        complaints of the category (the year before the start) on top of them, evenly over
        the surge's days, about no business named. Its own random stream decides how many and
        when; the complaints' other cells are drawn last of all (split surges come after every
        other surge), so the rest of the world is not reshuffled."""
        assert surge.times_normal is not None
        rng = np.random.default_rng([self.cfg.seed, 31, int(surge.surge_id[2:])])
        days = (surge.end - surge.start).days + 1
        year_before = surge.start - dt.timedelta(days=365)
        extra = 0.0
        for county in surge.places:
            usual = sum(
                1
                for when, _, row in self.voices
                if row["region_code"] == county
                and row["product_category"] == surge.category
                and year_before <= when.date() < surge.start
            )
            rate = (surge.times_normal - 1) * usual / 365
            extra += rate
            offsets = sorted(int(o) for o in rng.integers(days, size=rng.poisson(rate * days)))
            for offset in offsets:
                day = surge.start + dt.timedelta(days=offset)
                self.surge_days[surge.surge_id].append(day)
                self.add(day, surge.category, None, "unknown_subject", home=county)
                self.voices[-1][2]["region_code"] = county  # all in the district, as planted
        self.split_extra[surge.surge_id] = round(extra, 2)

    def rows(self) -> list[Row]:
        """Every complaint in received order, with ids like TS2026050300012."""
        self.voices.sort(key=lambda v: (v[0], v[1]))
        daily: dict[dt.date, int] = defaultdict(int)
        rows = []
        for when, _, row in self.voices:
            daily[when.date()] += 1
            row["complaint_id"] = f"TS{when:%Y%m%d}{daily[when.date()]:05d}"
            rows.append(row)
        return rows


def build_complaints(
    pop: Population,
) -> tuple[list[Row], set[str], dict[str, dt.date], dict[str, float]]:
    """All complaints over the history, every phone number written into them, the day each
    surge became evident (its planted complaints reached SURGE_EVIDENT_EVENTS), and the planted
    extra complaints a day of each split surge (in all its counties)."""
    maker = ComplaintMaker(pop)
    maker.background()
    maker.operators()
    maker.decoys()
    maker.surges()
    evident = {
        surge_id: sorted(days)[SURGE_EVIDENT_EVENTS - 1]
        for surge_id, days in maker.surge_days.items()
        if len(days) >= SURGE_EVIDENT_EVENTS
    }
    return maker.rows(), maker.phones, evident, maker.split_extra


# ---------------------------------------------------------------------------------------------
# inspections
# ---------------------------------------------------------------------------------------------
class InspectionMaker:
    def __init__(self, pop: Population) -> None:
        self.pop = pop
        self.cfg = pop.config
        self.rnd = random.Random(f"{self.cfg.seed}:inspections")
        self.rng = np.random.default_rng([self.cfg.seed, 12])
        self.rows: list[Row] = []
        self.fails: list[
            tuple[Entity, dt.date, str, str | None]
        ] = []  # entity, day, category, violation

    def day_between(self, lo: dt.date, hi: dt.date) -> dt.date:
        lo = max(lo, self.cfg.history_start)
        hi = min(hi, self.cfg.as_of)
        if hi < lo:
            hi = lo
        day = lo + dt.timedelta(days=self.rnd.randrange((hi - lo).days + 1))
        return max(lo, _weekday(day))

    def add(
        self,
        entity: Entity,
        day: dt.date,
        itype: str,
        result: str,
        violation: str | None,
        *,
        category: str | None = None,
        seized: float | None = None,
    ) -> None:
        rnd, ref = self.rnd, self.pop.ref
        region = ref.region(entity.region_code)
        name = (
            entity.name if rnd.random() < 0.85 else names.loose_variant(rnd, entity.parts, region)
        )
        code = entity.region_code
        if code in ref.retired_for and rnd.random() < 0.15:
            code = ref.retired_for[code]
        category = category or entity.category
        self.rows.append(
            {
                "inspection_id": None,
                "inspected_on": day,
                "region_code": code,
                "entity_name": name,
                "entity_uscc": entity.uscc if rnd.random() < 0.85 else None,
                "product_category": category,
                "inspection_type": itype,
                "result": result,
                "violation_type": violation,
                "inspector_team": names.inspector_team(rnd, region),
                "seized_value_cny": seized,
                "lead_id": None,
                "_subject": business_of(entity),
            }
        )
        if result == "fail":
            self.fails.append((entity, day, category, violation))

    def seized(self, violation: str | None, scale: float = 9.5) -> float | None:
        if violation in ("mislabeled", "unlicensed", "other") and self.rnd.random() < 0.6:
            return None
        return round(float(self.rng.lognormal(scale, 1.0)), 2)

    def operators(self) -> None:
        pop, rnd, cfg = self.pop, self.rnd, self.cfg
        for op in pop.operators:
            ents = [pop.entities[i] for i in op.entities if pop.entities[i].in_province]
            if not ents or op.kind not in ("offline_seller", "mixed"):
                continue
            ent = ents[0]
            lo, hi = op.active_from + dt.timedelta(days=20), cfg.as_of - dt.timedelta(days=5)
            if "failed_inspection" in op.signals:
                for _ in range(rnd.randint(1, 3) if op.strong else 1):
                    violation = rnd.choice(_VIOLATION[op.categories[0]])
                    itype = rnd.choice(("targeted", "complaint_followup", "sampling_test"))
                    self.add(
                        ent,
                        self.day_between(lo, hi),
                        itype,
                        "fail",
                        violation,
                        category=op.categories[0],
                        seized=self.seized(violation, 9.8),
                    )
            for _ in range(rnd.randint(0, 1)):
                self.add(
                    ent,
                    self.day_between(cfg.history_start, hi),
                    "double_random",
                    rnd.choice(("pass", "pass", "pending")),
                    None,
                )

    def decoys(self) -> None:
        pop, rnd, cfg = self.pop, self.rnd, self.cfg
        long_ago = cfg.as_of - dt.timedelta(days=400)
        for decoy in pop.decoys:
            ents = [pop.entities[i] for i in decoy.entities if pop.entities[i].in_province]
            if not ents:
                continue
            if decoy.kind == "old_minor_violation":
                hi = max(cfg.history_start, long_ago)
                if hi <= cfg.history_start + dt.timedelta(days=30):
                    hi = cfg.history_start + dt.timedelta(days=cfg.history_days // 4)
                day = self.day_between(cfg.history_start + dt.timedelta(days=5), hi)
                self.add(ents[0], day, "double_random", "fail", "mislabeled")
                if rnd.random() < 0.5:
                    later = self.day_between(day + dt.timedelta(days=120), cfg.as_of)
                    self.add(ents[0], later, "double_random", "pass", None)
            elif rnd.random() < 0.4:
                self.add(
                    ents[0],
                    self.day_between(cfg.history_start, cfg.as_of),
                    "double_random",
                    "pass",
                    None,
                )

    def surges(self) -> None:
        pop, rnd = self.pop, self.rnd
        for surge in pop.surges:
            if surge.counties:
                continue  # a split surge is complaints only (its inspections would reshuffle these)
            local = [
                e for e in pop.entities if e.region_code == surge.region_code and e.role == ORDINARY
            ]
            same = [e for e in local if e.category == surge.category] or local
            for _ in range(rnd.randint(3, 8) if same else 0):
                day = self.day_between(
                    surge.start + dt.timedelta(days=3), surge.end + dt.timedelta(days=10)
                )
                violation = rnd.choice(_VIOLATION[surge.category])
                self.add(
                    rnd.choice(same),
                    day,
                    rnd.choice(("complaint_followup", "targeted")),
                    "fail",
                    violation,
                    category=surge.category,
                    seized=self.seized(violation),
                )

    def background(self) -> None:
        pop, rnd, cfg = self.pop, self.rnd, self.cfg
        target = cfg.count(cfg.inspections, floor=40)
        pool = [e for e in pop.entities if e.in_province and e.role == ORDINARY]
        sampled = [e for e in pool if e.category in _SAMPLED]
        recent = cfg.as_of - dt.timedelta(days=60)
        while len(self.rows) < target:
            itype = _weighted(
                rnd,
                {
                    "double_random": 55,
                    "sampling_test": 20,
                    "complaint_followup": 15,
                    "targeted": 10,
                },
            )
            ent = rnd.choice(sampled if itype == "sampling_test" and sampled else pool)
            day = self.day_between(cfg.history_start, cfg.as_of)
            if itype == "targeted" and ent.category in ("seeds", "fertilizer", "pesticides"):
                # the spring campaign against fake farm inputs (春季农资打假)
                day = day.replace(month=rnd.choice(SEASON_MONTHS), day=min(day.day, 28))
                if not cfg.history_start <= day <= cfg.as_of:
                    day = self.day_between(cfg.history_start, cfg.as_of)
                day = _weekday(day)
            if ent.status_changed_on and day > ent.status_changed_on:
                continue  # a closed business is not inspected
            fail_rate = {
                "double_random": 0.05,
                "sampling_test": 0.08,
                "complaint_followup": 0.14,
                "targeted": 0.12,
            }[itype]
            pick = rnd.random()
            pending_rate = 0.25 if day >= recent else 0.015
            if pick < fail_rate:
                violation = _weighted(rnd, _BASE_VIOLATION)
                self.add(ent, day, itype, "fail", violation, seized=self.seized(violation, 7.5))
            elif pick < fail_rate + pending_rate:
                self.add(ent, day, itype, "pending", None)
            else:
                self.add(ent, day, itype, "pass", None)

    def ordered(self) -> list[Row]:
        self.rows.sort(key=lambda r: (str(r["inspected_on"]), str(r["entity_name"])))
        daily: dict[dt.date, int] = defaultdict(int)
        for row in self.rows:
            day = row["inspected_on"]
            assert isinstance(day, dt.date)
            daily[day] += 1
            row["inspection_id"] = f"JC{day:%Y%m%d}{daily[day]:04d}"
        return self.rows


def build_inspections(
    pop: Population,
) -> tuple[list[Row], list[tuple[Entity, dt.date, str, str | None]]]:
    """All inspections, and the failed ones (entity, day, category, violation) for the penalties."""
    maker = InspectionMaker(pop)
    maker.operators()
    maker.decoys()
    maker.surges()
    maker.background()
    return maker.ordered(), maker.fails


# ---------------------------------------------------------------------------------------------
# credit
# ---------------------------------------------------------------------------------------------
_PENALTY_TEXT = {
    "counterfeit_trademark": "当事人销售假冒“{brand}”注册商标的{product}，违反《商标法》第五十七条，没收侵权商品并处罚款{amount}元。",
    "substandard_quality": "当事人销售的{product}经抽检不合格，违反《产品质量法》第四十九条，没收违法所得并处罚款{amount}元。",
    "fake_origin": "当事人销售的{product}伪造产地，违反《产品质量法》第五十三条，处罚款{amount}元。",
    "unlicensed": "当事人未取得许可经营{product}，处罚款{amount}元。",
    "mislabeled": "当事人销售的{product}标签标识不规范，责令改正并处罚款{amount}元。",
    "other": "当事人经营活动违反相关规定，处罚款{amount}元。",
}
_ABNORMAL_TEXT = (
    "未按规定期限公示年度报告",
    "通过登记的住所或者经营场所无法联系",
    "未按规定公示即时信息",
)
_RED_TEXT = ("守合同重信用企业", "诚信经营示范单位", "放心消费示范店")


def build_credit(
    pop: Population, fails: list[tuple[Entity, dt.date, str, str | None]]
) -> list[Row]:
    """Penalties (after failed inspections and for operators), credit lists and red lists."""
    cfg = pop.config
    rnd = random.Random(f"{cfg.seed}:credit")
    rng = np.random.default_rng([cfg.seed, 13])
    rows: list[Row] = []

    def add(
        entity: Entity | None,
        name: str,
        rtype: str,
        day: dt.date,
        category: str | None,
        amount: float | None,
        text: str,
    ) -> None:
        if day > cfg.as_of:
            return
        rows.append(
            {
                "record_id": None,
                "uscc": entity.uscc if entity and rnd.random() < 0.93 else None,
                "entity_name": name,
                "record_type": rtype,
                "decided_on": _weekday(day),
                "region_code": entity.region_code if entity else None,
                "product_category": category,
                "amount_cny": amount,
                "description": text,
                "_subject": business_of(entity),
            }
        )

    def penalty(
        entity: Entity | None,
        name: str,
        day: dt.date,
        category: str,
        violation: str | None,
        amount: float,
    ) -> None:
        product = rnd.choice(PRODUCTS[category])
        text = _PENALTY_TEXT[violation or "other"].format(
            brand=product.brand, product=product.name, amount=f"{amount:.0f}"
        )
        add(entity, name, "admin_penalty", day, category, amount, text)

    for op in pop.operators:
        if "penalty" not in op.signals:
            continue
        ent = pop.entities[op.entities[0]] if op.entities else None
        name = ent.name if ent else pop.shops[op.shops[0]].name
        own_fails = [f for f in fails if ent is not None and f[0].index == ent.index]
        for k in range(rnd.randint(1, 2) if op.strong else 1):
            if own_fails and k < len(own_fails):
                _, failed_on, cat, violation = own_fails[k]
                day = failed_on + dt.timedelta(days=rnd.randint(15, 60))
            else:
                lo = op.active_from + dt.timedelta(days=30)
                span = max(1, (cfg.as_of - lo).days - 3)
                day, cat = lo + dt.timedelta(days=rnd.randrange(span)), op.categories[0]
                violation = rnd.choice(_VIOLATION[cat])
            amount = round(float(rng.lognormal(10.5 if op.strong else 9.0, 0.7)), -2)
            penalty(ent, name, day, cat, violation, amount)
            if op.strong and k == 0 and rnd.random() < 0.2:
                add(
                    ent,
                    name,
                    "serious_dishonesty_list",
                    day + dt.timedelta(days=rnd.randint(20, 60)),
                    cat,
                    None,
                    "因销售假冒伪劣商品受到较重行政处罚，列入严重违法失信名单。",
                )
    failed_entities = {ent.index for ent, *_ in fails}
    decoy_entities = {i for d in pop.decoys for i in d.entities}
    for ent, day, cat, violation in fails:
        role_decoy = ent.index in decoy_entities
        if ent.role == OPERATOR or rnd.random() > (0.5 if role_decoy else 0.55):
            continue
        amount = round(float(rng.lognormal(7.5, 0.8)), -1)
        penalty(
            ent,
            ent.name,
            day + dt.timedelta(days=rnd.randint(10, 60)),
            cat,
            violation,
            amount,
        )
    for decoy in pop.decoys:
        if decoy.kind == "flagship_store" and rnd.random() < 0.5:
            ent = pop.entities[decoy.entities[0]]
            day = cfg.history_start + dt.timedelta(days=rnd.randrange(cfg.history_days))
            add(ent, ent.name, "red_list", day, None, None, rnd.choice(_RED_TEXT))
    target = cfg.count(cfg.credit_records, floor=30)
    pool = [e for e in pop.entities if e.role == ORDINARY]
    while len(rows) < target:
        ent = rnd.choice(pool)
        rtype = _weighted(
            rnd,
            {
                "abnormal_operation": 55,
                "red_list": 25,
                "admin_penalty": 15,
                "serious_dishonesty_list": 5,
            },
        )
        day = cfg.history_start + dt.timedelta(days=rnd.randrange(cfg.history_days))
        if rtype == "admin_penalty":
            if ent.index in failed_entities:
                continue
            penalty(
                ent,
                ent.name,
                day,
                ent.category,
                _weighted(rnd, _BASE_VIOLATION),
                round(float(rng.lognormal(7.0, 0.8)), -1),
            )
        elif rtype == "serious_dishonesty_list":
            if ent.status != "revoked":
                continue
            add(
                ent,
                ent.name,
                rtype,
                day,
                None,
                None,
                "被吊销营业执照，列入严重违法失信名单。",
            )
        elif rtype == "red_list":
            add(ent, ent.name, rtype, day, None, None, rnd.choice(_RED_TEXT))
        else:
            add(ent, ent.name, rtype, day, None, None, rnd.choice(_ABNORMAL_TEXT))
    rows.sort(key=lambda r: (str(r["decided_on"]), str(r["entity_name"])))
    daily: dict[dt.date, int] = defaultdict(int)
    for row in rows:
        decided = row["decided_on"]
        assert isinstance(decided, dt.date)
        daily[decided] += 1
        row["record_id"] = f"CR{decided:%Y%m%d}{daily[decided]:04d}"
    return rows


# ---------------------------------------------------------------------------------------------
# outcomes
# ---------------------------------------------------------------------------------------------
def build_outcomes(pop: Population) -> list[Row]:
    """Cases closed in the last 12 months, as enforcement records read: most operators never
    caught, some of their cases ending without proof, and confirmed cases among ordinary
    businesses too (a labelling or expiry violation, a fake batch bought in good faith)."""
    cfg = pop.config
    rnd = random.Random(f"{cfg.seed}:outcomes")
    rng = np.random.default_rng([cfg.seed, 14])
    rows: list[Row] = []
    year_ago = max(cfg.history_start, cfg.as_of - dt.timedelta(days=364))

    def add(
        outcome: str,
        day: dt.date,
        subject: Subject,
        category: str,
        operator: str | None,
        turnover: float | None = None,
    ) -> None:
        row: Row = {
            "outcome_id": None,
            "closed_on": _weekday(day),
            "outcome": outcome,
            "lead_id": None,
            "entity_uscc": None,
            "platform": None,
            "shop_id": None,
            "entity_name": None,
            "product_category": category,
            "illegal_turnover_cny": turnover,
            "_subject": business_of(subject),
            "_operator": operator,
        }
        if isinstance(subject, Shop):
            row["platform"], row["shop_id"] = subject.platform, subject.shop_id
            if rnd.random() < 0.5:
                row["entity_name"] = subject.name
        elif isinstance(subject, Entity):
            if rnd.random() < 0.85:
                row["entity_uscc"] = subject.uscc
            if rnd.random() < 0.8 or row["entity_uscc"] is None:
                region = pop.ref.region(subject.region_code) if subject.in_province else None
                row["entity_name"] = (
                    subject.name
                    if rnd.random() < 0.7
                    else names.loose_variant(rnd, subject.parts, region)
                )
        rows.append(row)

    def day_after(lo: dt.date) -> dt.date:
        lo = max(lo, year_ago)
        hi = cfg.as_of - dt.timedelta(days=3)
        return lo + dt.timedelta(days=rnd.randrange(max(1, (hi - lo).days + 1)))

    def minor_case() -> tuple[str, float | None]:
        """An ordinary business's case: mostly cleared, sometimes a minor violation confirmed
        (labelling, expiry: a few thousand yuan) or a fake batch bought in good faith."""
        outcome = _weighted(
            rnd,
            {"not_confirmed": 64, "insufficient_evidence": 24, "confirmed": 10, "transferred": 2},
        )
        if outcome != "confirmed":
            return outcome, None
        good_faith_batch = rnd.random() < 0.3
        return outcome, round(float(rng.lognormal(9.0 if good_faith_batch else 7.5, 0.8)), 2)

    # About one operator in five is ever investigated in the year (strong ones more often),
    # and a referral or an investigation often ends without proof.
    for op in pop.operators:
        if rnd.random() > (0.35 if op.strong else 0.15):
            continue
        subjects: list[Subject] = [pop.entities[i] for i in op.entities]
        subjects += [pop.shops[i] for i in op.shops]
        for subject in rnd.sample(subjects, min(len(subjects), rnd.randint(1, 2))):
            if op.kind == "out_of_province" and rnd.random() < 0.6:
                outcome = "transferred"
            else:
                outcome = _weighted(
                    rnd,
                    {
                        "confirmed": 50,
                        "referred_to_police": 20 if op.strong else 5,
                        "insufficient_evidence": 20 if op.strong else 35,
                        "not_confirmed": 10 if op.strong else 25,
                    },
                )
            turnover = None
            if outcome in ("confirmed", "referred_to_police"):
                turnover = round(
                    float(rng.lognormal(11.5 if outcome == "referred_to_police" else 10.0, 0.8)), 2
                )
            add(
                outcome,
                day_after(op.active_from + dt.timedelta(days=60)),
                subject,
                op.categories[0],
                op.operator_id,
                turnover,
            )
    for decoy in pop.decoys:
        if rnd.random() > (0.9 if decoy.kind == "professional_complainant_target" else 0.55):
            continue
        cleared: Subject = (
            pop.shops[decoy.shops[0]] if decoy.shops else pop.entities[decoy.entities[0]]
        )
        outcome, turnover = minor_case()
        add(outcome, day_after(year_ago), cleared, decoy.categories[0], None, turnover)
    target = cfg.count(cfg.outcomes, floor=12)
    entities = [e for e in pop.entities if e.role == ORDINARY and e.in_province]
    shops = [s for s in pop.shops if s.role == ORDINARY]
    while len(rows) < target:
        innocent: Shop | Entity = rnd.choice(shops) if rnd.random() < 0.35 else rnd.choice(entities)
        category = innocent.categories[0] if isinstance(innocent, Shop) else innocent.category
        outcome, turnover = minor_case()
        add(outcome, day_after(year_ago), innocent, category, None, turnover)
    rows.sort(key=lambda r: (str(r["closed_on"]), str(r["shop_id"]), str(r["entity_name"])))
    daily: dict[dt.date, int] = defaultdict(int)
    for row in rows:
        day = row["closed_on"]
        assert isinstance(day, dt.date)
        daily[day] += 1
        row["outcome_id"] = f"AJ{day:%Y%m%d}{daily[day]:03d}"
    return rows


# ---------------------------------------------------------------------------------------------
# the register
# ---------------------------------------------------------------------------------------------
def register_row(entity: Entity, status: str) -> Row:
    """The entity as the register extract lists it, with `status` as of the extract."""
    return {
        "uscc": entity.uscc,
        "name": entity.name,
        "region_code": entity.region_code,
        "entity_type": entity.entity_type,
        "industry": INDUSTRY[entity.category][2],
        "registered_on": entity.registered_on,
        "status": status,
        "address": entity.address,
    }
