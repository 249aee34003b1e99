"""Import the app from an unzipped Lambda artifact, in a fresh interpreter; print a JSON report.

    python -I -S -B import_check.py <tree> <runtime stand-in or ""> time
    python -I -S -B import_check.py <tree> <runtime stand-in or ""> check <handlers> <natives>

infra/pack/proof.py runs it with -I (no user site, no PYTHON* variables, no script directory on
sys.path), -S (no site-packages) and -B (no .pyc written into the tree, as on Lambda's read-only
/var/task), so only the standard library, the tree and the runtime stand-in can be imported.
Standard library only, by design.
"""

import importlib
import json
import pathlib
import sys
import sysconfig
import time


def resolve_handlers(handlers: list) -> dict:
    found = {}
    for handler in handlers:
        module_name, _, attr = handler.rpartition(".")
        try:
            target = importlib.import_module(module_name)
            for part in attr.split("."):
                target = getattr(target, part)
            found[handler] = "ok" if callable(target) else "not callable"
        except Exception as exc:
            found[handler] = f"{type(exc).__name__}: {exc}"
    return found


def native_files(natives: list) -> dict:
    found = {}
    for name in natives:
        try:
            found[name] = importlib.import_module(name).__file__
        except Exception as exc:
            found[name] = f"{type(exc).__name__}: {exc}"
    return found


def smoke() -> dict:
    """The C extensions work, not just load."""
    passed = {}
    try:
        import ahocorasick

        automaton = ahocorasick.Automaton()
        automaton.add_word("余额", 1)
        automaton.make_automaton()
        passed["ahocorasick"] = [v for _, v in automaton.iter("查余额")] == [1]
        import regex

        passed["regex"] = regex.search(r"\p{Han}+", "ab余额").group() == "余额"
        from Crypto.Cipher import AES

        box = AES.new(b"k" * 32, AES.MODE_CBC, b"i" * 16)
        plain = AES.new(b"k" * 32, AES.MODE_CBC, b"i" * 16).decrypt(box.encrypt(b"x" * 16))
        passed["aes"] = plain == b"x" * 16
        # The callback's AES (chalicelib/wechat/crypto.py) is OpenSSL's, through cryptography.
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        cipher = Cipher(algorithms.AES(b"k" * 32), modes.CBC(b"i" * 16))
        sealed = cipher.encryptor().update(b"x" * 16)
        passed["openssl_aes"] = cipher.decryptor().update(sealed) == b"x" * 16
        import nh3

        passed["nh3"] = nh3.clean("<b>x</b><script>y</script>") == "<b>x</b>"
    except Exception as exc:
        passed["error"] = f"{type(exc).__name__}: {exc}"
    return passed


def extensions(tree: str) -> dict:
    """Every Python extension module in the tree imports here (a wheel for another platform or
    Python would not). pycryptodome's libraries are plain shared objects it loads with ctypes."""
    found = {}
    for path in sorted(pathlib.Path(tree).rglob("*.so")):
        parts = path.relative_to(tree).parts
        module = ".".join((*parts[:-1], parts[-1].split(".")[0]))
        try:
            importlib.import_module(module)
            found[module] = "ok"
        except ImportError as exc:
            plain = "module export function" in str(exc)
            found[module] = "shared library" if plain else f"ImportError: {exc}"
    return found


def event_sources(app) -> list:
    sources = []
    for source in app.event_sources:
        item = {"type": type(source).__name__, "name": source.name}
        item["handler"] = source.handler_string
        expression = getattr(source, "schedule_expression", None)
        if expression is not None:
            item["schedule"] = expression if isinstance(expression, str) else expression.to_string()
        if getattr(source, "queue", None) or getattr(source, "queue_arn", None):
            item["queue"] = source.queue or source.queue_arn
        if getattr(source, "stream_arn", None):
            item["stream"] = source.stream_arn
        sources.append(item)
    return sources


def foreign_modules(tree: str, runtime: str) -> list:
    """Modules loaded from anywhere but the tree, the stand-in and the standard library."""
    paths = sysconfig.get_paths()
    allowed = [tree, runtime or tree, paths["stdlib"], paths["platstdlib"]]
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if name != "__main__"
        and getattr(module, "__file__", None)
        and not any(module.__file__.startswith(p) for p in allowed)
    )


def main(argv: list) -> dict:
    tree, runtime, mode = argv[0], argv[1], argv[2]
    sys.path[:0] = [tree] + ([runtime] if runtime else [])
    started = time.perf_counter()
    import app as app_module

    out = {"import_ms": (time.perf_counter() - started) * 1000}
    if mode == "check":
        out["handlers"] = resolve_handlers(json.loads(argv[3]))
        out["native"] = native_files(json.loads(argv[4]))
        out["smoke"] = smoke()
        out["extensions"] = extensions(tree)
        out["event_sources"] = event_sources(app_module.app)
        out["routes"] = sorted(app_module.app.routes)
        out["foreign_modules"] = foreign_modules(tree, runtime)
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
