"""Coverage-guided fuzzing of the callback body (atheris / libFuzzer).

    .venv/bin/python tests/fuzz/atheris_callback.py -max_total_time=600    # long form (make soak)

The fuzzer builds a signed request from its input, in plaintext and in AES mode, and fails on
any exception escaping `Pipeline.receive` or any status outside the contract's 200/400/403/413.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with atheris.instrument_imports(include=["chalicelib"]):
    from chalicelib.engine.pipeline import Pipeline  # noqa: F401  (instrumented)
    from tests import wxsim
    from tests.fuzz.harness import make_callback

CALLBACK = make_callback()
SIM = wxsim.Crypto()
ALLOWED = {200, 400, 403, 413}


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 2)
    body = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4096))
    if mode == 0:  # raw signed body
        answer = CALLBACK.receive(wxsim.signed_query(), body)
    elif mode == 1:  # the body as the plaintext inside a valid AES envelope
        query, envelope = SIM.envelope(body.decode("utf-8", "replace"))
        answer = CALLBACK.receive(query, envelope.encode())
    else:  # a message-shaped document with fuzzed content
        text = body.decode("utf-8", "replace")
        answer = CALLBACK.receive(wxsim.signed_query(), wxsim.text(text).encode())
    if answer.status not in ALLOWED:
        raise AssertionError(f"status {answer.status}")


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
