"""The nine sheets of a submission batch (docs/inputs.md §1): headers, keys and cell kinds.

Each `Column` says what operators type (the Chinese header), what code and CSVs use (the key), and how a cell
is read (`kind`). `schemas.validation` turns each sheet spec into its pandera schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from rules.labels import (
    ACQUISITIONS,
    CAPACITY_SOURCES,
    IP_KINDS,
    LEVELS,
    PROCESSES,
    RECOGNITION_TYPES,
    ROLES,
    STANDARD_LEVELS,
)

# Limits declared once, applied alike on every backend: intake refuses a cell beyond them (a row rejection), so
# no value reaches a table that PostgreSQL would refuse and SQLite would quietly accept. schemas/tables.py sizes
# its columns from these.
ID_MAX_LENGTH = 100
"""Application ids and every code or number typed into a submission (项目编号, 标准编号, 登记号, 文号 …)."""
NAME_MAX_LENGTH = 200
"""Names (企业名称, 项目名称, 贷款机构)."""
TEXT_MAX_LENGTH = 2000
"""Free text an official writes (审核意见) and the explanations our own review workbook shows beside it."""
AWARD_KEY_MAX_LENGTH = 200
"""Award keys are `PROGRAM:credit code:code` at most: 28 + 1 + 18 + 1 + ID_MAX_LENGTH < 200."""
MAX_YUAN = Decimal("999999999999.99")
"""The largest amount NUMERIC(14,2) holds: the bound of every yuan figure."""
MAX_WAN = Decimal("99999999.99")
"""The largest 万元 amount: times 10,000 it is still a yuan figure within MAX_YUAN (about 10^12 yuan)."""
MAX_QUANTITY = Decimal("1000000000000")
"""Tonnes, tce, kWh/t, percentages: 10^12 is far beyond any real plant and within exact arithmetic."""

# Limits of a workbook, checked before and while it is streamed, so that no file costs more than bounded memory.
MAX_WORKBOOK_BYTES = 200 * 1024 * 1024
"""Sum of the zip's declared uncompressed sizes (the real template with 100,000 rows is ~40 MB)."""
MAX_WORKBOOK_PARTS = 10_000
MAX_SHEET_ROWS = 100_000
"""Excel row number of the last non-empty row of a sheet."""
MAX_SHEET_COLUMNS = 100
"""Column number of the last non-empty cell of a row (the widest template sheet has 14 columns)."""

LEAGUE_CITIES = (
    "呼和浩特市", "包头市", "乌海市", "赤峰市", "通辽市", "鄂尔多斯市",
    "呼伦贝尔市", "巴彦淖尔市", "乌兰察布市", "兴安盟", "锡林郭勒盟", "阿拉善盟",
)  # fmt: skip

# Enumerations: key -> Chinese label. Both are accepted in a cell; the key is stored. The policy's vocabulary is
# rules.labels (the rules name things with it too); the grades and cities are the sheets' own.
ENV_GRADES = {"A": "A", "B": "B", "B-": "B-", "C": "C", "D": "D"}
TAX_GRADES = {"A": "A", "B": "B", "M": "M", "C": "C", "D": "D"}
CITY_ENUM = {c: c for c in LEAGUE_CITIES}

# Programs about one project: their applications must carry a 项目编号 (docs/inputs.md §1, 申报 sheet), which is
# also the one-time award object of docs/policy.md.
PROJECT_PROGRAMS = frozenset({
    "FLYASH_ALUMINA_INTEREST", "DEEP_PROCESSING_INTEREST", "RECYCLED_PROCESSING_INTEREST", "EQUIPMENT_UPGRADE",
    "ENERGY_SAVING", "WATER_SAVING", "IP_COMMERCIALIZATION", "ALUMINA_PROJECT_GATE", "SMELTER_PROJECT_GATE",
})  # fmt: skip


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str  # text | credit_code | program | date | decimal | bool | enum | meter_ids
    required: bool = False
    enum: dict[str, str] | None = None
    min_value: str | None = None  # decimal bounds as text, inclusive unless *_exclusive
    max_value: str | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    max_length: int = ID_MAX_LENGTH  # text and meter-id cells

    @property
    def limit(self) -> Decimal | None:
        """The system's bound of a decimal column (above any policy bound): 万元, yuan, or a quantity."""
        if self.kind != "decimal":
            return None
        if "万元" in self.header:
            return MAX_WAN
        return MAX_YUAN if "元" in self.header else MAX_QUANTITY


@dataclass(frozen=True)
class Sheet:
    key: str
    name: str
    columns: tuple[Column, ...]
    # Columns whose values must be unique within a batch (together).
    unique: tuple[str, ...] = ()
    # Detail sheets point at an application of the same batch.
    detail: bool = True
    programs: tuple[str, ...] = field(default=())

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


def _app_id() -> Column:
    return Column("application_id", "申报编号", "text", required=True)


