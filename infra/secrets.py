"""The two database credentials, looked up by name in Secrets Manager.

Credentials are created and rotated outside CDK; this stack only knows their names (the same names
config/<env>.toml gives the runtime) and grants read access to the compute that opens connections.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct


class PipelineSecrets(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, source_secret_name: str, target_secret_name: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.source = secretsmanager.Secret.from_secret_name_v2(self, "Source", source_secret_name)
        self.target = secretsmanager.Secret.from_secret_name_v2(self, "Target", target_secret_name)

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Read both secrets: every step opens both databases (`adapters.resources` reads both)."""
        self.source.grant_read(grantee)
        self.target.grant_read(grantee)
