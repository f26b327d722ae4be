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
    deployed = processes.deploy(ctx, processes.bundle_from_directory(Path(args.directory)), OPERATOR)
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


def cmd_audit_verify(args: argparse.Namespace) -> None:
    from service.operations.audit import verify

    ctx = _ctx()
    with ctx.db.session() as s:
        bad = verify(s, args.project_id)
    if bad is None:
        print(f"项目 {args.project_id} 的审计链完整")
    else:
        print(f"项目 {args.project_id} 的审计链在第 {bad.seq} 条记录（id={bad.id}，{bad.action}）处被篡改或断开")
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
    p = aud.add_parser("verify", help="校验一个项目的审计链")
    p.add_argument("project_id", type=int)
    p.set_defaults(func=cmd_audit_verify)
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
