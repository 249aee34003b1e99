"""「API群发保护」 (API mass-send protection): with it on, WeChat holds a mass send to all
followers (`is_to_all`) until an administrator confirms it in WeChat; refused, or unconfirmed
after 30 minutes, it fails. The job shows SENDING meanwhile (mass/get), then SEND_SUCCESS or
SEND_FAIL. Tests switch it on with `mass_protection = True` and play the administrator with
`confirm_mass` / `refuse_mass`."""

from __future__ import annotations

from typing import Any

CONFIRM_WITHIN = 1800.0


class MassProtectionApi:
    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        self.mass_protection = False

    # ---- test helpers --------------------------------------------------------------------

    def confirm_mass(self, msg_id: int) -> None:
        """The administrator confirms the held send in WeChat."""
        self._decide_mass(msg_id, "SEND_SUCCESS")

    def refuse_mass(self, msg_id: int) -> None:
        self._decide_mass(msg_id, "SEND_FAIL")

    def _decide_mass(self, msg_id: int, status: str) -> None:
        with self._lock:
            job = self._mass_jobs[int(msg_id)]
            if job.pop("confirm_by", None) is None:
                raise ValueError(f"mass job {msg_id} is not waiting for a confirmation")
            job["msg_status"] = status

    # ---- used by the mass routes -----------------------------------------------------------

    def _hold_if_protected(self, job: dict[str, Any], body: dict[str, Any]) -> None:
        if self.mass_protection and (body.get("filter") or {}).get("is_to_all"):
            job["msg_status"] = "SENDING"
            job["confirm_by"] = self.clock() + CONFIRM_WITHIN

    def _mass_status(self, job: dict[str, Any]) -> str:
        confirm_by = job.get("confirm_by")
        if confirm_by is not None and self.clock() > confirm_by:
            job.pop("confirm_by")
            job["msg_status"] = "SEND_FAIL"  # nobody confirmed in time
        return str(job["msg_status"])