ENTERPRISES = Sheet("enterprises", "企业", (
    Column("credit_code", "统一社会信用代码", "credit_code", required=True),
    Column("name", "企业名称", "text", required=True, max_length=NAME_MAX_LENGTH),
    Column("league_city", "所属盟市", "enum", required=True, enum=CITY_ENUM),
    Column("tax_credit_grade", "纳税信用级别", "enum", enum=TAX_GRADES),
), unique=("credit_code",), detail=False)  # fmt: skip

APPLICATIONS = Sheet("applications", "申报", (
    _app_id(),
    Column("credit_code", "统一社会信用代码", "credit_code", required=True),
    Column("program", "申报类别", "program", required=True),
    Column("project_code", "项目编号", "text"),
    Column("project_name", "项目名称", "text", max_length=NAME_MAX_LENGTH),
    Column("submitted_on", "申报日期", "date", required=True),
    Column("construction_start", "开工日期", "date"),
    Column("completion_date", "竣工日期", "date"),
    Column("production_start", "投产日期", "date"),
    Column("total_investment_wan", "项目总投资(万元)", "decimal", min_value="0"),
    Column("equipment_investment_wan", "设备投资额(万元)", "decimal", min_value="0"),
    Column("completed_investment_wan", "实际完成投资额(万元)", "decimal", min_value="0"),
    Column("product_price_yuan_per_t", "产品单价(元/吨)", "decimal", min_value="0", min_exclusive=True),
    Column("reference_price_yuan_per_t", "参照铝价(元/吨)", "decimal", min_value="0", min_exclusive=True),
), unique=("application_id",), detail=False)  # fmt: skip

LOANS = Sheet("loans", "贷款", (
    _app_id(),
    Column("loan_contract_no", "贷款合同编号", "text", required=True),
    Column("lender", "贷款机构", "text", required=True, max_length=NAME_MAX_LENGTH),
    Column("principal_wan", "贷款金额(万元)", "decimal", required=True, min_value="0", min_exclusive=True),
    Column("annual_rate_pct", "年利率(%)", "decimal", required=True, min_value="0", max_value="24",
           min_exclusive=True, max_exclusive=True),
    Column("drawdown_date", "放款日期", "date", required=True),
    Column("repaid_date", "还款日期", "date"),
    Column("interest_paid_wan", "建设期实付利息(万元)", "decimal", required=True, min_value="0"),
), unique=("application_id", "loan_contract_no"),
   programs=("FLYASH_ALUMINA_INTEREST", "DEEP_PROCESSING_INTEREST", "RECYCLED_PROCESSING_INTEREST"))  # fmt: skip

RECOGNITIONS = Sheet("recognitions", "认定", (
    _app_id(),
    Column("recognition_type", "认定类型", "enum", required=True, enum=RECOGNITION_TYPES),
    Column("level", "认定级别", "enum", required=True, enum=LEVELS),
    Column("recognized_on", "认定日期", "date", required=True),
    Column("document_no", "认定文号", "text"),
), unique=("application_id", "recognition_type", "level"),
   programs=("GREEN_MANUFACTURING", "SINGLE_CHAMPION", "QUALITY_SME", "FIRST_BATCH", "SCI_TECH_PROJECT"))  # fmt: skip

STANDARDS = Sheet("standards", "标准", (
    _app_id(),
    Column("standard_code", "标准编号", "text", required=True),
    Column("standard_level", "标准级别", "enum", required=True, enum=STANDARD_LEVELS),
    Column("role", "参与方式", "enum", required=True, enum=ROLES),
    Column("published_on", "发布日期", "date", required=True),
), unique=("application_id", "standard_code"), programs=("STANDARD_SETTING",))  # fmt: skip

IP_ASSETS = Sheet("ip_assets", "知识产权", (
    _app_id(),
    Column("ip_kind", "成果类型", "enum", required=True, enum=IP_KINDS),
    Column("ip_number", "登记号", "text", required=True),
    Column("acquisition", "取得方式", "enum", required=True, enum=ACQUISITIONS),
    Column("granted_on", "授权日期", "date", required=True),
), unique=("application_id", "ip_number"), programs=("IP_COMMERCIALIZATION",))  # fmt: skip

SAVINGS_CLAIMS = Sheet("savings_claims", "节能节水", (
    _app_id(),
    Column("claimed_saving", "申报节约量", "decimal", required=True, min_value="0", min_exclusive=True),
    Column("baseline_start", "基期开始", "date", required=True),
    Column("baseline_end", "基期结束", "date", required=True),
    Column("reporting_start", "报告期开始", "date", required=True),
    Column("reporting_end", "报告期结束", "date", required=True),
    Column("meter_ids", "计量点", "meter_ids", required=True),
    Column("baseline_output_t", "基期产量(吨)", "decimal", required=False, min_value="0", min_exclusive=True),
    Column("reporting_output_t", "报告期产量(吨)", "decimal", required=False, min_value="0", min_exclusive=True),
), unique=("application_id",), programs=("ENERGY_SAVING", "WATER_SAVING"))  # fmt: skip

