"""Compliance gates for new capacity: 一(3) ALUMINA_PROJECT_GATE and 二(1-2) SMELTER_PROJECT_GATE. No money.

一(3) ALUMINA_PROJECT_GATE:
> 新建（改建、扩建）氧化铝项目，应符合国家氧化铝项目投资建设有关规定，满足铝行业规范条件，能效达到行业标杆水平，
> 工艺技术装备符合《产业结构调整指导目录》。（责任单位：自治区发展改革委、工信厅、生态环境厅）

二(1-2) SMELTER_PROJECT_GATE:
> 新建电解铝项目，可再生能源使用比例不低于 50%。承接区外电解铝产能，须配套建设铝深加工项目。（责任单位：自治区
> 工信厅、能源局、发展改革委）
> 新建（改建、扩建）电解铝项目，应满足铝行业规范条件，能效达到行业标杆水平，环保绩效达到 A 级，主要用能设备须达到
> 能效先进水平。（责任单位：自治区发展改革委、工信厅、生态环境厅）

Readings: 不低于 and 达到 include the number itself. The alumina benchmark depends on the process (parameters,
*assumption* GB 21346-2022 grade 1). The sheet does not say whether a smelter is new or expanded, so the 50 %
renewable share is required of every smelter project assessed (*assumption*). A transferred capacity's paired
project (须配套建设铝深加工项目) must be a deep-processing project submitted in this evaluation, so its own
application can be checked: a `DEEP_PROCESSING_INTEREST` application naming that project code — not the smelter
itself, not an equipment, savings or any other project. Conditions cite their own paragraph: the renewable share
and the paired project 二(1), the norms, benchmark, A grade and equipment 二(2).
"""

from __future__ import annotations

from decimal import Decimal

from rules.context import Context
from rules.decision import Decision, Outcome
from rules.labels import PROCESSES
from rules.model import Application, GateMetrics
from rules.parameters import declare
from rules.projects import project_code
from rules.trail import Trail

DEEP_PROCESSING = "DEEP_PROCESSING_INTEREST"  # 三(1): the only program whose project is 铝深加工

PARAMETERS = declare(
    "alumina_project_gate.max_unit_energy.bayer",
    "alumina_project_gate.max_unit_energy.other",
    "smelter_project_gate.max_unit_energy",
    "smelter_project_gate.min_renewable_share_pct",
    "smelter_project_gate.required_environmental_grade",
)


def evaluate_alumina(app: Application, ctx: Context) -> Decision:
    t, m = _assessed(app, ctx, "ALUMINA_PROJECT_GATE")
    if m is None:
        return t.decide(Outcome.NON_COMPLIANT)
    if m.process not in ("bayer", "other"):
        t.check(
            "PROCESS_NOT_ALUMINA",
            False,
            f"工艺为{PROCESSES.get(m.process, m.process)}，氧化铝项目应填写拜耳法或其他",
            process=m.process,
        )
    else:
        limit = t.param(f"alumina_project_gate.max_unit_energy.{m.process}")
        _benchmark(t, m, limit, f"{PROCESSES[m.process]}工艺单位产品综合能耗", "kgce/t")
    _industry_norms(t, m)
    t.check(
        "CATALOG_NOT_ALLOWED",
        m.catalog_allowed,
        "工艺技术装备" + ("符合" if m.catalog_allowed else "不符合") + "《产业结构调整指导目录》",
        catalog_allowed=m.catalog_allowed,
    )
    return t.decide(Outcome.NON_COMPLIANT if t.failed else Outcome.COMPLIANT)


def evaluate_smelter(app: Application, ctx: Context) -> Decision:
    t, m = _assessed(app, ctx, "SMELTER_PROJECT_GATE")
    if m is None:
        return t.decide(Outcome.NON_COMPLIANT)
    with t.paragraph("二(1)"):
        _renewable_share(t, m)
        if m.capacity_source == "transferred":
            _paired_project(t, m)
    with t.paragraph("二(2)"):
        _smelter_efficiency(t, m)
    return t.decide(Outcome.NON_COMPLIANT if t.failed else Outcome.COMPLIANT)


def _renewable_share(t: Trail, m: GateMetrics) -> None:
    minimum_share = t.param("smelter_project_gate.min_renewable_share_pct")
    share = m.renewable_share_pct
    t.check(
        "RENEWABLE_SHARE_BELOW_MINIMUM",
        share is not None and share >= minimum_share,
        "未填写可再生能源比例，请补填"
        if share is None
        else f"可再生能源使用比例 {share}%，"
        + ("不低于" if share >= minimum_share else "低于")
        + f" {minimum_share}%",
        renewable_share_pct=share,
        minimum_pct=minimum_share,
    )


