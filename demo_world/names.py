"""Chinese names and free text of the demo world: businesses, shops, addresses, teams, phones.

Every function takes a `random.Random` so that the same seed writes the same words.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from demo_world.reference import Region

_TRADE_FIRST = (
    "鑫华恒金瑞德昌永宏康顺祥福佳嘉诚宇天圣正新益众博汇森辉明润锦盛兴隆泰丰源通利达安和信美"
)
_TRADE_SECOND = "源华泰通利丰盛隆兴达康顺祥和福安佳美信诚宇海天正新联益众博创汇森辉明昊晟润锦鑫发"
_LOCAL_TRADES = (
    "昆仑",
    "三江",
    "高原",
    "雪域",
    "河湟",
    "青藏",
    "柴达木",
    "祁连",
    "江源",
    "湟水",
    "环湖",
    "格桑",
    "吉祥",
    "扎西",
    "雪莲",
    "卓玛",
    "唐古拉",
    "夏都",
    "雪峰",
    "青湖",
)
_SURNAMES = "马韩李王张刘陈赵杨祁冶鲁朱何胡郭谢白"
# A complainant often writes a sound-alike character for a trade name.
_SOUND_ALIKE = {
    "鑫": "新",
    "源": "元",
    "华": "化",
    "盛": "胜",
    "丰": "峰",
    "隆": "龙",
    "达": "大",
    "祥": "翔",
    "兴": "星",
    "恒": "衡",
    "瑞": "睿",
    "宏": "鸿",
    "昌": "长",
    "福": "富",
    "佳": "家",
    "嘉": "佳",
    "诚": "成",
    "宇": "雨",
    "辉": "晖",
    "明": "铭",
    "泰": "太",
    "通": "同",
    "利": "力",
    "康": "抗",
    "德": "得",
    "金": "今",
    "永": "勇",
    "博": "搏",
}

# category -> (company industry words, individual-business name endings, register industry)
INDUSTRY: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "fuel": (("石化", "石油", "能源"), ("加油站", "石化加油站", "油品经营部"), "成品油零售"),
    "tobacco": (("商贸", "烟酒"), ("烟酒店", "便利店", "烟酒商行", "超市"), "烟草制品零售"),
    "agri_products": (
        ("虫草", "枸杞", "农产品", "特产"),
        ("虫草商行", "枸杞经营部", "特产店", "土特产商行"),
        "农产品批发零售",
    ),
    "books": (("图书", "文化传媒", "书业"), ("书店", "图书经营部", "文化用品店"), "图书零售"),
    "audio_video": (("音像", "文化传媒"), ("音像店", "音像制品经营部"), "音像制品零售"),
    "software": (
        ("网络科技", "信息技术", "软件"),
        ("电脑经营部", "电脑商行", "网络服务部"),
        "软件和信息技术服务",
    ),
    "export_goods": (
        ("进出口", "国际贸易", "外贸"),
        ("外贸服饰店", "服饰商行", "鞋业经营部"),
        "进出口贸易",
    ),
    "mobile_phones": (
        ("通讯", "通讯器材", "数码科技"),
        ("手机店", "通讯器材经营部", "数码商行", "手机维修部"),
        "通讯设备零售",
    ),
    "auto_parts": (
        ("汽车配件", "汽车用品", "汽配"),
        ("汽配商行", "汽车配件经营部", "汽修厂", "汽配门市部"),
        "汽车零配件零售",
    ),
    "pharmaceuticals": (("医药", "药业", "大药房"), ("大药房", "药店", "医药商店"), "药品零售"),
    "pesticides": (("农资", "植保", "农化"), ("农资经营部", "植保商行", "农药门市部"), "农药经营"),
    "veterinary_drugs": (
        ("畜牧科技", "兽药", "动物保健"),
        ("兽药经营部", "兽药门市部", "畜牧兽药店"),
        "兽药经营",
    ),
    "seeds": (
        ("种业", "农业科技", "种苗"),
        ("种子经营部", "种子门市部", "种业经营部", "农资商行"),
        "农作物种子经营",
    ),
    "fertilizer": (
        ("农资", "农业生产资料", "肥业"),
        ("农资门市部", "化肥经营部", "农资商行"),
        "化肥批发零售",
    ),
    "other": (
        ("商贸", "贸易", "日用品"),
        ("百货商行", "日用品店", "综合商店", "超市"),
        "日用百货零售",
    ),
}

# Words a shop name uses for what it sells.
SHOP_WORDS = {
    "fuel": ("车品", "养车"),
    "tobacco": ("烟具",),
    "agri_products": ("虫草", "枸杞", "特产", "山货"),
    "books": ("图书", "书屋", "书城"),
    "audio_video": ("音像", "影音"),
    "software": ("软件", "正版软件", "数字"),
    "export_goods": ("外贸", "潮牌", "鞋服"),
    "mobile_phones": ("数码", "手机", "通讯"),
    "auto_parts": ("汽配", "车品", "汽车用品"),
    "pharmaceuticals": ("大药房", "健康", "医药"),
    "pesticides": ("农资", "植保"),
    "veterinary_drugs": ("兽药", "牧业"),
    "seeds": ("种业", "农资", "种子"),
    "fertilizer": ("农资", "肥业"),
    "other": ("百货", "好物", "生活馆", "优选"),
}

_ROADS = (
    "七一路",
    "五四大街",
    "长江路",
    "黄河路",
    "昆仑路",
    "柴达木路",
    "八一路",
    "胜利路",
    "解放路",
    "西关大街",
    "南山路",
    "夏都大街",
    "海湖大道",
    "建设路",
    "团结路",
    "民主路",
    "青年路",
    "人民路",
)
_ROADS_ELSEWHERE = (
    "中山路",
    "新华路",
    "人民路",
    "建设路",
    "解放路",
    "工业大道",
    "商贸城",
    "科技园路",
)
_TEAM_NUMBERS = "一二三四五"
_PHONE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
]

# Registered places outside Qinghai (for cross-province hand-off): code -> name.
OUT_OF_PROVINCE = {
    "440304": "深圳市福田区",
    "440306": "深圳市宝安区",
    "441900": "东莞市",
    "440106": "广州市天河区",
    "330782": "义乌市",
    "330102": "杭州市上城区",
    "350582": "晋江市",
    "350581": "石狮市",
    "620102": "兰州市城关区",
    "510107": "成都市武侯区",
    "410105": "郑州市金水区",
}


@dataclass(frozen=True)
class NameParts:
    """A business name in its parts: place prefix + trade name + industry + legal form."""

    prefix: str
    trade: str
    industry: str
    form: str

    @property
    def full(self) -> str:
        return f"{self.prefix}{self.trade}{self.industry}{self.form}"


def trade_name(rnd: random.Random, local: bool = True) -> str:
    """A two- or three-character trade name (字号); `local` allows Qinghai words like 昆仑."""
    if local and rnd.random() < 0.15:
        return rnd.choice(_LOCAL_TRADES)
    first = rnd.choice(_TRADE_FIRST)
    second = rnd.choice(_TRADE_SECOND.replace(first, ""))
    return first + second


def business_name(
    rnd: random.Random, entity_type: str, category: str, region: Region | None, outside: str | None
) -> NameParts:
    """A registered name for an entity of `entity_type` selling `category`.

    `region` is the in-province county, or None with `outside` the place name elsewhere.
    """
    company_words, shop_endings, _ = INDUSTRY[category]
    trade = trade_name(rnd, local=outside is None)
    if rnd.random() < 0.12:
        trade = rnd.choice(_SURNAMES) + "记"
    if entity_type == "company":
        if outside is not None:
            prefix = outside.split("市")[0] + "市"
        else:
            assert region is not None
            prefix = rnd.choice(("青海", "青海", region.prefecture_short, region.short))
        form = "有限公司" if rnd.random() < 0.7 else "有限责任公司"
        return NameParts(prefix, trade, rnd.choice(company_words), form)
    place = outside if outside is not None else _county_prefix(rnd, region)
    if entity_type == "cooperative":
        produce = {"seeds": "马铃薯种植", "fertilizer": "青稞种植", "veterinary_drugs": "牦牛养殖"}
        word = produce.get(category, rnd.choice(("枸杞种植", "藏羊养殖", "油菜种植")))
        return NameParts(place, trade, word, "专业合作社")
    if entity_type == "other":
        return NameParts(place, trade, rnd.choice(company_words), "服务中心")
    return NameParts(place, trade, rnd.choice(shop_endings), "")


def _county_prefix(rnd: random.Random, region: Region | None) -> str:
    assert region is not None
    if region.prefecture_code in ("630100", "630200") and rnd.random() < 0.5:
        return region.prefecture_name + region.name
    return region.name


def loose_variant(rnd: random.Random, parts: NameParts, region: Region | None) -> str:
    """The business as a complainant might write it: shortened, re-ordered or misspelled."""
    trade = parts.trade
    if rnd.random() < 0.12:
        trade = "".join(_SOUND_ALIKE.get(c, c) for c in trade)
    core = f"{trade}{parts.industry}"
    short = region.short if region is not None else parts.prefix[:2]
    options = [
        parts.full,
        core,
        f"{core}{parts.form}",
        f"{short}{core}",
        f"{core}{parts.form}（{short}）" if parts.form else f"{core}（{short}）",
        f"{short}{trade}",
        f"{parts.prefix}{core}",
    ]
    if not parts.form:
        options.append(f"{core.rstrip('店')}店")
    return rnd.choice(options)


def shop_variant(rnd: random.Random, shop_name: str, platform_zh: str) -> str:
    """A shop as a buyer refers to it in a complaint."""
    bare = re.sub(r"(官方旗舰店|旗舰店|专营店|专卖店|企业店|的小店|小店)$", "", shop_name)
    return rnd.choice(
        (
            shop_name,
            shop_name,
            bare or shop_name,
            f"{platform_zh}上的{shop_name}",
            f"{shop_name}（{platform_zh}）",
            f"{platform_zh}店铺{bare or shop_name}",
        )
    )


def shop_name(rnd: random.Random, platform: str, category: str, trade: str | None = None) -> str:
    """An online shop name; `trade` ties it to a registered trade name."""
    word = rnd.choice(SHOP_WORDS[category])
    trade = trade or trade_name(rnd)
    if platform in ("tmall", "jd"):
        return f"{trade}{word}{rnd.choice(('旗舰店', '专营店', '专卖店'))}"
    style = rnd.random()
    if style < 0.12:
        return f"{rnd.choice(_SURNAMES)}{rnd.choice('姐哥叔')}的{word}小店"
    if style < 0.2:
        return f"{rnd.choice(('高原', '青海', '西宁', '雪域'))}{word}{rnd.randint(1, 99)}号店"
    ending = rnd.choice(
        ("专营店", "的店", "小店", "优选", "企业店", "好物店", "", "批发", "官方店")
    )
    return f"{trade}{word}{ending}"


def address(rnd: random.Random, region: Region | None, outside: str | None) -> str:
    """A street address in the registered county."""
    number = rnd.randint(1, 399)
    if outside is not None:
        return f"{outside}{rnd.choice(_ROADS_ELSEWHERE)}{number}号"
    road = rnd.choice(_ROADS)
    assert region is not None
    return f"青海省{region.prefecture_name}{region.name}{road}{number}号"


def inspector_team(rnd: random.Random, region: Region) -> str:
    """The enforcement team of a county bureau, e.g. 西宁市城东区市场监管局执法一队."""
    if rnd.random() < 0.06:
        return "青海省市场监督管理局稽查局"
    prefecture = (
        f"{region.prefecture_short}州"
        if region.is_autonomous_prefecture
        else region.prefecture_name
    )
    if rnd.random() < 0.15:
        return f"{prefecture}{region.name}市场监管局综合行政执法大队"
    return f"{prefecture}{region.name}市场监管局执法{rnd.choice(_TEAM_NUMBERS[:3])}队"


def mobile_phone(rnd: random.Random) -> str:
    """An 11-digit mainland mobile number."""
    return rnd.choice(_PHONE_PREFIXES) + f"{rnd.randrange(10**8):08d}"


def id_card_number(rnd: random.Random, county: str, born_year: int) -> str:
    """An 18-digit resident ID number with a valid ISO 7064 check character."""
    month, day = rnd.randint(1, 12), rnd.randint(1, 28)
    first17 = f"{county}{born_year:04d}{month:02d}{day:02d}{rnd.randrange(1000):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def contact_hash(rnd: random.Random) -> str:
    """A platform-side hash of a seller's phone or return address (hex)."""
    return f"{rnd.getrandbits(128):032x}"
