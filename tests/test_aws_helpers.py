"""Shared pieces of the AWS tests (no tests here): credentials that never reach AWS, a session that
hands out prepared clients, moto seeding, and replay of recorded responses through botocore's own
parser (for what moto does not model: PI, Lambda's GetAccountSettings, proxy target health)."""

from __future__ import annotations

import copy
import io
import json
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import ANY, Stubber

from analyzer.aws.session import client_config
from analyzer.sources import insights

DATA = Path(__file__).parent / "data" / "aws"
REGION = "us-east-1"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fake credentials and a region; no config files, no instance metadata lookups."""
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_RETRY_MODE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield


def no_credentials_env(tmp_path: Path) -> dict[str, str]:
    """An environment for a pgqa subprocess in which the credential chain finds nothing."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none-config"), AWS_SHARED_CREDENTIALS_FILE=str(
        tmp_path / "none-credentials"), AWS_EC2_METADATA_DISABLED="true", AWS_DEFAULT_REGION=REGION)
    return env


class FakeSession:
    """Stands in for boto3.Session: prepared clients by service, real ones (moto) otherwise."""

    def __init__(self, real: Any = None, **clients: Any) -> None:
        self.clients = clients
        self.real = real or boto3.Session(region_name=REGION)

    def client(self, service_name: str, **kwargs: Any) -> Any:
        if service_name in self.clients:
            return self.clients[service_name]
        return self.real.client(service_name, **kwargs)


# -- replay of recorded responses through botocore's parser ------------------------------------

class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.body


def replay(aws_client: Any, operation: str, body: bytes, status: int = 200,
           headers: dict[str, str] | None = None) -> list[Any]:
    """Answer `operation` on this client with a recorded HTTP response; botocore parses it (and its
    retry handler sees it) as if it came from AWS. Returns the list of requests answered."""
    seen: list[Any] = []
    service = aws_client.meta.service_model.service_id.hyphenize()

    def handler(request: Any, **kwargs: Any) -> AWSResponse:
        seen.append(request)
        head = {"x-amzn-requestid": f"replay-{len(seen)}", **(headers or {})}
        return AWSResponse(request.url, status, head, _Raw(body))

    aws_client.meta.events.register_first(f"before-send.{service}.{operation}", handler)
    return seen


def cbor(value: Any) -> bytes:
    """Minimal CBOR encoder (maps, strings, ints, floats, lists) for rpc-v2-cbor error bodies."""
    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        if n < 256:
            return bytes([major << 5 | 24, n])
        if n < 65536:
            return bytes([major << 5 | 25]) + struct.pack(">H", n)
        return bytes([major << 5 | 26]) + struct.pack(">I", n)

    if isinstance(value, str):
        raw = value.encode()
        return head(3, len(raw)) + raw
    if isinstance(value, bool):
        return bytes([0xF5 if value else 0xF4])
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, float):
        return bytes([0xFB]) + struct.pack(">d", value)
    if isinstance(value, list):
        return head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(type(value))


CBOR_HEADERS = {"smithy-protocol": "rpc-v2-cbor", "content-type": "application/cbor"}


def error_body(aws_client: Any, code: str, message: str) -> tuple[bytes, dict[str, str]]:
    """An AWS error response in the protocol botocore resolved for this client (json or rpc-v2-cbor)."""
    model = aws_client.meta.service_model
    protocol = getattr(model, "resolved_protocol", model.protocol)
    if protocol == "smithy-rpc-v2-cbor":
        return cbor({"__type": code, "message": message}), CBOR_HEADERS
    if protocol == "json":
        return (json.dumps({"__type": code, "message": message}).encode(),
                {"content-type": "application/x-amz-json-1.1"})
    raise ValueError(f"no error body for protocol {protocol}")


def assert_schema(report_json: dict[str, Any]) -> None:
    """The report keeps the pgqa.report/1 contract (docs/report-schema.json)."""
    import jsonschema

    schema = json.loads((Path(__file__).parent.parent / "docs" / "report-schema.json").read_text())
    jsonschema.validate(report_json, schema)


def recorded(name: str) -> Any:
    path = DATA / name
    return json.loads(path.read_text()) if path.suffix == ".json" else path.read_bytes()


# -- moto seeding --------------------------------------------------------------------------------

