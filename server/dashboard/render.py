"""The dashboard's picture (rich renderables) of a DashboardState: a header with the status,
send rate and ETA, the funnel with bars, and the variants with their rates (and, when the service
answered GetExperimentResults, their intervals and the significance verdict)."""

from __future__ import annotations

from rich.bar import Bar
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from server.dashboard.state import DashboardState, VariantFigures

BAR_WIDTH = 40


def render(state: DashboardState) -> RenderableType:
    parts: list[RenderableType] = [header(state), funnel(state), others(state)]
    if state.variants():
        parts += [variants(state), verdict_line(state)]
    return Panel(Group(*parts), title=f"campaign {state.name or state.campaign_id}", expand=False)


def header(state: DashboardState) -> Text:
    line = Text()
    line.append(state.status_name, style="bold green" if state.running else "bold")
    if state.final:
        line.append("  final snapshot: the campaign has ended")
    rate = state.send_rate()
    if state.running and rate is not None:
        line.append(f"  sending {rate:,.1f} msg/s")
        eta = state.eta_seconds()
        if eta is not None:
            line.append(f"  ETA {duration(eta)}")
    return line


def funnel(state: DashboardState) -> Table:
    stages = state.funnel()
    top = max(stages[0][1], 1)
    table = Table(title="Funnel", title_justify="left", box=None, pad_edge=False)
    table.add_column("stage")
    table.add_column("count", justify="right")
    table.add_column("of audience", justify="right")
    table.add_column("", width=BAR_WIDTH)
    for stage, count in stages:
        table.add_row(
            stage, f"{count:,}", percent(count / top), Bar(top, 0, count, width=BAR_WIDTH)
        )
    return table


def others(state: DashboardState) -> Text:
    """The counters outside the funnel."""
    t = state.totals
    return Text(
        f"bounced {t.bounced:,}  failed {t.failed:,}  unsubscribed {t.unsubscribed:,}  "
        f"holdout {t.holdout:,}  conversion value {t.conversion_value:,.2f}"
    )


def variants(state: DashboardState) -> Table:
    figures = state.variants()
    verdict = state.verdict()
    table = Table(title="Variants", title_justify="left", box=None, pad_edge=False)
    for column in ("variant", "sent", "delivered", "open", "click", "conversion"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    if verdict is not None:
        table.add_column(f"{verdict.metric} (CI)", justify="right")
        table.add_column("lift", justify="right")
    for v in figures:
        cells = [
            v.name + (" (control)" if v.is_control else ""),
            f"{v.sent:,}",
            f"{v.delivered:,}",
            percent(v.open_rate),
            percent(v.click_rate),
            percent(v.conversion_rate),
        ]
        if verdict is not None:
            cells += [interval(v), "" if v.lift is None or v.is_control else f"{v.lift:+.1%}"]
        table.add_row(*cells)
    return table


def verdict_line(state: DashboardState) -> Text:
    verdict = state.verdict()
    if verdict is None:
        return Text("rates only: no experiment results for this campaign", style="dim")
    said = "significant" if verdict.significant else "not significant"
    winner = f"; winner {verdict.winner}" if verdict.winner else ""
    return Text(
        f"{said} at {verdict.confidence:.0%} confidence (p = {verdict.p_value:.4f}){winner}",
        style="bold" if verdict.significant else "",
    )


def interval(v: VariantFigures) -> str:
    if v.rate is None or v.ci_lower is None or v.ci_upper is None:
        return ""
    return f"{percent(v.rate)} [{percent(v.ci_lower)}, {percent(v.ci_upper)}]"


def percent(value: float) -> str:
    return f"{value:.1%}"


def duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"
