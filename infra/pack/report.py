"""What `make package` found: the report it prints and writes as JSON."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

IMPORT_RUNS = 3  # fresh interpreters per cold-import timing (the median is reported)


@dataclass
class Artifact:
    label: str
    zipped: int
    unzipped: int
    files: int
    import_ms: float | None = None


@dataclass
class Report:
    stage: str
    template: str
    zip_path: str
    vendor_sdk: bool
    architecture: str = ""
    proof_tree: str = ""  # where the import check ran: the artifact, or its twin for this machine
    lint_ok: bool = False
    lint_output: str = ""
    import_ok: bool = False
    functions: list[dict[str, Any]] = field(default_factory=list)
    app_event_sources: list[dict[str, Any]] = field(default_factory=list)
    app_routes: list[str] = field(default_factory=list)
    native: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "ok": self.ok}, indent=2, ensure_ascii=False)


def mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


def summary(report: Report) -> str:
    lines = [f"wxless package, stage {report.stage}", ""]
    rel = os.path.relpath
    lines.append(f"template      {rel(report.template)} (chalice + infra/template.json)")
    lint_text = "clean (0 findings)" if report.lint_ok else "FINDINGS:\n" + report.lint_output
    lines.append(f"cfn-lint      {lint_text}")
    if report.import_ok:
        natives = ", ".join(sorted(report.native))
        modules = sum(1 for v in report.extensions.values() if v == "ok")
        libraries = len(report.extensions) - modules
        where = "artifact"
        if os.path.basename(report.proof_tree) == "twin":
            where = f"{report.architecture} artifact's twin for this machine (same files)"
        lines.append(
            f"import check  ok: app and {len({f['handler'] for f in report.functions})} handlers "
            f"from the unzipped {where} with a clean sys.path;\n"
            f"              {modules} extension modules import and {libraries} shared libraries "
            f"are present; {natives} load from the tree and work"
        )
    else:
        lines.append("import check  FAILED")
    lines += ["", "functions"]
    rows = [("logical id", "handler", "trigger")]
    for function in report.functions:
        for i, trigger in enumerate(function["triggers"] or [{"type": "-", "detail": ""}]):
            first = i == 0
            rows.append(
                (
                    function["logical_id"] if first else "",
                    function["handler"] if first else "",
                    f"{trigger['type']} {trigger['detail']}".strip(),
                )
            )
    lines += _table(rows)
    lines += ["", f"artifact      {rel(report.zip_path)} ({report.architecture})"]
    rows = [("", "zipped", "unzipped", "files", "cold import of app")]
    for artifact in report.artifacts:
        rows.append(
            (
                artifact.label,
                mib(artifact.zipped) if artifact.zipped else "-",
                mib(artifact.unzipped),
                str(artifact.files),
                f"{artifact.import_ms:.0f} ms" if artifact.import_ms else "-",
            )
        )
    lines += _table(rows)
    dropped = ", ".join(f"{k} {mib(v)}" for k, v in sorted(report.dropped.items()))
    lines.append(f"left out      {dropped or 'nothing'} (unzipped)")
    lines.append(
        f"              cold import: median of {IMPORT_RUNS} fresh interpreters, no .pyc written; "
        "boto3/botocore from a stand-in for the runtime"
        + (
            "; on this machine's twin of each zip"
            if os.path.basename(report.proof_tree) == "twin"
            else ""
        )
    )
    lines.append("")
    if report.problems:
        lines.append("PROBLEMS")
        lines += [f"  - {p}" for p in report.problems]
    else:
        steps = ", ".join(f"{k} {v:.0f} s" for k, v in report.timings.items())
        lines.append(f"ok ({steps})")
    return "\n".join(lines)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
