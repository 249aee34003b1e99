"""Team access in the stack: the Cognito user pool people sign in with (password policy, MFA by a
parameter, one group per role, an app client for server-side sign-in), the admin network guard
and audit retention parameters, and an alarm on repeated failed sign-ins.

Federation with the bank's identity provider (SAML or OIDC) is added to this pool as a
`AWS::Cognito::UserPoolIdentityProvider` plus a hosted-UI domain and a client allowed to use it;
the README's "Team access" section says how. The app verifies the pool's access tokens itself
(chalicelib/access/tokens.py), whoever issued the person's identity.
"""

from __future__ import annotations

from typing import Any

from chalicelib.access.roles import ASSIGNABLE
from infra.cfn.common import alarm, sub
from infra.resources import APP_NAME

POOL, CLIENT = "UserPool", "UserPoolClient"
ACCESS_TOKEN_HOURS = 1  # the console signs in again; the contract allows up to 12
FAILED_SIGN_INS_ALARM = 20  # failed sign-ins or bad credentials in 5 minutes

PARAMETERS: dict[str, Any] = {
    "MfaConfiguration": {
        "Type": "String",
        "Default": "OPTIONAL",
        "AllowedValues": ["OFF", "OPTIONAL", "ON"],
        "Description": "MFA (TOTP apps) for people signing in: ON makes it required",
    },
    "PasswordMinimumLength": {
        "Type": "Number",
        "Default": 12,
        "MinValue": 8,
        "MaxValue": 99,
        "Description": "The user pool's minimum password length (upper, lower, digit, symbol too)",
    },
    "AdminAllowedCidrs": {
        "Type": "String",
        "Default": "",
        "Description": "Comma-separated address ranges the admin API answers (empty: any)",
    },
    "AuditTtlDays": {
        "Type": "Number",
        "Default": 400,
        "MinValue": 1,
        "Description": "Days an audit log entry is kept",
    },
}


def _groups() -> dict[str, Any]:
    return {
        f"UserPoolGroup{role.capitalize()}": {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Properties": {
                "GroupName": role,
                "UserPoolId": {"Ref": POOL},
                "Description": f"wxless role {role} (README: Team access)",
                "Precedence": precedence,
            },
        }
        for precedence, role in enumerate(ASSIGNABLE)
    }


def cognito_resources() -> dict[str, Any]:
    res: dict[str, Any] = {
        POOL: {
            "Type": "AWS::Cognito::UserPool",
            "DeletionPolicy": "Retain",  # people and their MFA devices outlive a stack update
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "UserPoolName": sub(f"{APP_NAME}-${{Stage}}-team"),
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                "UsernameConfiguration": {"CaseSensitive": False},
                "Policies": {
                    "PasswordPolicy": {
                        "MinimumLength": {"Ref": "PasswordMinimumLength"},
                        "RequireLowercase": True,
                        "RequireUppercase": True,
                        "RequireNumbers": True,
                        "RequireSymbols": True,
                        "TemporaryPasswordValidityDays": 3,
                    }
                },
                "MfaConfiguration": {"Ref": "MfaConfiguration"},
                "EnabledMfas": {
                    "Fn::If": [
                        "MfaOff",
                        {"Ref": "AWS::NoValue"},
                        ["SOFTWARE_TOKEN_MFA"],
                    ]
                },
                "AccountRecoverySetting": {
                    "RecoveryMechanisms": [{"Name": "admin_only", "Priority": 1}]
                },
                "DeletionProtection": {"Fn::If": ["Protected", "ACTIVE", "INACTIVE"]},
                "UserPoolTags": {"wxless:stage": {"Ref": "Stage"}},
            },
        },
        CLIENT: {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "UserPoolId": {"Ref": POOL},
                "ClientName": sub(f"{APP_NAME}-${{Stage}}-admin"),
                "GenerateSecret": False,
                "ExplicitAuthFlows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "AccessTokenValidity": ACCESS_TOKEN_HOURS,
                "IdTokenValidity": ACCESS_TOKEN_HOURS,
                "RefreshTokenValidity": 12,
                "TokenValidityUnits": {
                    "AccessToken": "hours",
                    "IdToken": "hours",
                    "RefreshToken": "hours",
                },
                "PreventUserExistenceErrors": "ENABLED",
                "EnableTokenRevocation": True,
                "SupportedIdentityProviders": ["COGNITO"],
            },
        },
    }
    res |= _groups()
    res |= _failed_sign_in_alarm()
    return res


def _failed_sign_in_alarm() -> dict[str, Any]:
    """Failed sign-ins and wrong credentials, counted from the API function's log lines
    (`admin.sign_in_failed`, `admin.bad_token`: handlers/gate.py and admin_team.py)."""
    namespace = sub(f"{APP_NAME}-${{Stage}}")
    return {
        "FailedSignInMetricFilter": {
            "Type": "AWS::Logs::MetricFilter",
            "DependsOn": ["StoreFailedMetricFilter"],  # after the API log group exists
            "Properties": {
                "LogGroupName": sub("/aws/lambda/${APIHandler}"),
                "FilterPattern": '?"admin.sign_in_failed" ?"admin.bad_token"',
                "MetricTransformations": [
                    {
                        "MetricNamespace": namespace,
                        "MetricName": "AdminSignInFailed",
                        "MetricValue": "1",
                    }
                ],
            },
        },
        "FailedSignInAlarm": alarm(
            "Repeated failed sign-ins or wrong credentials on the admin API (guessing?)",
            {"Namespace": namespace, "MetricName": "AdminSignInFailed", "Statistic": "Sum"},
            FAILED_SIGN_INS_ALARM,
        ),
    }


def cognito_conditions() -> dict[str, Any]:
    return {"MfaOff": {"Fn::Equals": [{"Ref": "MfaConfiguration"}, "OFF"]}}


def cognito_environment() -> dict[str, Any]:
    return {
        "WXLESS_USER_POOL_ID": {"Ref": POOL},
        "WXLESS_USER_POOL_CLIENT_ID": {"Ref": CLIENT},
        "WXLESS_ADMIN_ALLOWED_CIDRS": {"Ref": "AdminAllowedCidrs"},
        "WXLESS_AUDIT_TTL_DAYS": {"Ref": "AuditTtlDays"},
    }


def cognito_outputs() -> dict[str, Any]:
    return {
        "UserPoolId": {"Value": {"Ref": POOL}},
        "UserPoolClientId": {"Value": {"Ref": CLIENT}},
    }


#: What the API function may do in the pool (server-side sign-in and the users routes).
COGNITO_ACTIONS = [
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminSetUserPassword",
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminRemoveUserFromGroup",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminDeleteUser",
    "cognito-idp:AdminUserGlobalSignOut",
    "cognito-idp:AdminInitiateAuth",
    "cognito-idp:AdminRespondToAuthChallenge",
]


def cognito_statement() -> dict[str, Any]:
    return {
        "Sid": "TeamUserPool",
        "Effect": "Allow",
        "Action": COGNITO_ACTIONS,
        "Resource": [{"Fn::GetAtt": [POOL, "Arn"]}],
    }