def _paired_project(t: Trail, m: GateMetrics) -> None:
    """承接区外电解铝产能，须配套建设铝深加工项目: a deep-processing application of this evaluation."""
    paired = m.paired_project_code
    values = {"capacity_source": m.capacity_source, "paired_project_code": paired}
    if not paired:
        t.check(
            "PAIRED_PROJECT_MISSING",
            False,
            "承接区外电解铝产能，须配套建设铝深加工项目；未填写配套深加工项目编号",
            **values,
        )
        return
    programs = t.ctx.projects.get(paired, frozenset())
    if paired == t.app.project_code:
        t.check(
            "PAIRED_PROJECT_NOT_DEEP_PROCESSING",
            False,
            f"承接区外电解铝产能，配套项目编号 {paired} 即本电解铝项目自身；须另行配套建设铝深加工项目"
            f"（以 {DEEP_PROCESSING} 申报）",
            **values,
        )
    elif not programs:
        t.check(
            "PAIRED_PROJECT_MISSING",
            False,
            f"承接区外电解铝产能，配套深加工项目 {paired} 未在本次评审的申报中，请同时以 {DEEP_PROCESSING}"
            "（铝高端延伸加工项目贴息）申报该项目或更正项目编号",
            **values,
        )
    elif DEEP_PROCESSING not in programs:
        t.check(
            "PAIRED_PROJECT_NOT_DEEP_PROCESSING",
            False,
            f"承接区外电解铝产能，配套项目 {paired} 在本次评审中以 {'、'.join(sorted(programs))} 申报，"
            f"不是铝深加工项目（应为 {DEEP_PROCESSING} 申报的铝高端延伸加工项目）",
            **values,
            paired_programs=sorted(programs),
        )
    else:
        t.check(
            "PAIRED_PROJECT_MISSING",
            True,
            f"承接区外电解铝产能，配套铝深加工项目 {paired} 已在本次评审中以 {DEEP_PROCESSING} 申报",
            **values,
        )


def _smelter_efficiency(t: Trail, m: GateMetrics) -> None:
    _benchmark(t, m, t.param("smelter_project_gate.max_unit_energy"), "铝液交流电耗", "kWh/t")
    _industry_norms(t, m)
    grade = t.param("smelter_project_gate.required_environmental_grade")
    t.reached(
        "ENVIRONMENTAL_GRADE_BELOW_A",
        m.environmental_grade == grade,
        f"环保绩效等级 {m.environmental_grade or '（未填写）'}",
        f" {grade} 级",
        environmental_grade=m.environmental_grade,
        required=grade,
    )
    t.check(
        "EQUIPMENT_NOT_ADVANCED",
        m.advanced_equipment is True,
        "主要用能设备" + ("达到" if m.advanced_equipment else "未达到（或未填写）") + "能效先进水平",
        advanced_equipment=m.advanced_equipment,
    )


def _benchmark(t: Trail, m: GateMetrics, limit: Decimal, measured: str, unit: str) -> None:
    """能效达到行业标杆水平: the unit energy at or below the benchmark."""
    t.reached(
        "ENERGY_ABOVE_BENCHMARK",
        m.unit_energy <= limit,
        f"{measured} {m.unit_energy} {unit}",
        f"标杆水平（≤ {limit} {unit}）",
        unit_energy=m.unit_energy,
        benchmark=limit,
    )


def _assessed(app: Application, ctx: Context, program: str) -> tuple[Trail, GateMetrics | None]:
    """The gate's trail with the project code checked, and the project's metrics (None: not filled in)."""
    t = Trail(app, ctx, program)
    project_code(t)
    if not app.gate_metrics:
        t.check("GATE_METRICS_REQUIRED", False, "未填写合规指标明细，无法判定，请补充")
        return t, None
    return t, app.gate_metrics[0]


def _industry_norms(t: Trail, m: GateMetrics) -> None:
    t.check(
        "INDUSTRY_NORMS_NOT_MET",
        m.meets_industry_norms,
        ("满足" if m.meets_industry_norms else "不满足") + "铝行业规范条件",
        meets_industry_norms=m.meets_industry_norms,
    )
