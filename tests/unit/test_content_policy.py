"""Content screen: per-rule cases, normalisation, negation, evasion noise, and corpus precision/recall floors."""

from __future__ import annotations

import copy
import time
import tomllib
from collections import Counter
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain import content_policy
from chalicelib.domain.content_policy import CATEGORIES, CLEAN_REASON, load_rules, normalise, parse_rules, screen
from scripts.screen_report import evaluate, load_corpus, render

# Floors for the whole corpus. Measured 1.000 / 1.000 on the 239 texts after tuning (the two holdout batches
# scored 0.846/0.667 and 0.900/0.643 on their first, untuned run; see docs/decisions/0040). The floors
# leave room for two misses or two false rejections while the rules are tuned, and no more.
PRECISION_FLOOR = 0.98
RECALL_FLOOR = 0.98
PER_HARM_RECALL_FLOOR = 0.90


def screen_text(text: str, category: str = "other") -> content_policy.Verdict:
    return screen("任务", text, [], category)


def hit_ids(verdict: content_policy.Verdict) -> set[str]:
    return {h.rule_id for h in verdict.hits}


# rule id -> (category, text that must fire it, category, near-miss text in the same vein that must not fire
# it and must be allowed). Every rule in content_rules.toml needs an entry; see test_every_rule_has_cases.
RULE_CASES: dict[str, tuple[str, str, str, str]] = {
    "R-FAKE-ORDER-01": (
        "other",
        "在家兼职刷单，一单一结",
        "promotion",
        "平台严禁刷单，发现刷单一律封号。请如实完成地推打卡",
    ),
    "R-FAKE-ORDER-02": (
        "other",
        "拍下商品后确认收货，货款当天退还",
        "feedback",
        "样品寄到后请确认收货，使用一周后填写反馈表",
    ),
    "R-FAKE-ORDER-03": (
        "other",
        "下单后商家不发货，订单完成即结佣金",
        "feedback",
        "如果样品发货慢，请在反馈中写明物流时长",
    ),
    "R-FAKE-ORDER-04": (
        "other",
        "先拍下指定商品，本金和佣金当天返还",
        "mystery_shopping",
        "到店购买一杯咖啡，验收后按小票报销，上限30元",
    ),
    "R-FAKE-ORDER-05": (
        "other",
        "搜索关键词“夏季连衣裙”找到我们的店铺，浏览后拍下",
        "data_labeling",
        "输入给定的关键词，判断搜索结果是否相关，不需要购买",
    ),
    "R-FAKE-ORDER-06": (
        "mystery_shopping",
        "在天猫旗舰店购买指定洗发水，验收后全额报销",
        "mystery_shopping",
        "到线下门店购买指定洗发水，验收后按小票报销，上限50元",
    ),
    "R-PAY-FIRST-01": ("other", "领取材料前需交50元押金", "promotion", "物料由门店提供，不收押金和任何费用"),
    "R-PAY-FIRST-02": ("mystery_shopping", "需先垫付餐费，验收后返还", "app_trial", "全程免费体验，无需垫付任何费用"),
    "R-PAY-FIRST-03": ("app_trial", "注册后需先充值才能开始体验", "app_trial", "先下载App，再用手机号注册"),
    "R-PAY-FIRST-04": (
        "mystery_shopping",
        "到店前需先转账给店长作为预约金",
        "mystery_shopping",
        "先到店点单，再观察出餐速度",
    ),
    "R-PAY-FIRST-05": ("app_trial", "下载游戏后首充6元即可领取奖励", "app_trial", "下载游戏后完成6个新手关卡即可"),
    "R-PAY-FIRST-06": ("other", "接单前需要购买我们的入门课程", "feedback", "试听完全免费，不会要求购买课程"),
    "R-FAKE-REVIEW-01": (
        "app_trial",
        "体验后在应用商店给五星好评",
        "survey",
        "请为本次服务打分（1-5星），如实评价即可",
    ),
    "R-FAKE-REVIEW-02": ("other", "复制以下评论发布到商品评价区", "data_labeling", "阅读以下评论，判断情感倾向"),
    "R-FAKE-REVIEW-03": ("other", "帮店铺刷好评、删差评", "data_labeling", "标注每条评论是好评还是差评"),
    "R-FAKE-REVIEW-04": (
        "app_trial",
        "购买会员后提交订单号和评价截图",
        "mystery_shopping",
        "到店用餐后填写小票上的订单号，并提交服务评价表",
    ),
    "R-FAKE-REVIEW-05": (
        "mystery_shopping",
        "用餐后在大众点评发布一条真实评价",
        "mystery_shopping",
        "用餐后在评估表里写下真实评价",
    ),
    "R-ENGAGE-01": ("content", "新号需要涨粉，每天互粉互赞", "data_labeling", "识别评论中是否存在刷量、水军等违规行为"),
    "R-ENGAGE-02": ("content", "关注抖音账号并点赞最新视频", "content", "视频发布后保留30天，评论区置顶品牌合作说明"),
    "R-ENGAGE-03": ("other", "每天为8号选手投一票", "survey", "请在问卷中投票选出你最喜欢的包装"),
    "R-ENGAGE-04": ("other", "进入直播间挂机30分钟", "survey", "您一般在直播间停留多久？"),
    "R-ACCOUNT-01": ("other", "长期收号，抖音号快手号都要", "app_trial", "一人一号，禁止多号，禁止多开"),
    "R-ACCOUNT-02": ("app_trial", "用不同手机号注册3个账号", "app_trial", "请使用本人手机号注册一个账号"),
    "R-ACCOUNT-03": ("other", "注册后把账号和密码发给我们", "app_trial", "请勿向任何人提供验证码"),
    "R-IDENTITY-01": ("survey", "问卷结束后上传身份证正反面照片", "app_trial", "请勿上传身份证、银行卡等隐私信息"),
    "R-IDENTITY-02": ("app_trial", "下载后完成本人实名认证", "app_trial", "无需实名认证，游客模式即可体验"),
    "R-GAMBLING-01": ("promotion", "推广菠菜平台，注册送彩金", "promotion", "菜市场门口推广生鲜配送，介绍今日特价菠菜"),
    "R-GAMBLING-02": ("promotion", "在彩票站门口派发宣传单", "survey", "世界杯观赛习惯调查，不涉及竞猜"),
    "R-LENDING-01": ("other", "信用卡套现，当天到账", "mystery_shopping", "到银行网点咨询信用卡年费政策"),
    "R-LENDING-02": ("app_trial", "下载我们的贷款App并申请额度", "app_trial", "体验记账App，记录每月房租和水电"),
    "R-LENDING-03": ("promotion", "商场地推：引导顾客办理信用卡", "promotion", "商场地推：引导顾客办理会员卡"),
    "R-HIDDEN-AD-01": ("content", "发笔记时不要写广告两个字", "content", "发笔记时必须写明广告两个字"),
    "R-HIDDEN-AD-02": ("content", "伪装成自然分享，效果更好", "content", "禁止伪装成自然分享，须标注品牌合作"),
    "R-HIDDEN-AD-03": (
        "content",
        "写一篇空气炸锅使用心得发到小红书",
        "content",
        "写一篇空气炸锅使用心得发到小红书，标注品牌合作",
    ),
    "R-CONTACT-01": ("other", "详情加我微信 abc12345", "app_trial", "打开微信扫码进入小程序体验"),
    "R-CONTACT-02": ("other", "QQ 12345678 咨询", "app_trial", "体验 QQ音乐 的听歌识曲功能"),
    "R-CONTACT-03": ("other", "电话 139 0000 1111", "mystery_shopping", "拨打客服热线 400-800-1234 咨询保修政策"),
    "R-CONTACT-04": ("other", "扫码进群领取任务", "other", "社区群众文化活动志愿者，负责引导入场"),
    "R-CONTACT-05": ("other", "加入 https://t.me/jobs888", "other", "活动介绍见 https://example.com/about"),
    "R-CONTACT-06": ("other", "具体要求私聊", "other", "请勿私聊商家，所有沟通在平台内完成"),
    "R-SOFT-01": ("other", "轻松月入过万，时间自由", "other", "按件计酬，每件2元"),
    "R-SOFT-02": ("app_trial", "下载链接 https://dl.example.cn/app.apk", "app_trial", "在应用商店搜索“小账本”下载"),
    "R-SOFT-03": ("mystery_shopping", "到店消费后凭小票报销，上限30元", "mystery_shopping", "到店咨询，不需要消费"),
}


