"""`govflow` command line: initialise, deploy, load a calendar year, verify audit, run the demo."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from service.config import load_settings
from service.domain.access import Actor
from service.domain.errors import GovflowError

OPERATOR = Actor("operator", None, frozenset({"admin", "system"}))


def _ctx():  # type: ignore[no-untyped-def]
    from service.operations.context import Govflow

    return Govflow(load_settings())


def cmd_init(args: argparse.Namespace) -> None:
    from service.operations import organisation, processes
    from service.storage.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database_url)
    ctx = _ctx()
    organisation.ensure_units(ctx)
    deployed = processes.deploy(ctx, processes.bundle_from_directory(settings.processes_dir), OPERATOR)
    print(f"数据库已就绪：{settings.database_url}")
    print(f"流程 {deployed.process_key} 版本 {deployed.version}{'（新部署）' if deployed.created else '（已是最新）'}")


def cmd_deploy(args: argparse.Namespace) -> None:
    from service.operations import processes

    ctx = _ctx()
    # A deliberate deploy: an identical older version becomes current again (docs/deploy.md).
    deployed = processes.deploy(ctx, processes.bundle_from_directory(Path(args.directory)), OPERATOR, promote=True)
    print(f"流程 {deployed.process_key} 版本 {deployed.version}{'（新部署）' if deployed.created else '（内容未变）'}")


def cmd_calendar_load(args: argparse.Namespace) -> None:
    from service.operations.calendar import load_year

    result = load_year(_ctx(), Path(args.file).read_text(encoding="utf-8"), OPERATOR)
    print(f"已载入 {result.year} 年放假安排；重新计算 {result.recomputed} 个待办期限，"
          f"仍为预估的 {result.still_provisional} 个")


def cmd_calendar_show(args: argparse.Namespace) -> None:
    ctx = _ctx()
    with ctx.db.session() as s:
        cal = ctx.calendars.refresh(s, force=True)
    year = args.year
    day = dt.date(year, 1, 1)
    off, extra = [], []
    while day.year == year:
        if not cal.is_workday(day) and day.weekday() < 5:
            off.append(day.isoformat())
        if cal.is_workday(day) and day.weekday() >= 5:
            extra.append(day.isoformat())
        day += dt.timedelta(days=1)
    basis = cal.day_basis(dt.date(year, 6, 1))
    print(f"{year} 年（依据：{basis}）工作日外的平日 {len(off)} 天：{' '.join(off)}")
    print(f"调休上班的周末 {len(extra)} 天：{' '.join(extra)}")


def _chain_label(session, chain: str) -> str:  # type: ignore[no-untyped-def]
    from service.storage.models import Project, Unit

    kind, _, ident = chain.partition(":")
    if kind == "project":
        p = session.get(Project, int(ident))
        return f"项目 {ident}" + (f"（{p.code}）" if p is not None else "")
    u = session.get(Unit, int(ident))
    return f"单位 {ident}" + (f"（{u.name}）" if u is not None else "")


def cmd_audit_verify(args: argparse.Namespace) -> None:
    """Exit 0: every chain checked is intact; 1: a break (each printed with chain and seq)."""
    from service.operations import audit

    ctx = _ctx()
    external = audit.read_export(Path(args.against).read_text(encoding="utf-8")) if args.against else None
    with ctx.db.session() as s:
        if args.project_id is not None or args.unit is not None:
            reports = []
            if args.project_id is not None:
                chain = f"project:{args.project_id}"
                reports.append(audit.check_project(s, args.project_id, external=(external or {}).get(chain, [])))
            if args.unit is not None:
                chain = f"unit:{args.unit}"
                reports.append(audit.check_unit(s, args.unit, external=(external or {}).get(chain, [])))
        else:
            reports = audit.check_all(s, external=external)
        breaks = unsigned = records = 0
        for report in reports:
            label = _chain_label(s, report.chain)
            records += report.records
            unsigned += report.unsigned
            for b in report.breaks:
                breaks += 1
                print(f"{label} [{b.chain}] 第 {b.seq} 条：{b.message}")
            if not report.breaks and args.project_id is not None and report.chain == f"project:{args.project_id}":
                print(f"项目 {args.project_id} 的审计链完整（{report.records} 条记录）")
            if report.unsigned:
                print(f"{label} [{report.chain}]：{report.unsigned} 条未签名的历史记录（0007 迁移前写入），"
                      "可运行 govflow audit sign-legacy 签名")
    strict_fail = args.strict and unsigned
    print(f"共校验 {len(reports)} 条审计链、{records} 条记录" + ("（对照外部检查点）" if external else "")
          + f"：{'发现 ' + str(breaks) + ' 处断裂' if breaks else '全部完整'}"
          + (f"，未签名历史记录 {unsigned} 条" if unsigned else ""))
    if breaks or strict_fail:
        sys.exit(1)


def cmd_audit_checkpoint_create(args: argparse.Namespace) -> None:
    from service.operations import audit

    ctx = _ctx()
    with ctx.db.session() as s:
        written = audit.write_checkpoints(s)
    print(f"已为 {written} 条审计链写入签名检查点")


def cmd_audit_checkpoint_export(args: argparse.Namespace) -> None:
    import json

    from service.operations import audit

    ctx = _ctx()
    with ctx.db.session() as s:
        doc = audit.export_checkpoints(s)
    text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"已导出 {len(doc['chains'])} 条审计链的检查点到 {args.output}；请交由数据库之外的一方保存",
              file=sys.stderr)
    else:
        sys.stdout.write(text)


def cmd_audit_sign_legacy(args: argparse.Namespace) -> None:
    from service.operations import audit

    ctx = _ctx()
    result = audit.sign_legacy(ctx)
    print(f"已签名 {result.signed_records} 条历史记录（{result.signed_chains} 条审计链）")
    with ctx.db.session() as s:
        for b in result.refused:
            print(f"拒绝签名：{_chain_label(s, b.chain)} [{b.chain}] 第 {b.seq} 条：{b.message}")
    if result.refused:
        sys.exit(1)


def cmd_demo(args: argparse.Namespace) -> None:
    from service.demo import run_demo

    run_demo()


def cmd_serve(args: argparse.Namespace) -> None:
    from service.http.serve import serve

    serve(args.host, args.port, demo=args.demo, workers=not args.no_workers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="govflow", description="东营市市级政务数字化项目流程服务")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="迁移数据库、创建单位、部署 processes/").set_defaults(func=cmd_init)
    p = sub.add_parser("deploy", help="校验并部署一个目录中的 BPMN/DMN")
    p.add_argument("directory")
    p.set_defaults(func=cmd_deploy)
    cal = sub.add_parser("calendar", help="工作日历").add_subparsers(dest="calendar_command", required=True)
    p = cal.add_parser("load", help="载入某年国务院放假安排（JSON，见 docs/calendar-file-format.md）")
    p.add_argument("file")
    p.set_defaults(func=cmd_calendar_load)
    p = cal.add_parser("show", help="显示某年的放假与调休")
    p.add_argument("year", type=int)
    p.set_defaults(func=cmd_calendar_show)
    aud = sub.add_parser("audit", help="审计链").add_subparsers(dest="audit_command", required=True)
    p = aud.add_parser("verify", help="校验审计链（默认全部项目和单位；有断裂时退出码为 1）")
    p.add_argument("project_id", type=int, nargs="?", help="只校验这个项目")
    p.add_argument("--unit", type=int, help="只校验这个单位（id）的审计链")
    p.add_argument("--against", metavar="FILE",
                   help="对照 `audit checkpoint export` 导出的检查点文件（发现数据库回退）")
    p.add_argument("--strict", action="store_true", help="未签名的历史记录也视为失败")
    p.set_defaults(func=cmd_audit_verify)
    cp = aud.add_parser("checkpoint", help="审计链检查点").add_subparsers(dest="checkpoint_command", required=True)
    p = cp.add_parser("create", help="为链头有变化的审计链写入签名检查点")
    p.set_defaults(func=cmd_audit_checkpoint_create)
    p = cp.add_parser("export", help="导出每条审计链最新的签名检查点（JSON，交外部保存）")
    p.add_argument("--output", "-o", metavar="FILE")
    p.set_defaults(func=cmd_audit_checkpoint_export)
    p = aud.add_parser("sign-legacy", help="为 0007 迁移前写入的审计记录签名（一次性）")
    p.set_defaults(func=cmd_audit_sign_legacy)
    sub.add_parser("demo", help="初始化嵌入式数据库并演示一个项目走完全生命周期").set_defaults(func=cmd_demo)
    p = sub.add_parser("serve", help="启动 HTTP 接口（默认嵌入式 SQLite）；--demo 载入演示账号")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--demo", action="store_true", help="创建演示账号并开放下一年度申报期")
    p.add_argument("--no-workers", action="store_true", help="不在本进程旁启动嵌入式 worker/beat")
    p.set_defaults(func=cmd_serve)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except GovflowError as exc:
        print(f"错误：{exc.message}" + (f"（{exc.article}）" if exc.article else ""), file=sys.stderr)
        if exc.details:
            print(exc.details, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
