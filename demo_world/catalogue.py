"""What is sold in the demo world: products with brand reference prices, listing titles, complaint texts."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    """A branded product and its brand reference price (CNY)."""

    category: str
    brand: str
    name: str
    ref_price: float


_PRODUCTS: dict[str, list[tuple[str, str, float]]] = {
    "mobile_phones": [
        ("华为", "Mate 60 Pro 手机 12+512G", 6499),
        ("华为", "nova 12 手机 256G", 2999),
        ("苹果", "iPhone 15 Pro Max 256G", 9999),
        ("苹果", "AirPods Pro 2 无线耳机", 1899),
        ("小米", "14 Ultra 手机 16+512G", 6499),
        ("小米", "Redmi K70 手机", 2499),
        ("OPPO", "Reno11 手机 5G", 2699),
        ("vivo", "X100 手机 5G", 3999),
        ("华为", "66W 超级快充充电器", 149),
        ("苹果", "20W USB-C 电源适配器", 149),
        ("三星", "Galaxy S24 手机", 5999),
    ],
    "auto_parts": [
        ("博世", "前刹车片 陶瓷", 380),
        ("博世", "机油滤芯", 68),
        ("米其林", "轮胎 205/55R16", 699),
        ("马牌", "轮胎 225/45R17", 799),
        ("美孚", "1号全合成机油 4L", 398),
        ("壳牌", "超凡喜力全合成机油 4L", 358),
        ("NGK", "铱金火花塞 4支装", 280),
        ("丰田", "原厂空气滤芯", 120),
        ("大众", "原厂前刹车片", 460),
        ("瓦尔塔", "汽车蓄电池 60Ah", 599),
    ],
    "pharmaceuticals": [
        ("云南白药", "气雾剂 85g+60g", 68),
        ("片仔癀", "片仔癀 3g", 760),
        ("东阿阿胶", "阿胶块 250g", 1198),
        ("999", "感冒灵颗粒 9袋", 19),
        ("同仁堂", "安宫牛黄丸 3g", 860),
        ("以岭", "连花清瘟胶囊 36粒", 28),
        ("汤臣倍健", "蛋白粉 450g", 298),
    ],
    "seeds": [
        ("先玉", "335玉米种子 2.5kg", 95),
        ("登海", "605玉米种子 2kg", 88),
        ("郑单", "958玉米种子 2kg", 65),
        ("青薯", "9号马铃薯原种 50kg", 220),
        ("青杂", "5号油菜种子 1kg", 68),
        ("昆仑", "14号青稞种子 25kg", 120),
        ("垦丰", "春小麦种子 25kg", 150),
    ],
    "pesticides": [
        ("先正达", "阿米妙收 杀菌剂 100ml", 58),
        ("拜耳", "好力克 杀菌剂 100ml", 45),
        ("杜邦", "康宽 杀虫剂 100ml", 68),
        ("诺普信", "吡虫啉 杀虫剂 200g", 25),
        ("扬农", "草甘膦 除草剂 1kg", 38),
        ("巴斯夫", "凯润 杀菌剂 100ml", 52),
    ],
    "fertilizer": [
        ("史丹利", "复合肥 50kg", 185),
        ("金正大", "复合肥 50kg", 175),
        ("云天化", "磷酸二铵 50kg", 230),
        ("中化", "尿素 50kg", 135),
        ("心连心", "尿素 50kg", 128),
        ("施可丰", "硫酸钾复合肥 40kg", 165),
    ],
    "veterinary_drugs": [
        ("瑞普", "伊维菌素注射液 100ml", 36),
        ("中牧", "阿莫西林可溶性粉 500g", 45),
        ("硕腾", "长效土霉素注射液 100ml", 78),
        ("海正动保", "阿苯达唑片 100片", 28),
        ("齐鲁动保", "氟苯尼考注射液 100ml", 42),
        ("普莱柯", "头孢噻呋钠 1g×10支", 58),
    ],
    "fuel": [
        ("中国石化", "车用尿素 10L", 79),
        ("壳牌", "燃油宝 6支装", 129),
        ("3M", "燃油系统清净剂", 89),
        ("统一", "车用尿素 10L", 69),
    ],
    "tobacco": [
        ("中华", "软中华 条装", 700),
        ("玉溪", "软玉溪 条装", 230),
        ("黄鹤楼", "1916 条装", 900),
        ("芙蓉王", "硬芙蓉王 条装", 260),
        ("利群", "新版 条装", 180),
    ],
    "agri_products": [
        ("三江源", "冬虫夏草 10g", 1980),
        ("柴达木", "黑枸杞 250g", 168),
        ("柴达木", "红枸杞 500g", 79),
        ("昆仑山", "牦牛肉干 500g", 158),
        ("玉树", "冬虫夏草 特级 5g", 1500),
    ],
    "books": [
        ("曲一线", "五年高考三年模拟 2026版", 58),
        ("人民文学出版社", "三体 全集", 168),
        ("新东方", "考研英语词汇", 45),
        ("人民教育出版社", "小学语文课本 全套", 120),
        ("中信出版社", "人类简史", 68),
        ("王后雄", "教材完全解读", 49),
    ],
    "audio_video": [
        ("周杰伦", "最伟大的作品 CD", 168),
        ("中唱", "经典老歌 CD 10碟", 99),
        ("迪士尼", "冰雪奇缘 蓝光DVD", 88),
        ("央视", "舌尖上的中国 DVD", 120),
    ],
    "software": [
        ("微软", "Windows 11 专业版 激活码", 1399),
        ("微软", "Office 2021 家庭学生版", 748),
        ("Adobe", "Photoshop 年度订阅", 888),
        ("金山", "WPS 超级会员 年卡", 179),
        ("Autodesk", "AutoCAD 2025 许可", 9800),
    ],
    "export_goods": [
        ("耐克", "Air Jordan 1 运动鞋", 1299),
        ("阿迪达斯", "Samba 板鞋", 899),
        ("加拿大鹅", "羽绒服", 8999),
        ("北面", "冲锋衣", 1999),
        ("优衣库", "摇粒绒外套", 299),
        ("路易威登", "Neverfull 手提包", 15000),
    ],
    "other": [
        ("茅台", "飞天53度 500ml", 2699),
        ("五粮液", "第八代 52度 500ml", 1099),
        ("雅诗兰黛", "小棕瓶精华 50ml", 790),
        ("兰蔻", "小黑瓶精华 50ml", 1080),
        ("SK-II", "神仙水 230ml", 1540),
        ("戴森", "吹风机 HD15", 2999),
    ],
}

PRODUCTS: dict[str, tuple[Product, ...]] = {
    cat: tuple(Product(cat, brand, name, float(price)) for brand, name, price in items)
    for cat, items in _PRODUCTS.items()
}
ONLINE_CATEGORIES = tuple(c for c in PRODUCTS if c != "tobacco")  # cigarettes are not sold online

SLANG = ("高仿", "原单", "1:1", "A货", "复刻", "精仿", "超A", "工厂货")
_HONEST_TAGS = (
    "官方正品",
    "正品保障",
    "顺丰包邮",
    "全国联保",
    "现货速发",
    "2026新款",
    "",
    "",
    "包邮",
)
_COUNTERFEIT_TAGS = ("包邮", "现货", "专柜品质", "正品", "", "支持验货", "爆款")


def listing_title(rnd: random.Random, product: Product, style: str, slang: bool) -> str:
    """A listing title for `product` sold in `style` (honest, counterfeit, aftermarket, ...)."""
    base = f"{product.brand}{product.name}"
    if style == "counterfeit":
        if slang:
            words = rnd.sample(SLANG, 2)
            return rnd.choice(
                (
                    f"{words[0]} {base} {words[1]}",
                    f"{base} {words[0]} {rnd.choice(_COUNTERFEIT_TAGS)}",
                )
            )
        return f"{base} {rnd.choice(_COUNTERFEIT_TAGS)}".strip()
    if style == "aftermarket":
        word = rnd.choice(("适用于", "兼容"))
        return f"{word}{base} {rnd.choice(('副厂', '副厂件 高品质', '替换件', '非原装'))}"
    if style == "clearance":
        return rnd.choice(
            (f"清仓特价 {base} 临期", f"【临期清仓】{base}", f"{base} 清仓处理 效期至2026年9月")
        )
    if style == "secondhand":
        return f"{rnd.choice(('闲置', '二手', '自用'))} {base} {rnd.choice(('95新', '9成新', '几乎全新'))}"
    if style == "wholesale":
        return f"{base} 批发 {rnd.choice(('一件代发', '厂家直供', '量大从优'))}"
    if style == "flagship":
        return f"【官方旗舰】{base} {rnd.choice(('官方正品', '全国联保', '顺丰包邮'))}"
    return f"{base} {rnd.choice(_HONEST_TAGS)}".strip()


# Complaint texts. Slots: {subject} {brand} {product} {amount} {platform} {date}.
_COUNTERFEIT_ONLINE = (
    "我于{date}在{platform}店铺“{subject}”购买了{brand}{product}，价格{amount}元，收到货后发现做工粗糙，与官方正品对比明显不同，怀疑是假冒产品，要求商家退款并请监管部门查处。",
    "在{platform}上买的{brand}{product}，防伪码查询显示无此编码，客服不予理会，请求核查该店铺是否销售假货。",
    "{subject}销售的{brand}{product}价格远低于市场价，收到后包装印刷模糊，序列号官网查不到，疑似假货。",
)
_COUNTERFEIT_OFFLINE = {
    "seeds": "今年在{subject}买的{brand}{product}，播种后出苗率不到三成，怀疑是套牌假种子，损失严重，请求调查。",
    "fuel": "{date}在{subject}加的油，车辆随后动力不足、发动机故障灯亮，怀疑油品不合格，请求抽检该站油品。",
    "veterinary_drugs": "从{subject}购买的{brand}{product}给牛羊用后没有效果，还死了几只羊，怀疑是假兽药，请求查处。",
    "pesticides": "在{subject}买的{brand}{product}喷洒后完全没有效果，病虫害越来越重，怀疑有效成分不足，请求检测。",
    "fertilizer": "{subject}卖的{brand}{product}养分含量明显不足，庄稼长势差，怀疑是假化肥，请求查处。",
    "tobacco": "在{subject}买的{brand}{product}，抽起来味道不对，包装与正品有差异，怀疑是假烟。",
    "pharmaceuticals": "{subject}销售的{brand}{product}包装批号可疑，效果与以往不同，怀疑是假药，请求查处。",
    "mobile_phones": "在{subject}购买的{brand}{product}，开机后发现是翻新机，IMEI查询不符，要求查处。",
    "auto_parts": "{subject}给我更换的{brand}{product}，不到一个月就出问题，4S店说不是原厂件，商家却宣称正品。",
    "books": "{subject}销售盗版{brand}{product}，印刷质量差、错字多，涉嫌侵犯著作权。",
    "audio_video": "{subject}销售的{brand}{product}是盗版光盘，画质模糊，涉嫌侵犯著作权。",
    "software": "从{subject}购买的{brand}{product}激活后很快失效，疑似盗版密钥。",
    "agri_products": "在{subject}购买的{product}，标称{brand}产地，经鉴定并非该产地产品，涉嫌伪造产地。",
    "export_goods": "在{subject}买的{brand}{product}与正品差距很大，做工粗糙、标识错误，怀疑是假冒商标产品。",
    "other": "在{subject}买的{brand}{product}与专柜正品不符，怀疑是假冒产品，要求查处。",
}
_ORDINARY = (
    "{subject}销售的{product}有质量问题，商家拒绝退换，请求调解。",
    "在{subject}购买的{brand}{product}与宣传描述不符，涉嫌虚假宣传。",
    "{subject}的{product}价格标示不清，结账时多收费用。",
    "收到的{brand}{product}有破损，联系{subject}多次无人处理。",
    "{subject}无证经营，销售来源不明的{product}，请求核查。",
    "购买的{product}过期，{subject}仍在销售，请求查处。",
)
_UNKNOWN_SUBJECT = (
    "在集市上从流动摊贩处购买的{brand}{product}，疑似假冒，摊主已离开，请求排查。",
    "村里有人挨家挨户推销{brand}{product}，价格很低，怀疑是假货。",
    "微信群里有人低价出售{brand}{product}，怀疑是假冒产品。",
)
PROFESSIONAL_TEMPLATE = (
    "举报：{subject}销售的{brand}{product}标签标识不符合国家标准GB 7718的规定，"
    "涉嫌违反《中华人民共和国产品质量法》第二十七条，请依法查处并按规定给予举报奖励。举报人保留追究权利。"
)


def complaint_text(rnd: random.Random, kind: str, category: str, online: bool, **slots: str) -> str:
    """A complaint description: `kind` is counterfeit, ordinary or unknown_subject."""
    if kind == "unknown_subject":
        template = rnd.choice(_UNKNOWN_SUBJECT)
    elif kind == "counterfeit" and online and rnd.random() < 0.7:
        template = rnd.choice(_COUNTERFEIT_ONLINE)
    elif kind == "counterfeit":
        template = _COUNTERFEIT_OFFLINE[category]
    else:
        template = rnd.choice(_ORDINARY)
    return template.format(**slots)


INFRINGEMENT_BY_CATEGORY = {
    "seeds": ("counterfeit_trademark", "substandard_quality", "substandard_quality"),
    "fuel": ("substandard_quality",),
    "veterinary_drugs": ("substandard_quality", "counterfeit_trademark", "unlicensed"),
    "pesticides": ("substandard_quality", "counterfeit_trademark"),
    "fertilizer": ("substandard_quality", "counterfeit_trademark"),
    "tobacco": ("counterfeit_trademark",),
    "pharmaceuticals": ("counterfeit_trademark", "substandard_quality", "unlicensed"),
    "mobile_phones": ("counterfeit_trademark",),
    "auto_parts": ("counterfeit_trademark", "counterfeit_trademark", "patent"),
    "books": ("copyright",),
    "audio_video": ("copyright",),
    "software": ("copyright",),
    "agri_products": ("fake_origin", "fake_origin", "counterfeit_trademark"),
    "export_goods": ("counterfeit_trademark",),
    "other": ("counterfeit_trademark", "counterfeit_trademark", "substandard_quality"),
}
