"""The user pool of a local run (moto's cognito-idp): what the stack's template declares for a
deployed stage (infra/cfn/cognito.py), made with API calls against the embedded emulator.

`make run` calls `create_pool()` before it starts the app and puts the ids into the app's
environment (WXLESS_USER_POOL_ID, WXLESS_USER_POOL_CLIENT_ID, and WXLESS_COGNITO_JWKS_URL: moto
serves the pool's keys at `<endpoint>/<pool id>/.well-known/jwks.json`, not at the issuer's
address). Tests use the same function.
"""

from __future__ import annotations

from typing import Any

from chalicelib.access.roles import ASSIGNABLE

POOL_NAME = "wxless-local"
#: Looser than the deployed default (12, infra/cfn/cognito.py) so demo passwords are short.
LOCAL_MIN_LENGTH = 6  # the lowest Cognito takes
ACCESS_TOKEN_HOURS = 1


def pool_spec(min_length: int) -> dict[str, Any]:
    return {
        "Policies": {
            "PasswordPolicy": {
                "MinimumLength": min_length,
                "RequireUppercase": False,
                "RequireLowercase": False,
                "RequireNumbers": False,
                "RequireSymbols": False,
            }
        },
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
        "MfaConfiguration": "OPTIONAL",
        "UsernameConfiguration": {"CaseSensitive": False},
    }


def create_pool(cognito: Any, name: str = POOL_NAME) -> tuple[str, str]:
    """A pool with one group per role and an app client for server-side sign-in: (pool id,
    client id)."""
    pool = cognito.create_user_pool(PoolName=name, **pool_spec(LOCAL_MIN_LENGTH))["UserPool"]
    pool_id = pool["Id"]
    cognito.set_user_pool_mfa_config(
        UserPoolId=pool_id,
        SoftwareTokenMfaConfiguration={"Enabled": True},
        MfaConfiguration="OPTIONAL",
    )
    for role in ASSIGNABLE:
        cognito.create_group(GroupName=role, UserPoolId=pool_id, Description=f"wxless {role}")
    client = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="wxless-admin",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        AccessTokenValidity=ACCESS_TOKEN_HOURS,
        TokenValidityUnits={"AccessToken": "hours"},
        PreventUserExistenceErrors="ENABLED",
    )["UserPoolClient"]
    return pool_id, client["ClientId"]


class LocalPool:
    """The local pool's people kept across `make run` restarts (infra/local_state.py): moto runs
    in this process, so its users (name, password, enabled, groups) are read from its backend
    and made again, through the API, in the next run's new pool. The pool's id changes, so
    earlier tokens stop working: people sign in again. Dev data only (.local/state is
    git-ignored); a deployed stage keeps its people in Cognito itself."""

    def __init__(self, cognito: Any, pool_id: str) -> None:
        self.cognito = cognito
        self.pool_id = pool_id

    def _users(self) -> dict[str, Any]:
        from moto.cognitoidp.models import cognitoidp_backends

        for regions in cognitoidp_backends.values():
            for backend in regions.values():
                pool = backend.user_pools.get(self.pool_id)
                if pool is not None:
                    return dict(pool.users)
        return {}

    def export_state(self) -> list[dict[str, Any]]:
        return [
            {
                "username": name,
                "password": user.password,
                "enabled": bool(user.enabled),
                "groups": sorted(group.group_name for group in user.groups),
            }
            for name, user in sorted(self._users().items())
        ]

    def signature(self) -> str:
        return repr(self.export_state())

    def load_state(self, saved: list[dict[str, Any]]) -> int:
        made = 0
        for user in saved:
            name = user["username"]
            self.cognito.admin_create_user(
                UserPoolId=self.pool_id, Username=name, MessageAction="SUPPRESS"
            )
            if user.get("password"):
                self.cognito.admin_set_user_password(
                    UserPoolId=self.pool_id,
                    Username=name,
                    Password=user["password"],
                    Permanent=True,
                )
            for group in user.get("groups") or []:
                self.cognito.admin_add_user_to_group(
                    UserPoolId=self.pool_id, Username=name, GroupName=group
                )
            if not user.get("enabled", True):
                self.cognito.admin_disable_user(UserPoolId=self.pool_id, Username=name)
            made += 1
        return made
