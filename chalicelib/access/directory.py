"""The people: identities in an Amazon Cognito user pool, one Cognito group per role.

Passwords, MFA and federation (the bank's SAML/OIDC identity provider) are Cognito's; this
module only calls its admin API (server side, with the function's IAM role): create, change
group, enable/disable, delete, sign out everywhere, and sign in (AdminInitiateAuth with
ADMIN_USER_PASSWORD_AUTH, challenges such as MFA passed through to the caller).

Every Cognito failure becomes one of our errors: a refused sign-in is `Unauthorized` whatever the
reason (wrong password, unknown or disabled user: the caller must not learn which), a taken name
`Conflict`, a password the pool's policy refuses `InvalidInput`, anything else `Unavailable`
(503, retry).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.access.tokens import Pool
from chalicelib.errors import INVALID_CREDENTIALS as INVALID
from chalicelib.errors import Conflict, InvalidInput, NotFound, Unauthorized, Unavailable
from chalicelib.store.aws import client

log = logging.getLogger("wxless.access")

_REFUSED = {
    "NotAuthorizedException",
    "UserNotFoundException",
    "PasswordResetRequiredException",
    "UserNotConfirmedException",
    "CodeMismatchException",
    "ExpiredCodeException",
    "ResourceNotFoundException",  # an unknown or spent challenge session
}
UNAVAILABLE = "the identity provider (Amazon Cognito) is unavailable; nothing was changed, retry"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or _code(exc)


class Directory:
    """One user pool and its app client (built per container by chalicelib.wiring)."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        if not self.pool.pool_id or not self.pool.client_id:
            raise Unavailable("no user pool is configured (WXLESS_USER_POOL_ID)")
        try:
            return getattr(client("cognito-idp"), operation)(**params)
        except BotoCoreError as exc:
            log.warning("access.cognito_failed op=%s error=%s", operation, type(exc).__name__)
            raise Unavailable(UNAVAILABLE) from exc

    def _admin(self, operation: str, username: str, **params: Any) -> dict[str, Any]:
        try:
            return self._call(operation, UserPoolId=self.pool.pool_id, Username=username, **params)
        except ClientError as exc:
            code = _code(exc)
            if code == "UsernameExistsException":
                raise Conflict(f"user {username!r} already exists") from None
            if code == "InvalidPasswordException":
                raise InvalidInput(f"password: {_message(exc)}") from None
            if code == "InvalidParameterException":
                raise InvalidInput(_message(exc)) from None
            if code == "UserNotFoundException":
                raise NotFound(f"user {username!r} not found") from None
            log.warning("access.cognito_failed op=%s code=%s", operation, code)
            raise Unavailable(UNAVAILABLE) from exc

    # -- the admin's changes ---------------------------------------------------------------------

    def create_user(self, username: str, password: str, role: str) -> None:
        """A confirmed user with a permanent password, in the role's group. All or nothing: a
        failure after the user exists deletes it again."""
        self._admin("admin_create_user", username, MessageAction="SUPPRESS")
        try:
            self._admin("admin_set_user_password", username, Password=password, Permanent=True)
            self.add_to_group(username, role)
        except Exception:
            self._undo_create(username)
            raise

    def _undo_create(self, username: str) -> None:
        try:
            self._admin("admin_delete_user", username)
        except Exception:
            # Left behind in Cognito but not in our table: it cannot sign in (no team item), and
            # creating the same name again says 409; the operator deletes it in Cognito.
            log.exception("access.cognito_undo_failed user=%s", username)

    def add_to_group(self, username: str, role: str) -> None:
        self._admin("admin_add_user_to_group", username, GroupName=role)

    def remove_from_group(self, username: str, role: str) -> None:
        self._admin("admin_remove_user_from_group", username, GroupName=role)

    def set_enabled(self, username: str, enabled: bool) -> None:
        self._admin("admin_enable_user" if enabled else "admin_disable_user", username)

    def delete_user(self, username: str) -> None:
        with contextlib.suppress(NotFound):  # gone already: what we wanted
            self._admin("admin_delete_user", username)

    def sign_out_everywhere(self, username: str) -> None:
        """Revoke the user's refresh tokens (their access tokens stop by our own check)."""
        with contextlib.suppress(NotFound):
            self._admin("admin_user_global_sign_out", username)

    # -- signing in ------------------------------------------------------------------------------

    def sign_in(self, username: str, password: str) -> dict[str, Any]:
        """Cognito's answer: `AuthenticationResult`, or `ChallengeName` and `Session`."""
        return self._auth(
            "admin_initiate_auth",
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )

    def answer_challenge(
        self, username: str, challenge: str, session: str, answers: dict[str, str]
    ) -> dict[str, Any]:
        return self._auth(
            "admin_respond_to_auth_challenge",
            ChallengeName=challenge,
            Session=session,
            ChallengeResponses={**answers, "USERNAME": username},
        )

    def _auth(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            return self._call(
                operation, UserPoolId=self.pool.pool_id, ClientId=self.pool.client_id, **params
            )
        except ClientError as exc:
            code = _code(exc)
            if code in _REFUSED:
                raise Unauthorized(INVALID) from None
            if code == "InvalidPasswordException":  # a new password the policy refuses
                raise InvalidInput(f"password: {_message(exc)}") from None
            log.warning("access.cognito_failed op=%s code=%s", operation, code)
            raise Unavailable(UNAVAILABLE) from exc