# ------------------------------------------------------------------------------------------ rule cases


def test_every_rule_has_cases() -> None:
    assert set(RULE_CASES) == set(load_rules().ids)


@pytest.mark.parametrize("rule_id", sorted(RULE_CASES))
def test_rule_fires_on_its_positive_example(rule_id: str) -> None:
    category, text, _, _ = RULE_CASES[rule_id]
    verdict = screen_text(text, category)
    assert rule_id in hit_ids(verdict), verdict
    rule = next(r for r in load_rules().rules if r.id == rule_id)
    if rule.action_for(category) == "reject":
        assert not verdict.allowed
    else:
        assert verdict.allowed and verdict.needs_review


@pytest.mark.parametrize("rule_id", sorted(RULE_CASES))
def test_rule_stays_quiet_on_its_near_miss(rule_id: str) -> None:
    _, _, category, text = RULE_CASES[rule_id]
    verdict = screen_text(text, category)
    assert rule_id not in hit_ids(verdict), verdict
    assert verdict.allowed, verdict


# ---------------------------------------------------------------------------------------- verdict shape


def test_clean_text_is_allowed_without_flags() -> None:
    verdict = screen("奶茶口味问卷", "请根据真实感受作答 10 道题", ["作答", "截图结束页"], "survey")
    assert verdict == content_policy.Verdict(True, None, CLEAN_REASON, None, False, ())


