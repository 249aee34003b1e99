"""The knowledge base as a table: bulk import from CSV or XLSX, export to either.

Columns (a header row names them; Chinese headers work too): question (问题), alternatives
(相似问法; several separated by `|` or new lines), answer (答案: the text answer), category
(分类). Export writes the same columns (a non-text answer is exported as its JSON), so an
export imports back.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
from typing import Any

from chalicelib.engine.faq_entries import validate_entry
from chalicelib.errors import InvalidInput

MAX_ROWS = 10_000
MAX_XLSX_BYTES = 5 * 1024 * 1024
COLUMNS = ("question", "alternatives", "answer", "category")
HEADERS = {
    "question": "question", "问题": "question", "标准问题": "question", "标准问": "question",
    "alternatives": "alternatives", "相似问法": "alternatives", "相似问题": "alternatives",
    "相似问": "alternatives", "别名": "alternatives",
    "answer": "answer", "答案": "answer", "回答": "answer", "回复": "answer",
    "category": "category", "分类": "category", "类别": "category",
}  # fmt: skip
_SPLIT = re.compile(r"\s*(?:\||\n|｜)\s*")


def read_rows(body: dict[str, Any]) -> list[list[str]]:
    """The table's rows (header first) from an import body: {"csv": str} or {"xlsx": base64}."""
    unknown = set(body) - {"csv", "xlsx", "replace"}
    if unknown or ("csv" in body) == ("xlsx" in body):
        raise InvalidInput('body must be {"csv": "<text>"} or {"xlsx": "<base64>"}, "replace"?')
    if "csv" in body:
        if not isinstance(body["csv"], str):
            raise InvalidInput("csv must be a string")
        text = body["csv"].lstrip("\ufeff")
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    if not isinstance(body["xlsx"], str):
        raise InvalidInput("xlsx must be a base64 string")
    try:
        data = base64.b64decode(body["xlsx"], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("xlsx is not valid base64") from None
    if len(data) > MAX_XLSX_BYTES:
        raise InvalidInput(f"the workbook must be at most {MAX_XLSX_BYTES // 1024 // 1024} MB")
    return _xlsx_rows(data)


def _xlsx_rows(data: bytes) -> list[list[str]]:
    import zipfile

    from openpyxl import load_workbook  # only the import pays for it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidInput(f"xlsx is not a readable workbook: {type(exc).__name__}") from None
    try:
        sheet = book.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(["" if v is None else str(v).strip() for v in row])
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        book.close()


def entries_from_rows(rows: list[list[str]]) -> list[dict[str, Any]]:
    """Validated entries, one per non-empty row; any bad row refuses the whole import with
    its row number (1 = the header)."""
    rows = [r for r in rows if any(cell for cell in r)]
    if not rows:
        raise InvalidInput("the table is empty")
    header = [HEADERS.get(cell.strip().casefold(), HEADERS.get(cell.strip())) for cell in rows[0]]
    for needed in ("question", "answer"):
        if needed not in header:
            raise InvalidInput(f"the header row must name the columns: {', '.join(COLUMNS)}")
    if len(rows) < 2:
        raise InvalidInput("the table has no rows under its header")
    if len(rows) - 1 > MAX_ROWS:
        raise InvalidInput(f"at most {MAX_ROWS} rows")
    entries = []
    for number, row in enumerate(rows[1:], start=2):
        cells = {name: row[i] for i, name in enumerate(header) if name and i < len(row)}
        alternatives = [a for a in _SPLIT.split(cells.get("alternatives", "")) if a]
        body = {
            "question": cells.get("question", ""),
            "alternatives": alternatives,
            "answer": _answer(cells.get("answer", "")),
            "category": cells.get("category", ""),
        }
        try:
            entries.append(validate_entry(body))
        except InvalidInput as exc:
            raise InvalidInput(f"row {number}: {exc}") from None
    return entries


def _answer(cell: str) -> dict[str, Any]:
    """A text answer; a cell holding a Reply object as JSON (as export writes non-text answers)
    is that reply."""
    if cell.startswith("{") and cell.endswith("}"):
        try:
            reply = json.loads(cell)
        except ValueError:
            reply = None
        if isinstance(reply, dict) and "type" in reply:
            return reply
    return {"type": "text", "content": cell}


def _cells(entry: dict[str, Any]) -> list[str]:
    answer = entry["answer"]
    text = (
        answer.get("content", "")
        if answer.get("type") == "text"
        else json.dumps(answer, ensure_ascii=False)
    )
    return [entry["question"], "|".join(entry["alternatives"]), text, entry["category"]]


def to_csv(entries: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow(_cells(entry))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: Excel reads it as UTF-8


def to_xlsx(entries: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("faq")
    sheet.append(list(COLUMNS))
    for entry in entries:
        sheet.append(_cells(entry))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