GATE_METRICS = Sheet("gate_metrics", "合规指标", (
    _app_id(),
    Column("process", "工艺", "enum", required=True, enum=PROCESSES),
    Column("unit_energy", "单位产品能耗", "decimal", required=True, min_value="0", min_exclusive=True),
    Column("renewable_share_pct", "可再生能源比例(%)", "decimal", min_value="0", max_value="100"),
    Column("environmental_grade", "环保绩效等级", "enum", enum=ENV_GRADES),
    Column("capacity_source", "产能来源", "enum", enum=CAPACITY_SOURCES),
    Column("paired_project_code", "配套深加工项目编号", "text"),
    Column("meets_industry_norms", "符合规范条件", "bool", required=True),
    Column("advanced_equipment", "主要设备能效先进", "bool"),
    Column("catalog_allowed", "工艺装备符合指导目录", "bool", required=True),
), unique=("application_id",), programs=("ALUMINA_PROJECT_GATE", "SMELTER_PROJECT_GATE"))  # fmt: skip

VAT_CLAIMS = Sheet("vat_claims", "增值税", (
    _app_id(),
    Column("period_start", "所属期起", "date", required=True),
    Column("period_end", "所属期止", "date", required=True),
    Column("sales_wan", "综合利用产品销售额(万元)", "decimal", required=True, min_value="0"),
    Column("vat_paid_wan", "已缴增值税(万元)", "decimal", required=True, min_value="0"),
    Column("waste_feed_share_pct", "废弃物原料占比(%)", "decimal", required=True, min_value="0", max_value="100"),
    Column("serious_violation_6m", "近6个月重大违法", "bool", required=True),
    Column("restricted_or_eliminated", "属限制或淘汰类", "bool", required=True),
), unique=("application_id", "period_start"), programs=("FLYASH_ALUMINA_VAT", "RECYCLED_VAT"))  # fmt: skip

SHEETS: tuple[Sheet, ...] = (
    ENTERPRISES,
    APPLICATIONS,
    LOANS,
    RECOGNITIONS,
    STANDARDS,
    IP_ASSETS,
    SAVINGS_CLAIMS,
    GATE_METRICS,
    VAT_CLAIMS,
)
# 审核结论 (docs/inputs.md §3): the departments' review determinations, read from the inbox's `审核/` folder only.
# Not a submission sheet: a 审核结论 worksheet inside an enterprise batch is an unknown sheet there.
REVIEW_FOLDER = "审核"
# The ten departments of rules.catalog.DEPARTMENTS (schemas do not import rules; a test keeps them equal).
DEPARTMENTS = (
    "工信厅", "发展改革委", "财政厅", "商务厅", "税务局", "能源局", "生态环境厅", "科技厅", "市场监督管理局", "新闻出版局",
)  # fmt: skip
OUTCOMES = {"approve": "通过", "reject": "不通过"}
REVIEWS = Sheet("reviews", "审核结论", (
    _app_id(),
    Column("outcome", "审核结论", "enum", required=True, enum=OUTCOMES),
    Column("determined_value", "核定值", "decimal", min_value="0"),
    Column("opinion", "审核意见", "text", max_length=TEXT_MAX_LENGTH),
    Column("department", "审核单位", "enum", required=True, enum={d: d for d in DEPARTMENTS}),
    Column("reviewer", "审核人", "text", required=True),
    Column("reviewed_on", "审核日期", "date", required=True),
    Column("document_no", "审核文号", "text", required=True),
    # What the generated review workbook shows the official beside the cells to fill; read, never used.
    Column("enterprise_name", "企业名称", "text", max_length=NAME_MAX_LENGTH),
    Column("project_code", "项目编号", "text"),
    Column("project_name", "项目名称", "text", max_length=NAME_MAX_LENGTH),
    Column("program_name", "申报类别", "text", max_length=NAME_MAX_LENGTH),
    Column("pending_reason", "待审核原因", "text", max_length=TEXT_MAX_LENGTH),
    Column("rule_figures", "规则所用数值", "text", max_length=TEXT_MAX_LENGTH),
    Column("pending_since", "待审核起始日", "text"),
), detail=False)  # fmt: skip
# The columns an official fills in; a row with none of them filled is a pending application left for later.
REVIEW_INPUTS = ("outcome", "determined_value", "opinion", "reviewer", "reviewed_on", "document_no")

BY_KEY = {s.key: s for s in (*SHEETS, REVIEWS)}
BY_NAME = {s.name: s for s in SHEETS}

# Provenance columns every parsed frame carries, so a failure points at the cell an operator can fix.
FILE, SHEET, ROW = "_file", "_sheet", "_row"