class Seeder:
    """Seeds moto through one session (creating a boto3 session per call costs ~1 s each)."""

    def __init__(self) -> None:
        self.session = boto3.Session(region_name=REGION)
        self._clients: dict[str, Any] = {}
        self._role: str | None = None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def pgqa_client(self, service: str) -> Any:
        """A fresh client configured the way pgqa configures its own (retries included)."""
        return self.session.client(service, config=client_config())

    def instance(self, name: str = "ats-db", instance_class: str = "db.t4g.micro") -> dict[str, Any]:
        rds = self.client("rds")
        rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass=instance_class, Engine="postgres",
                               EngineVersion="17.6", MasterUsername="ats_admin",
                               MasterUserPassword="not-a-secret-1", AllocatedStorage=20)
        return rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]  # type: ignore[no-any-return]

    def proxy(self, name: str, instance: str) -> dict[str, Any]:
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")
                   ["Subnet"]["SubnetId"] for i, z in enumerate("ab")]
        rds = self.client("rds")
        proxy = rds.create_db_proxy(
            DBProxyName=name, EngineFamily="POSTGRESQL",
            RoleArn="arn:aws:iam::123456789012:role/proxy-secrets",
            Auth=[{"AuthScheme": "SECRETS", "IAMAuth": "DISABLED",
                   "SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ats-db"}],
            VpcSubnetIds=subnets)["DBProxy"]
        rds.register_db_proxy_targets(DBProxyName=name, DBInstanceIdentifiers=[instance])
        return proxy  # type: ignore[no-any-return]

    def role(self) -> str:
        if self._role is None:
            trust = {"Effect": "Allow", "Action": "sts:AssumeRole",
                     "Principal": {"Service": "lambda.amazonaws.com"}}
            doc = {"Version": "2012-10-17", "Statement": [trust]}
            self._role = self.client("iam").create_role(
                RoleName="ats-lambda", AssumeRolePolicyDocument=json.dumps(doc))["Role"]["Arn"]
        return self._role

    def function(self, name: str, env: dict[str, str], timeout: int = 3, memory: int = 128,
                 reserved: int | None = None) -> None:
        lam = self.client("lambda")
        lam.create_function(FunctionName=name, Runtime="nodejs20.x", Role=self.role(),
                            Handler="index.handler",
                            Code={"ZipFile": _ZIP}, Timeout=timeout, MemorySize=memory,
                            Environment={"Variables": env})
        if reserved is not None:
            lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.js", "exports.handler = async () => ({statusCode: 200});\n")
    return buf.getvalue()


_ZIP = _zip()


# -- Performance Insights through the Stubber ---------------------------------------------------

DBI = "db-ABCDEFGHIJKLMNOPQRSTU1VW2X"


def _base(**extra: Any) -> dict[str, Any]:
    return {"ServiceType": "RDS", "Identifier": DBI, **extra}


def top_params(next_token: str | None = None) -> dict[str, Any]:
    p = _base(StartTime=ANY, EndTime=ANY, Metric="db.load.avg", PeriodInSeconds=60,
              GroupBy={"Group": "db.sql_tokenized", "Limit": 25, "Dimensions": insights.TOKENIZED_DIMENSIONS},
              PartitionBy={"Group": "db.wait_event_type"}, MaxResults=25, AdditionalMetrics=ANY)
    if next_token:
        p["NextToken"] = next_token
    return p


class Stubs:
    """rds and pi clients behind Stubbers, loaded with the recorded conversation."""

    def __init__(self, seed: Seeder, data: dict[str, Any] | None = None) -> None:
        self.data = data or recorded("pi_top_sql.json")
        self.rds = seed.pgqa_client("rds")
        self.pi = seed.pgqa_client("pi")
        self.rds_stub, self.pi_stub = Stubber(self.rds), Stubber(self.pi)
        self.session = FakeSession(seed.session, rds=self.rds, pi=self.pi)

    def instance(self, pi_enabled: bool = True) -> Stubs:
        inst = copy.deepcopy(self.data["instance"])
        inst["DBInstances"][0]["PerformanceInsightsEnabled"] = pi_enabled
        self.rds_stub.add_response("describe_db_instances", inst, {"DBInstanceIdentifier": "ats-db"})
        return self

    def metrics(self) -> Stubs:
        self.pi_stub.add_response("list_available_resource_metrics", self.data["metrics"],
                                  _base(MetricTypes=["db.sql_tokenized.stats"], MaxResults=25))
        return self

    def pages(self) -> Stubs:
        first, second = self.data["pages"]
        self.pi_stub.add_response("describe_dimension_keys", first, top_params())
        self.pi_stub.add_response("describe_dimension_keys", second, top_params(first["NextToken"]))
        return self

    def full_text(self, status: str = "AVAILABLE") -> Stubs:
        self.pi_stub.add_response("describe_dimension_keys", self.data["sql_keys"], _base(
            StartTime=ANY, EndTime=ANY, Metric="db.load.avg", PeriodInSeconds=60,
            GroupBy={"Group": "db.sql", "Limit": 1, "Dimensions": ["db.sql.id", "db.sql.tokenized_id"]},
            Filter={"db.sql.tokenized_id": "tok-KPIUNION"}))
        details = copy.deepcopy(self.data["details"])
        details["Dimensions"][0]["Status"] = status
        if status != "AVAILABLE":
            del details["Dimensions"][0]["Value"]
        self.pi_stub.add_response("get_dimension_key_details", details, _base(
            Group="db.sql", GroupIdentifier="sql-KPIUNION01", RequestedDimensions=["db.sql.statement"]))
        return self

    def __enter__(self) -> Stubs:
        self.rds_stub.activate()
        self.pi_stub.activate()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.rds_stub.deactivate()
        self.pi_stub.deactivate()
