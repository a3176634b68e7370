"""Names from anywhere in China: national region prefixes, and the trade-name stem of shops.

The real-style names below are written after public business names (spot-check notices list
the producer and the seller as registered) and brand stores as platforms show them.
"""

from __future__ import annotations

import pytest

from transforms.names import (
    admin_short_form,
    business_stem,
    normalize_name,
    region_prefixes,
    trade_stem,
)


@pytest.mark.parametrize(
    ("full", "short"),
    [
        ("陕西省", "陕西"),
        ("唐山市", "唐山"),
        ("内蒙古自治区", "内蒙古"),
        ("广西壮族自治区", "广西"),
        ("延边朝鲜族自治州", "延边"),
        ("海西蒙古族藏族自治州", "海西"),
        ("大兴安岭地区", "大兴安岭"),
        ("阿拉善盟", "阿拉善"),
        ("新疆维吾尔自治区", "新疆"),
        ("伊犁哈萨克自治州", "伊犁"),
        ("博尔塔拉蒙古自治州", "博尔塔拉"),
        ("市", None),
    ],
)
def test_admin_short_form(full: str, short: str | None) -> None:
    assert admin_short_form(full) == short


def test_every_province_and_prefecture_of_the_country_is_a_prefix() -> None:
    prefixes = set(region_prefixes())
    for name in ("北京", "重庆", "河北省", "唐山", "义乌市", "海淀区", "格尔木", "化隆", "晋江市"):
        assert name in prefixes, name
    assert len(prefixes) > 3000  # the national table, not a hand list
    # a county's short form outside Qinghai is an ordinary trade name, not a prefix
    assert "永康" not in prefixes and "福安" not in prefixes


@pytest.mark.parametrize(
    ("name", "norm"),
    [
        # real-style registered names from outside Qinghai: the place goes, the business stays
        ("重庆仕益产品质量检测有限责任公司", "仕益产品质量检测"),
        ("唐山兴澳食品有限公司", "兴澳食品"),
        ("陕西白象食品有限公司", "白象食品"),
        ("河南省漯河市双汇实业集团有限责任公司", "双汇实业集团"),
        ("广东美的制冷设备有限公司", "美的制冷设备"),
        ("浙江五芳斋实业股份有限公司", "五芳斋实业"),
        ("贵州茅台酒股份有限公司", "贵州茅台酒"),  # too little left after 贵州: kept
        ("内蒙古伊利实业集团股份有限公司", "伊利实业集团"),
        ("内蒙古蒙牛乳业（集团）股份有限公司", "蒙牛乳业集团"),
        ("北京三元食品股份有限公司", "三元食品"),
        ("上海冠生园食品有限公司", "冠生园食品"),
        ("杭州娃哈哈集团有限公司", "娃哈哈集团"),
        ("深圳市腾讯计算机系统有限公司", "腾讯计算机系统"),
        ("新疆天润乳业股份有限公司", "天润乳业"),
        ("广西南宁皇氏甲天下乳业股份有限公司", "皇氏甲天下乳业"),
        ("福建省晋江市恒安卫生材料有限公司", "恒安卫生材料"),
        ("义乌市鸿发饰品商行", "鸿发饰品"),
        ("北京市海淀区中关村鑫源电子经营部", "中关村鑫源电子"),
        # a place name that is the trade name itself stays, when only an industry word follows
        ("金华火腿", "金华火腿"),
        ("安康大药房", "安康大药房"),
        ("永康五金商行", "永康五金"),
        ("金华汽车用品有限公司", "金华汽车用品"),
        # Qinghai as before
        ("湟中区 绿丰种业经营部", "绿丰种业"),
        ("化隆鑫源商行", "鑫源"),
    ],
)
def test_normalize_names_from_anywhere_in_china(name: str, norm: str) -> None:
    assert normalize_name(name) == norm


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        # numbering
        ("兴湖药店1店", "兴湖"),
        ("兴湖药店2店", "兴湖"),
        ("鑫源汽配第3店", "鑫源"),
        ("高原数码12号店", "高原"),
        ("佳美农资三分店", "佳美"),
        # shop boilerplate and category words, stacked, at either end
        ("昌湟优选", "昌湟"),
        ("昌湟正版直营", "昌湟"),
        ("佳富优选", "佳富"),
        ("瑞佳富小铺", "瑞佳富"),
        ("宇美车品的店", "宇美"),
        ("三江手机好物店（快手）", "三江"),
        ("官方正品鑫隆汽配", "鑫隆"),
        # platform words anywhere, region prefixes, legal forms
        ("拼多多鑫隆汽配专营店", "鑫隆"),
        ("淘宝网西宁鑫隆数码", "鑫隆"),
        ("青海鑫隆汽车用品有限公司", "鑫隆"),
        # Latin script folded: full-width, case, spaces
        ("ＢＯＤＹ ＡＩＤ旗舰店", "bodyaid"),
        ("Vivo 官方旗舰店", "vivo"),
        # nothing is stripped that would leave less than two characters
        ("好物优选", "好物"),
        ("旗舰店", "旗舰"),
        ("店", None),
        (None, None),
    ],
)
def test_trade_stem(name: str | None, stem: str | None) -> None:
    assert trade_stem(name) == stem


