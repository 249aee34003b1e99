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
LOCAL_MIN_LENGTH = 8
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
