"""The checks of the submission intake, as an operator reads them: each says what is wrong and what to do."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence

import dagster as dg
import pandas as pd
from pandera.errors import SchemaErrors

from assets._metadata import escape_markdown, markdown_list, rows_table, warning
from pipelines.inbox_history import REMOVED_ENV, Withheld
from pipelines.intake import SheetCount
from schemas.rejection import Rejection
from schemas.sheets import BY_KEY, FILE, ROW, SHEETS
from schemas.validation import ROW_RULES, schema_for

# How many actionable lines a check description shows; the metadata table holds every one.
DESCRIPTION_LINES = 30


def rows_balance(counts: list[SheetCount], unrecorded: list[Rejection], files: int) -> dg.AssetCheckResult:
    """accepted + rejected = received for every file and sheet, and every rejected row is in the table."""
    unbalanced = [c for c in counts if c.accepted + c.rejected != c.received]
    parts = [unbalanced_description(unbalanced)] if unbalanced else []
    if unrecorded:
        places = "；".join(
            f"「{r.file}」「{_sheet_name(r.sheet)}」表第 {r.row_number} 行" for r in unrecorded[:10]
        )
        parts.append(
            f"{len(unrecorded)} 行退回在本次评审中得出，却不在 submission_rejections 表中：{places}。"
            "各部门报表「退回行」会缺少它们；请重新运行 nightly_awards（会补记），仍缺少时转交系统管理员"
        )
    return dg.AssetCheckResult(
        check_name="rows_balance",
        asset_key="submission_rejections",
        passed=not unbalanced and not unrecorded,
        metadata={
            "files": files,
            "received": sum(c.received for c in counts),
            "accepted": sum(c.accepted for c in counts),
            "rejected": sum(c.rejected for c in counts),
            "unbalanced": dg.MetadataValue.json([c.__dict__ for c in unbalanced]),
            "rejected_rows_not_recorded": len(unrecorded),
        },
        description="\n".join(parts) or None,
    )


def inbox_files_present(
    departed: list[str],
    confirmed: list[str],
    withheld: list[Withheld],
    later: list[str],
    unmatched: Sequence[tuple[str, bool]],
    gone: Sequence[str],
) -> dg.AssetCheckResult:
    """Warn about every file taken in before that has left the inbox, and about what that holds back; and about
    each name in ALU_REMOVED_BATCHES that confirms nothing (`unmatched`: (name, still in the inbox)), so that a
    typo is not taken for a confirmation; `gone` are the batches that have left."""
    lines = []
    for name, listed in unmatched:
        if listed:
            lines.append(
                f"{REMOVED_ENV} 中的「{name}」仍在收件箱中，确认删除对它不适用；若要撤回它，请先把它移出收件箱"
            )
        else:
            lines.append(
                f"{REMOVED_ENV} 中的「{name}」不是已离开收件箱的批次，未生效（文件名须与此前受理的完全一致，含日期与扩展名）"
                + (f"；已离开收件箱的批次：{'、'.join(gone)}" if gone else "；目前没有已离开收件箱的批次")
            )
    for name in departed:
        held = [w.application_id for w in withheld if w.held_by == name]
        line = f"「{name}」此前已受理，现已不在收件箱中"
        if held:
            line += (f"；它更正过的申报 {'、'.join(held)} 本次不评审、台账不变（不会按更早的版本重新记账）。"
                     f"若确是有意删除，请把文件名加入 {REMOVED_ENV} 后重新运行；否则请把文件放回收件箱")  # fmt: skip
        else:
            line += "；其中的申报与计量数据保持原样，不会被当作撤回。若是误删，请放回收件箱"
        lines.append(line)
    if later:
        held = [w.application_id for w in withheld if w.reason == "later"]
        lines.append(
            f"{len(later)} 个文件日期晚于评审日，本次未读取：{'、'.join(later)}"
            + (f"（它们更正过的申报 {'、'.join(held)} 本次不评审、台账不变）" if held else "")
            + "。重跑过去某一晚时这是预期的；若评审日是今天，请核对文件名开头的日期"
        )
    for name in sorted({w.held_by for w in withheld if w.reason == "reviewed"}):
        held = [w.application_id for w in withheld if w.held_by == name]
        lines.append(
            f"「{name}」中已入库的审核结论晚于评审日（审核日期或文件日期）：它审核过的申报 {'、'.join(held)} "
            "本次不评审、台账不变（不会不顾已按审核结论记的账重新评审）。重跑过去某一晚时这是预期的"
        )
    metadata = {
        "departed": dg.MetadataValue.json(departed),
        "confirmed_removed": dg.MetadataValue.json(confirmed),
        "confirmations_unmatched": dg.MetadataValue.json([name for name, _ in unmatched]),
        "dated_after_evaluation_day": dg.MetadataValue.json(later),
        "held_back": rows_table(
            [
                {"申报编号": w.application_id, "现有版本": w.source, "更正所在文件": w.held_by}
                for w in withheld
            ]
        ),
    }
    return warning("inbox_files_present", "submissions", not lines, metadata, "\n".join(lines) or None)


def unbalanced_description(unbalanced: list[SheetCount]) -> str:
    lines = [
        f"「{c.file}」的「{_sheet_name(c.sheet)}」表：收到 {c.received} 行，接受 {c.accepted} + 退回 {c.rejected}"
        f" = {c.accepted + c.rejected} 行，与收到行数不符"
        for c in unbalanced
    ]
    return (
        "；".join(lines)
        + "。这些工作表的计数未入库。请重新运行 nightly_awards；仍不平衡时不要删除或改动文件，把文件和本检查结果转交"
        "系统管理员核查（有行既未接受也未退回，或被重复计数），该文件的申报在查明前不应签发"
    )


def _sheet_name(key: str) -> str:
    sheet = BY_KEY.get(key)
    if sheet is not None:
        return sheet.name
    return {"workbook": "整个文件", "metering": "计量数据"}.get(key, key)


def fix_line(r: Rejection) -> str:
    """One rejection as what the operator must do: which file to upload again and which cell to correct."""
    where = "整个文件：" if r.sheet == "workbook" else f"「{_sheet_name(r.sheet)}」表"
    if r.row_number is not None:
        where += f"第 {r.row_number} 行"
    if r.column:
        where += f"「{r.column}」"
    given = f"（填写值 {r.value}）" if r.value not in (None, "") else ""
    return f"重新上传 {r.file}：{where}{r.message}{given}"


def rejections_to_fix(
    received: list[Rejection], superseded: frozenset[Rejection] | set[Rejection] = frozenset()
) -> dg.AssetCheckResult:
    """Warn, per file, with one actionable Chinese line per rejection still to fix; green when none is left.
    A rejection a later accepted resend has superseded (`pipelines.intake.superseded`) is not listed."""
    rejections = [r for r in received if r not in superseded]
    by_file = Counter(r.file for r in rejections)
    lines = [fix_line(r) for r in rejections]
    shown = lines[:DESCRIPTION_LINES]
    rest = len(lines) - len(shown)
    description = None
    if rejections:
        files = "、".join(f"{file}（{n} 条）" for file, n in by_file.items())
        description = (
            f"{len(rejections)} 条退回，涉及 {escape_markdown(files)}。请企业按下列说明更正后重新上传：\n\n"
            + markdown_list(shown)  # what enterprises typed is shown as typed, one line per rejection
            + (f"\n\n…另有 {rest} 条，见元数据 to_fix 表或各部门报表「退回行」表" if rest else "")
        )
    metadata = {
        "rejections": len(rejections),
        "superseded_by_resend": len(received) - len(rejections),
        "by_file": dg.MetadataValue.json(dict(by_file)),
        "to_fix": rows_table(
            [
                {
                    "文件": r.file,
                    "工作表": _sheet_name(r.sheet),
                    "行": r.row_number if r.row_number is not None else "—",
                    "列": r.column or "—",
                    "填写值": r.value if r.value not in (None, "") else "—",
                    "代码": r.code,
                    "怎么改": r.message,
                }
                for r in rejections
            ],
            limit=200,
        ),
    }
    return warning("rejections_to_fix", "submission_rejections", not rejections, metadata, description)


def accepted_rows_match_schemas(
    frames: dict[str, pd.DataFrame], trusted: Collection[str] = ()
) -> dg.AssetCheckResult:
    """Every accepted row validated again against its sheet's pandera schema, except the rows of `trusted`
    files: batches read back from the cache exactly as they were validated, under the same schemas
    (`pipelines.intake_store`). So a night validates what it parsed, and any cache row changed since."""
    failures: dict[tuple[object, ...], dict[str, object]] = {}
    checked: dict[str, int] = {}
    unchanged: dict[str, int] = {}
    for sheet in SHEETS:
        frame = frames.get(sheet.key)
        if frame is None:
            failures[(sheet.key,)] = {
                "工作表": sheet.name,
                "文件": "—",
                "行": "—",
                "列": "—",
                "校验": "SHEET_MISSING",
            }
            continue
        if trusted and not frame.empty:
            again = ~frame[FILE].isin(list(trusted))
            unchanged[sheet.name] = len(frame) - int(again.sum())
            frame = frame[again]  # keeps the index, by which pandera names the failing rows
        checked[sheet.name] = len(frame)
        if frame.empty:
            continue
        rules = {r.code: r.column for r in ROW_RULES.get(sheet.key, ())}
        headers = {c.key: c.header for c in sheet.columns}
        try:
            schema_for(sheet).validate(frame, lazy=True)
        except SchemaErrors as errors:
            for case in errors.failure_cases.itertuples(index=False):
                check = str(case.check)
                # a row rule fails on every column of its row; the operator looks at the rule's own column
                column = rules.get(check, case.column if isinstance(case.column, str) else None)
                row = frame.loc[case.index] if case.index in frame.index else None
                failure: dict[str, object] = {
                    "工作表": sheet.name,
                    "文件": str(row[FILE]) if row is not None else "—",
                    "行": int(row[ROW]) if row is not None else "—",
                    "列": headers.get(column or "", column or "—"),
                    "校验": check,
                }
                failures[tuple(failure.values())] = failure
    found = list(failures.values())
    files = sorted({str(f["文件"]) for f in found if f["文件"] != "—"})
    description = None
    if found:
        places = "；".join(f"「{f['工作表']}」表第 {f['行']} 行（{f['文件']}）{f['列']} 未通过 {f['校验']}"
                          for f in found[:10])  # fmt: skip
        description = (
            f"{len(found)} 处已接受的数据不符合工作表校验规则：{places}。这通常是解析缓存来自旧版规则或被改动；"
            "本次评审已停止（不会记账）。请系统管理员删除 intake_files 中这些文件的缓存行"
            f"（{'、'.join(files) or '见元数据'}），再重新运行 nightly_awards，文件会按现行规则重新校验"
        )
    return dg.AssetCheckResult(
        check_name="accepted_rows_match_schemas",
        asset_key="submissions",
        passed=not found,
        metadata={
            "rows_checked": dg.MetadataValue.json(checked),
            "rows_validated_before": dg.MetadataValue.json(unchanged),
            "failures": len(found),
            "preview": rows_table(found, limit=50),
        },
        description=description,
    )
