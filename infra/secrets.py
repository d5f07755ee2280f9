"""The two database credentials, looked up by name in Secrets Manager.

Credentials are created and rotated outside CDK; this stack only knows their names (the same names
config/<env>.toml gives the runtime) and grants read access to the compute that opens each connection:
the Snowflake secret to the steps that query Snowflake, the PostgreSQL secret to every step. A secret
encrypted with a customer-managed KMS key also needs kms:Decrypt on that key, through Secrets Manager
only. The secret JSON shapes are in docs/runbook.md ("Secrets").
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct


class PipelineSecrets(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_secret_name: str,
        target_secret_name: str,
        source_kms_key_arn: str | None = None,
        target_kms_key_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.source = secretsmanager.Secret.from_secret_name_v2(self, "Source", source_secret_name)
        self.target = secretsmanager.Secret.from_secret_name_v2(self, "Target", target_secret_name)
        self._keys = {"source": source_kms_key_arn, "target": target_kms_key_arn}

    def grant_read_source(self, grantee: iam.IGrantable) -> None:
        """The Snowflake secret: only for compute that queries Snowflake."""
        self.source.grant_read(grantee)
        self._grant_decrypt(grantee, self._keys["source"])

    def grant_read_target(self, grantee: iam.IGrantable) -> None:
        """The PostgreSQL secret: every step opens the database."""
        self.target.grant_read(grantee)
        self._grant_decrypt(grantee, self._keys["target"])

    def grant_read(self, grantee: iam.IGrantable) -> None:
        self.grant_read_source(grantee)
        self.grant_read_target(grantee)

    def _grant_decrypt(self, grantee: iam.IGrantable, key_arn: str | None) -> None:
        if key_arn is None:
            return
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[key_arn],
                # The key decrypts only on behalf of Secrets Manager, not for any caller.
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{Stack.of(self).region}.amazonaws.com"
                    }
                },
            )
        )