# Real-style storefronts of sellers who run several shops (brand stores on several platforms):
# each group must come to one stem.
MULTI_STORE_SELLERS = [
    ("BodyAid博滴旗舰店", "拼多多BODYAID家居生活旗舰店"),
    ("小米官方旗舰店", "小米京东自营旗舰店", "小米拼多多官方旗舰店"),
    ("华为官方旗舰店", "华为京东自营官方旗舰店"),
    ("三只松鼠旗舰店", "三只松鼠京东自营旗舰店", "三只松鼠官方旗舰店（拼多多）"),
    ("良品铺子官方旗舰店", "良品铺子京东自营旗舰店"),
    ("百草味官方旗舰店", "百草味京东自营旗舰店"),
    ("vivo官方旗舰店", "VIVO京东自营官方旗舰店"),
    ("OPPO官方旗舰店", "oppo京东自营官方旗舰店"),
    ("美的官方旗舰店", "美的京东自营旗舰店", "美的电器拼多多官方旗舰店"),
    ("格力官方旗舰店", "格力京东自营旗舰店"),
    ("海尔官方旗舰店", "海尔京东自营旗舰店"),
    ("李宁官方旗舰店", "李宁京东自营旗舰店", "李宁抖音官方旗舰店"),
    ("五粮液官方旗舰店", "五粮液京东自营旗舰店"),
    ("九阳官方旗舰店", "九阳京东自营旗舰店"),
    ("老板电器官方旗舰店", "老板京东自营旗舰店"),
    ("蒙牛官方旗舰店", "蒙牛京东自营旗舰店", "蒙牛乳业旗舰店"),
    ("伊利官方旗舰店", "伊利京东自营旗舰店"),
    ("洽洽食品官方旗舰店", "洽洽京东自营旗舰店"),
    ("云南白药官方旗舰店", "云南白药大药房旗舰店"),
    ("同仁堂官方旗舰店", "同仁堂大药房旗舰店", "同仁堂健康京东自营旗舰店"),
    ("Anker安克官方旗舰店", "ANKER京东自营旗舰店"),
    ("兴湖药店1店", "兴湖药店2店", "兴湖大药房"),
]


@pytest.mark.parametrize("names", MULTI_STORE_SELLERS, ids=lambda names: names[0])
def test_one_seller_several_storefronts_one_stem(names: tuple[str, ...]) -> None:
    assert len({trade_stem(n) for n in names}) == 1, [trade_stem(n) for n in names]


def test_different_sellers_keep_different_stems() -> None:
    stems = [trade_stem(group[0]) for group in MULTI_STORE_SELLERS]
    assert len(set(stems)) == len(stems)


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        # region + trade name + industry + legal form (企业名称登记管理规定)
        ("西宁市兴湖药店有限公司", "兴湖"),
        ("城东区兴湖农资经营部", "兴湖"),
        ("湟中区兴湖医药有限公司", "兴湖"),
        ("海东市昌湟汽车配件有限公司", "昌湟"),
        ("化隆县佳富通讯器材经营部", "佳富"),
        ("格尔木市鑫源石化有限公司", "鑫源"),
        ("西宁城北瑞丰烟酒店", "瑞丰"),
        ("青海绿丰种业有限公司", "绿丰"),
        ("大通县天信动物保健经营部", "天信"),
        ("乐都区恒源盛手机维修部", "恒源盛"),
        ("唐山兴澳食品有限公司", "兴澳"),
        ("华为技术有限公司", "华为"),
        ("青海兴安农业科技有限公司", "兴安"),  # 兴安 (盟) elsewhere: a trade name here
        ("西宁市药店", None),  # nothing but region and industry: no trade name
        (None, None),
    ],
)
def test_business_stem(name: str | None, stem: str | None) -> None:
    assert business_stem(name) == stem


def test_a_business_and_its_storefronts_share_a_stem() -> None:
    business = business_stem("西宁市城西区兴湖药店有限公司")
    assert business == trade_stem("兴湖药店1店") == trade_stem("兴湖正版直营")
    assert business != trade_stem("兴华大药房")