def test_reject_names_rule_fragment_and_what_to_do_in_chinese() -> None:
    verdict = screen_text("日结兼职，刷 单返佣")
    assert not verdict.allowed and not verdict.needs_review
    assert verdict.rule_id == "R-FAKE-ORDER-01"
    assert verdict.matched == "刷 单"
    assert "R-FAKE-ORDER-01" in verdict.reason and "刷 单" in verdict.reason and "请" in verdict.reason


def test_soft_rule_allows_but_flags_for_review() -> None:
    verdict = screen_text("到店消费后凭小票报销，上限30元", "mystery_shopping")
    assert verdict.allowed and verdict.needs_review
    assert verdict.rule_id == "R-SOFT-03" and verdict.flags == ("R-SOFT-03",)


def test_first_reject_rule_in_file_order_is_reported_and_all_hits_kept() -> None:
    verdict = screen_text("刷单任务，详情加微信 abc12345")
    assert verdict.rule_id == "R-FAKE-ORDER-01"
    assert {"R-FAKE-ORDER-01", "R-CONTACT-01"} <= hit_ids(verdict)


def test_review_in_downgrades_a_reject_rule_for_that_category() -> None:
    promo = screen_text("引导到店顾客扫码关注门店公众号", "promotion")
    content = screen_text("引导到店顾客扫码关注门店公众号", "content")
    assert promo.allowed and promo.needs_review and promo.rule_id == "R-ENGAGE-02"
    assert not content.allowed and content.rule_id == "R-ENGAGE-02"


