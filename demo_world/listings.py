"""Weekly listing snapshots, vectorised: each shop has slots, each slot shows one listing a week.

A listing sits in its slot until it is replaced (churn) and may miss a week (out of stock);
shops open and close. Listing-level attributes are drawn once; the weekly rows are taken
from them with a little noise, one snapshot at a time, so that even a world with ten
million listing rows never holds more than one week in memory.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from demo_world.actors import ORDINARY, Population
from demo_world.catalogue import PRODUCTS, listing_title

_CHURN = {"counterfeit": 0.08, "flagship": 0.03}  # weekly chance that a slot gets a new listing
_PRICE_FACTOR = {  # price / brand reference price
    "aftermarket": (0.25, 0.5),
    "clearance": (0.35, 0.6),
    "flagship": (0.93, 1.0),
    "secondhand": (0.45, 0.85),
    "wholesale": (0.65, 0.85),
}
_RATING = {"honest": (4.75, 0.12), "counterfeit": (4.45, 0.25), "flagship": (4.85, 0.05)}
_VARIANTS = ("黑色", "白色", "蓝色", "礼盒装", "标准版", "升级版", "套装", "")


@dataclass
class ListingBook:
    """Every listing ever shown, and which one each slot shows in each week."""

    snapshot_dates: tuple[dt.date, ...]
    slot_shop: np.ndarray  # (slots,) shop index
    slot_listing: np.ndarray  # (slots, weeks) listing index
    active: np.ndarray  # (slots, weeks) the slot shows its listing
    listing_id: pa.Array
    category: pa.Array
    brand: pa.Array
    title: pa.Array
    price: np.ndarray
    sales: np.ndarray
    rating: np.ndarray
    reviews: np.ndarray
    start_week: np.ndarray
    shop_platform: np.ndarray  # platform code per shop
    shop_columns: dict[str, pa.Array]  # shop_id, shop_name, seller_uscc, ship_from..., contact_hash
    shop_ordinary: np.ndarray
    seed: int

    def week(self, w: int) -> tuple[pa.Table, np.ndarray, np.ndarray]:
        """Snapshot `w`: its rows (contract columns), each row's platform and whether it is ordinary."""
        slots = np.flatnonzero(self.active[:, w])
        lid = self.slot_listing[slots, w]
        shop = self.slot_shop[slots]
        rng = np.random.default_rng([self.seed, 22, w])
        n = len(slots)
        sales = np.round(self.sales[lid] * rng.lognormal(0, 0.25, n)).astype(np.int64)
        price = self.price[lid].copy()
        promo = rng.random(n) < 0.03
        price[promo] = np.round(price[promo] * 0.85, 1)
        live = np.maximum(0, w - self.start_week[lid])
        reviews = self.reviews[lid] + np.round(self.sales[lid] * 0.08 * live / 4.3).astype(np.int64)
        rating = pa.array(self.rating[lid], mask=reviews == 0)
        lid_pa, shop_pa = pa.array(lid), pa.array(shop)
        table = pa.table(
            {
                "snapshot_date": pa.repeat(pa.scalar(self.snapshot_dates[w], pa.date32()), n),
                "platform": pa.array(self.shop_platform[shop]),
                "listing_id": self.listing_id.take(lid_pa),
                "shop_id": self.shop_columns["shop_id"].take(shop_pa),
                "shop_name": self.shop_columns["shop_name"].take(shop_pa),
                "seller_uscc": self.shop_columns["seller_uscc"].take(shop_pa),
                "ship_from_region_code": self.shop_columns["ship_from_region_code"].take(shop_pa),
                "product_category": self.category.take(lid_pa),
                "brand": self.brand.take(lid_pa),
                "title": self.title.take(lid_pa),
                "price_cny": pa.array(price),
                "sales_30d": pa.array(sales),
                "review_count": pa.array(reviews),
                "rating": rating,
                "contact_hash": self.shop_columns["contact_hash"].take(shop_pa),
            }
        )
        return table, self.shop_platform[shop], self.shop_ordinary[shop]


