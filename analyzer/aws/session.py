"""The boto3 session and clients pgqa uses, and one-line messages for the AWS errors a user can act on.

Throttling is retried by botocore (standard mode, or what AWS_RETRY_MODE says), never by a loop of
ours; once botocore gives up, the call fails with a clear line naming the IAM action involved.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from analyzer.errors import PgqaError

DEFAULT_MAX_ATTEMPTS = 5
ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "NotAuthorizedException",
                 "UnauthorizedOperation", "UnrecognizedClientException", "InvalidClientTokenId",
                 "ExpiredToken", "ExpiredTokenException", "AuthFailure"}
THROTTLED = {"Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
             "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException",
             "SlowDown", "ProvisionedThroughputExceededException"}
NOT_FOUND = {"DBInstanceNotFound", "DBInstanceNotFoundFault", "DBProxyNotFoundFault",
             "ResourceNotFoundException"}
# IAM action prefixes that differ from botocore's signing name
_IAM_PREFIX = {"monitoring": "cloudwatch"}


class SessionLike(Protocol):
    """What pgqa needs from a boto3.Session; tests pass an object that hands out stubbed clients."""

    def client(self, service_name: str, **kwargs: Any) -> Any: ...


class AwsError(PgqaError):
    """An AWS call that failed in a way the user can fix; `kind` is skipped or error."""

    exit_code = 3

    def __init__(self, message: str, kind: str = "error", action: str = "",
                 session_wide: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.action = action
        # no credentials, region or instance: every other AWS source of the run fails the same way
        self.session_wide = session_wide


def client_config() -> Config:
    """Retries for throttling and transient errors, by botocore. AWS_MAX_ATTEMPTS and
    AWS_RETRY_MODE (standard | adaptive) are honoured as in the AWS CLI."""
    mode = os.environ.get("AWS_RETRY_MODE", "standard")
    if mode not in ("standard", "adaptive"):
        mode = "standard"
    try:
        attempts = max(1, int(os.environ.get("AWS_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)))
    except ValueError:
        attempts = DEFAULT_MAX_ATTEMPTS
    # total_max_attempts counts the first try, like AWS_MAX_ATTEMPTS (botocore's "max_attempts"
    # key counts retries only)
    return Config(retries={"mode": mode, "total_max_attempts": attempts}, connect_timeout=5,
                  read_timeout=20, user_agent_extra="pgqa")


def make_session(profile: str | None = None, region: str | None = None) -> SessionLike:
    """A boto3 session over the standard credential chain."""
    import boto3

    try:
        return boto3.Session(profile_name=profile or None, region_name=region or None)
    except ProfileNotFound as e:
        raise AwsError(f"AWS profile not found: {e.kwargs.get('profile', profile)}; check --profile "
                       "or AWS_PROFILE against ~/.aws/config", "skipped", session_wide=True) from None


def session_for(options: Any) -> SessionLike:
    """The session a run uses: options.extra["aws_session"] when a caller (a test) injected one,
    else a boto3 session from --profile / --region / the environment."""
    extra = getattr(options, "extra", None) or {}
    injected = extra.get("aws_session")
    if injected is not None:
        return injected  # type: ignore[no-any-return]
    return make_session(getattr(options, "profile", None), getattr(options, "region", None))


def client(session: SessionLike, service: str) -> Any:
    try:
        return session.client(service, config=client_config())
    except NoRegionError:
        raise AwsError("no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION",
                       "skipped", session_wide=True) from None
    except BotoCoreError as e:
        raise AwsError(f"cannot create the {service} client: {e}", "error") from None


def iam_action(aws_client: Any, method: str) -> str:
    meta = aws_client.meta
    prefix = meta.service_model.signing_name or meta.service_model.endpoint_prefix
    op = meta.method_to_api_mapping.get(method, method)
    return f"{_IAM_PREFIX.get(prefix, prefix)}:{op}"


def describe_error(exc: Exception, action: str) -> AwsError:
    """One line saying what failed and what to do."""
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return AwsError("no AWS credentials found: pass --profile, set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                        "AWS_SECRET_ACCESS_KEY, or run where an IAM role is attached", "skipped", action,
                        session_wide=True)
    if isinstance(exc, NoRegionError):
        return AwsError("no AWS region: pass --region or set AWS_REGION", "skipped", action,
                        session_wide=True)
    if isinstance(exc, EndpointConnectionError):
        return AwsError(f"cannot reach the AWS endpoint for {action}: {exc}", "error", action)
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        msg = str(err.get("Message", "")).strip().splitlines()[0] if err.get("Message") else ""
        if code in ACCESS_DENIED:
            return AwsError(f"access denied ({code}): the caller lacks the IAM permission {action}; "
                            f"grant it to the role or user pgqa runs as", "skipped", action)
        if code in THROTTLED:
            attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            return AwsError(f"throttled by AWS on {action} ({code}) after {attempts + 1} attempts; "
                            "try again later or raise AWS_MAX_ATTEMPTS", "error", action)
        if code in NOT_FOUND:
            return AwsError(f"not found ({code}) on {action}: {msg or 'check the name and --region'}",
                            "error", action)
        return AwsError(f"{action} failed ({code}): {msg or 'no message'}", "error", action)
    if isinstance(exc, BotoCoreError):
        return AwsError(f"{action} failed: {exc}", "error", action)
    return AwsError(f"{action} failed: {exc}", "error", action)


def call(aws_client: Any, method: str, **kwargs: Any) -> dict[str, Any]:
    """One API call; AWS errors become AwsError with a one-line message."""
    action = iam_action(aws_client, method)
    try:
        return getattr(aws_client, method)(**kwargs)  # type: ignore[no-any-return]
    except (ClientError, BotoCoreError) as e:
        raise describe_error(e, action) from None


def pages(aws_client: Any, method: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every page of a paginated call, through botocore's paginator."""
    action = iam_action(aws_client, method)
    try:
        yield from aws_client.get_paginator(method).paginate(**kwargs)
    except (ClientError, BotoCoreError) as e:
        raise describe_error(e, action) from None