def test_hit_reports_the_field_it_came_from() -> None:
    verdict = screen("App 体验", "下载注册后体验", ["下载", "在应用商店打五星"], "app_trial")
    assert verdict.hits[0].field == "steps[1]"
    proof = screen("App 体验", "下载注册后体验", ["下载"], "app_trial", proof_text="提交手持身份证照片")
    assert proof.rule_id == "R-IDENTITY-01" and proof.hits[0].field == "proof_text"


def test_matched_fragment_is_cut_from_the_original_text() -> None:
    verdict = screen_text("有意者联系 威 信：jz66888，秒回")
    assert verdict.rule_id == "R-CONTACT-01"
    assert verdict.matched == "联系 威 信"  # 威信 is read as 微信, but the merchant sees what they wrote


def test_common_listing_boilerplate_is_neither_rejected_nor_flagged() -> None:
    boilerplate = [
        "提交后24小时内审核，审核通过后佣金自动到账。",
        "请勿重复提交，一人限做一次。",
        "如有疑问请在平台内联系客服。",
        "恶意提交者将被拉黑。",
        "老用户勿接，接了也不通过。",
        "禁止使用模拟器、多开软件。",
        "如发现作弊，扣除佣金并封号。",
        "关注后可取消关注，不影响审核。",
        "请勿私下交易，谨防诈骗。",
        "下载App后用微信一键登录。",
        "奖励当天到账，可提现到微信零钱。",
        "本任务不收取任何费用。",
        "体验过程中如需付费请立即停止任务。",
        "每个手机号只能注册一次。",
        "提现秒到账。",
    ]
    for line in boilerplate:
        verdict = screen_text(line, "app_trial")
        assert verdict.allowed and not verdict.needs_review, (line, verdict)


# --------------------------------------------------------------------------------------------- negation


@pytest.mark.parametrize(
    "text",
    [
        "本平台禁止刷单",
        "刷单都是诈骗，请提高警惕",
        "不收押金、保证金、培训费",
        "全程无需垫付任何费用",
        "谨防刷单兼职诈骗",
        "本商家已缴纳平台保证金1000元，放心接单",
    ],
)
def test_negated_or_condemned_mentions_do_not_reject(text: str) -> None:
    assert screen_text(text).allowed


@pytest.mark.parametrize(
    "text",
    ["不要怕，刷单日结", "不限时间刷单返佣", "押金可退，无需担心", "刷单不违法，放心做", "接单需缴纳保证金200元"],
)
def test_negation_does_not_reach_past_its_clause_or_a_bare_adjacent_word(text: str) -> None:
    assert not screen_text(text).allowed


def test_question_context_only_neutralises_in_surveys() -> None:
    assert screen_text("您做过刷单兼职吗？", "survey").allowed
    assert not screen_text("想做刷单兼职吗？日结", "other").allowed


def test_listed_violations_after_a_description_are_not_requests() -> None:
    verdict = screen_text("判断文案是否含有违规内容，例如引导加微信、刷单返利等", "data_labeling")
    assert verdict.allowed