def build_listing_book(pop: Population) -> ListingBook:
    """Draw every listing of every shop over the snapshot weeks."""
    cfg = pop.config
    rng = np.random.default_rng([cfg.seed, 21])
    rnd = random.Random(f"{cfg.seed}:listings")
    shops = pop.shops
    weeks = pop.weeks
    n_slots = np.array([s.n_slots for s in shops])
    slot_shop = np.repeat(np.arange(len(shops)), n_slots)
    n = len(slot_shop)
    churn = np.array([_CHURN.get(s.style, 0.05) for s in shops])[slot_shop]
    events = rng.random((n, weeks)) < churn[:, None]
    events[:, 0] = True
    counts = events.sum(axis=1)
    offset = np.zeros(n, dtype=np.int64)
    offset[1:] = np.cumsum(counts)[:-1]
    slot_listing = (offset[:, None] + np.cumsum(events, axis=1) - 1).astype(np.int32)
    ev_slot, ev_week = np.nonzero(events)  # listing k starts in slot ev_slot[k], week ev_week[k]

    open_week = np.array([s.open_week for s in shops])[slot_shop]
    close_week = np.array([s.close_week for s in shops])[slot_shop]
    slot_start = np.where(rng.random(n) < 0.85, 0, rng.integers(0, weeks, n))
    slot_start[np.cumsum(n_slots) - n_slots] = (
        0  # every shop's first slot is there from its opening
    )
    first = np.maximum(open_week, slot_start)
    w = np.arange(weeks)
    active = (w >= first[:, None]) & (w <= close_week[:, None]) & (rng.random((n, weeks)) >= 0.02)

    listing_shop = slot_shop[ev_slot]
    count = len(ev_slot)
    u = rng.random((count, 4))
    normal = rng.standard_normal((count, 2))
    ids, cats, brands, titles = [], [], [], []
    price = np.empty(count)
    rating = np.empty(count)
    low_flags = np.zeros(count, dtype=bool)
    base = 600_000_000_000 + (cfg.seed % 1000) * 1_000_003
    for k in range(count):
        shop = shops[int(listing_shop[k])]
        cat = (
            shop.categories[0]
            if len(shop.categories) == 1 or u[k, 0] < 0.6
            else rnd.choice(shop.categories)
        )
        items = PRODUCTS[cat]
        if shop.brand:
            items = tuple(p for p in items if p.brand == shop.brand) or items
        product = items[int(u[k, 1] * len(items))]
        low = shop.style == "counterfeit" and u[k, 2] < shop.low_price_share
        slang = shop.style == "counterfeit" and u[k, 3] < shop.slang_share
        low_flags[k] = low
        if shop.style in _PRICE_FACTOR:
            lo, hi = _PRICE_FACTOR[shop.style]
            factor = rnd.uniform(lo, hi)
        elif shop.style == "counterfeit":
            factor = rnd.uniform(0.25, 0.55) if low else rnd.uniform(0.75, 1.0)
        else:
            factor = 0.97 * float(np.exp(0.06 * normal[k, 0]))
            if rnd.random() < 0.04:
                factor = rnd.uniform(0.7, 0.85)  # an honest promotion
        value = product.ref_price * factor
        price[k] = round(value) - 0.1 if value > 20 else max(0.5, round(value, 1))
        title = listing_title(rnd, product, shop.style, slang)
        if shop.style == "flagship":
            title = f"{title} {rnd.choice(_VARIANTS)}".strip()
        mean, sd = _RATING.get(shop.style, (4.6, 0.15))
        rating[k] = min(5.0, max(1.0, round(mean + sd * normal[k, 1], 1)))
        ids.append(str(base + (k * 7919) % 99_000_000_000))
        cats.append(cat)
        brands.append(product.brand if shop.style != "secondhand" or u[k, 0] < 0.7 else None)
        titles.append(title)
    scale = np.array([s.sales_scale for s in shops])[listing_shop]
    sales = np.round(scale * np.where(low_flags, 1.5, 1.0) * rng.lognormal(3.0, 1.0, count))
    reviews = np.where(ev_week == 0, np.round(sales * rng.uniform(1, 12, count)), 0).astype(
        np.int64
    )
    return ListingBook(
        snapshot_dates=cfg.snapshot_dates,
        slot_shop=slot_shop,
        slot_listing=slot_listing,
        active=active,
        listing_id=pa.array(ids, pa.string()),
        category=pa.array(cats, pa.string()),
        brand=pa.array(brands, pa.string()),
        title=pa.array(titles, pa.string()),
        price=price,
        sales=sales,
        rating=rating,
        reviews=reviews,
        start_week=ev_week.astype(np.int64),
        shop_platform=np.array([s.platform for s in shops], dtype=object),
        shop_columns={
            "shop_id": pa.array([s.shop_id for s in shops], pa.string()),
            "shop_name": pa.array([s.name for s in shops], pa.string()),
            "seller_uscc": pa.array([s.seller_uscc for s in shops], pa.string()),
            "ship_from_region_code": pa.array([s.ship_from for s in shops], pa.string()),
            "contact_hash": pa.array([s.contact_hash for s in shops], pa.string()),
        },
        shop_ordinary=np.array([s.role == ORDINARY for s in shops]),
        seed=cfg.seed,
    )