# ---------------------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＱＱ：１２３４５", "qq12345"),  # full width -> half width, punctuation gone
        ("刷\u200b单\u200d返\ufeff佣", "刷单返佣"),  # zero-width characters
        ("刷 · 单 🔥 返 佣", "刷单返佣"),  # spaces, punctuation, emoji
        ("刷單返傭", "刷单返佣"),  # traditional characters
        ("Shua Dan", "刷单"),
        ("sd任务", "刷单任务"),
        ("好频返现", "好评返现"),
        ("五 ⭐️ 好 评", "五星好评"),
        ("威信", "微信"),
        ("V信", "微信"),
        ("vx：abc123", "微信abc123"),
        ("➕V：abc_8888", "加微信abc8888"),
        ("扣扣群", "qq群"),
        ("菠菜平台", "博彩平台"),
        ("撸口子", "网贷"),
        ("幺三八 一二三四 五六七八", "13812345678"),
        ("ya金", "押金"),
    ],
)
def test_normalise_defeats_evasion(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("一个好平台", "一个好平台"),  # 好平 is not 好评
        ("今日特价菠菜", "今日特价菠菜"),  # the vegetable
        ("加vip会员", "加vip会员"),  # 加v only when no word follows
        ("一下五星", "一下五星"),  # short numeral runs are words, not numbers
        ("好频道", "好频道"),
        ("企鹅号发布", "企鹅号发布"),  # a content platform, not a QQ lure
    ],
)
def test_normalise_leaves_ordinary_words_alone(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


# ---------------------------------------------------------------------------------- evasion property

FORBIDDEN = [
    ("刷单返佣金", "other", "R-FAKE-ORDER"),
    ("拍下后确认收货返款", "other", "R-FAKE-ORDER"),
    ("空包代发", "other", "R-FAKE-ORDER"),
    ("五星好评返现", "other", "R-FAKE-REVIEW"),
    ("买粉涨粉", "content", "R-ENGAGE"),
    ("养号卖号", "other", "R-ACCOUNT"),
    ("菠菜平台注册送彩金", "promotion", "R-GAMBLING"),
    ("网贷秒下款", "other", "R-LENDING"),
    ("先交押金领材料", "other", "R-PAY-FIRST"),
    ("需要垫付", "mystery_shopping", "R-PAY-FIRST"),
    ("收身份证", "other", "R-IDENTITY"),
    ("手持身份证照片", "app_trial", "R-IDENTITY"),
    ("不要写广告", "content", "R-HIDDEN-AD"),
    ("加微信jz66888", "other", "R-CONTACT"),
    ("QQ群12345678", "other", "R-CONTACT"),
    ("13812345678", "other", "R-CONTACT"),
    ("私聊", "other", "R-CONTACT"),
]
# Characters the normaliser must see through: zero-width, spaces of all widths, punctuation, emoji.
NOISE = [*"\u200b\u200c\u200d\u2060\ufeff \u3000\xa0·。，,、*_-/~…|（）()【】🔥😊💰✅🎉", "\ufe0f"]


@st.composite
def noisy(draw: st.DrawFn) -> tuple[str, str, str]:
    phrase, category, prefix = draw(st.sampled_from(FORBIDDEN))
    out = []
    for i, ch in enumerate(phrase):
        if ch.isascii() and ch.isalnum() and draw(st.booleans()):
            ch = chr(ord(ch) + 0xFEE0)  # the full-width form
        out.append(ch)
        if i < len(phrase) - 1:
            out.append("".join(draw(st.lists(st.sampled_from(NOISE), max_size=3))))
    return "".join(out), category, prefix


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(noisy())
def test_noise_between_characters_of_a_forbidden_phrase_still_rejects(case: tuple[str, str, str]) -> None:
    text, category, prefix = case
    verdict = screen("兼职", text, [], category)
    assert not verdict.allowed, (text, verdict)
    assert any(h.rule_id.startswith(prefix + "-") for h in verdict.hits), (text, verdict)
    assert verdict.matched and verdict.matched in text  # the fragment shown to the merchant is their own text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.lists(st.text(max_size=40), max_size=4), st.sampled_from(CATEGORIES))
def test_screen_answers_any_text_consistently(description: str, steps: list[str], category: str) -> None:
    verdict = screen("标题", description, steps, category)
    assert verdict.allowed == (not any(h.action == "reject" for h in verdict.hits))
    if not verdict.allowed:
        assert verdict.rule_id is not None and not verdict.needs_review
    for hit in verdict.hits:
        if hit.matched is not None:
            assert any(hit.matched in f for f in [description, *steps, "标题"])


# ---------------------------------------------------------------------------------------- rules as data


def _raw_rules() -> dict:
    text = resources.files("chalicelib.domain").joinpath("content_rules.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def test_rules_are_loaded_once_and_cached() -> None:
    assert load_rules() is load_rules()


def test_shipped_rules_cover_every_harm_and_explain_themselves() -> None:
    rules = load_rules().rules
    assert all(r.reason and r.description for r in rules)
    assert {r.harm for r in rules if r.action == "reject"} == {
        "fake_order",
        "fake_review",
        "fake_engagement",
        "account_trading",
        "gambling",
        "lending",
        "pay_first",
        "identity_docs",
        "contact_lure",
        "hidden_ad",
    }


def _drop_match(data: dict) -> None:
    data["rule"][0].pop("match")
    data["rule"][0].pop("unless", None)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["rule"][0].update(id="FAKE-1"), "not of the form"),
        (lambda d: d["rule"][1].update(id=d["rule"][0]["id"]), "used twice"),
        (lambda d: d["rule"][0].update(action="block"), "action must be"),
        (lambda d: d["rule"][0].update(only_in=["shopping"]), "unknown categories"),
        (lambda d: d["rule"][0].update(match=["刷(单"]), "bad pattern"),
        (_drop_match, "needs `match`"),
        (lambda d: d["normalise"].update(char_map="單单 ab c"), "not two characters"),
    ],
)
def test_malformed_rules_are_refused_at_load(mutate, message: str) -> None:
    data = copy.deepcopy(_raw_rules())
    mutate(data)
    with pytest.raises(ValueError, match=message):
        parse_rules(data)


# --------------------------------------------------------------------------------------------- corpus


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return load_corpus()


def test_corpus_is_large_balanced_and_covers_every_category_and_harm(corpus: list[dict]) -> None:
    assert len(corpus) >= 150
    assert len({r["id"] for r in corpus}) == len(corpus)
    labels = Counter(r["label"] for r in corpus)
    assert set(labels) == {"allow", "reject"}
    assert 0.4 <= labels["allow"] / len(corpus) <= 0.6
    allowed_by_category = Counter(r["category"] for r in corpus if r["label"] == "allow")
    assert all(allowed_by_category[c] >= 5 for c in CATEGORIES), allowed_by_category
    prefixes = Counter(r["expected_rule_prefix"] for r in corpus if r["label"] == "reject")
    families = {r.id.rsplit("-", 1)[0] for r in load_rules().rules if r.action == "reject"}
    assert set(prefixes) == families
    assert all(n >= 5 for n in prefixes.values()), prefixes
    assert all(r["category"] in CATEGORIES and isinstance(r["steps"], list) for r in corpus)


def test_every_fake_order_example_in_the_corpus_is_rejected(corpus: list[dict]) -> None:
    fake_orders = [r for r in corpus if r["expected_rule_prefix"] == "R-FAKE-ORDER"]
    assert len(fake_orders) >= 20
    missed = [
        r["id"]
        for r in fake_orders
        if screen(r["title"], r["description"], r["steps"], r["category"], r.get("proof_text")).allowed
    ]
    assert missed == []


def test_corpus_precision_and_recall_hold_their_floors(corpus: list[dict]) -> None:
    report = evaluate(corpus)
    print()
    print(render(report, "content screen corpus"))
    assert report.precision >= PRECISION_FLOOR, [o.row["id"] for o in report.false_positives]
    assert report.recall >= RECALL_FLOOR, [o.row["id"] for o in report.false_negatives]
    for prefix, (hit, total) in report.recall_by_harm().items():
        assert hit / total >= PER_HARM_RECALL_FLOOR, prefix


@pytest.mark.parametrize("unit", ["1", "a", "一", "刷", "好评", "加v", "不", "，"])
def test_long_runs_of_one_character_screen_in_linear_time(unit: str) -> None:
    # A merchant controls this text. A pattern that rescans a run from every position (it happened:
    # `\d+号`) takes ~25 s here; linear patterns take well under one.
    text = unit * (50_000 // len(unit))
    started = time.perf_counter()
    screen("标题", text, [], "other")
    assert time.perf_counter() - started < 3.0
