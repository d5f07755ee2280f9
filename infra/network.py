"""Where the pipeline's Lambdas and Fargate tasks run: the environment's existing VPC, imported from the
attributes in cdk.json (no lookup, so synth needs no AWS credentials), its private subnets, and a
security group for the compute.

The compute's security group accepts no inbound traffic and sends only what the pipeline needs: HTTPS
(Snowflake, Secrets Manager, SES, Step Functions, ECR, CloudWatch) and the database port to the
database's security group, on which this stack adds the matching ingress rule. Outbound internet goes
through the VPC's NAT gateways, whose public IPs the stack outputs for the Snowflake network policy
(read from EC2 at deploy time, not typed by hand); an S3 gateway endpoint keeps image layers off the NAT.
"""

from __future__ import annotations

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.config import DatabaseConfig, NetworkConfig
from infra.nag import acknowledge


class PipelineNetwork(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, network: NetworkConfig, database: DatabaseConfig
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc: ec2.IVpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id=network.vpc_id,
            availability_zones=network.availability_zones,
            private_subnet_ids=network.private_subnet_ids,
            private_subnet_route_table_ids=network.private_subnet_route_table_ids,
        )
        self.subnets = ec2.SubnetSelection(subnets=self.vpc.private_subnets)
        self.security_group = ec2.SecurityGroup(
            self,
            "Compute",
            vpc=self.vpc,
            description="visit-conflicts Lambdas and Fargate tasks: HTTPS out and the database port",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "Snowflake and AWS APIs over HTTPS"
        )
        self.database = ec2.SecurityGroup.from_security_group_id(
            self, "Database", database.security_group_id, mutable=True, allow_all_outbound=False
        )
        self.security_group.add_egress_rule(
            self.database, ec2.Port.tcp(database.port), "the PostgreSQL database"
        )
        # The rule lives on the database's group (created by this stack as a separate resource).
        self.database.add_ingress_rule(
            self.security_group, ec2.Port.tcp(database.port), "visit-conflicts pipeline compute"
        )
        if network.s3_gateway_endpoint:
            ec2.GatewayVpcEndpoint(
                self,
                "S3Endpoint",
                vpc=self.vpc,
                service=ec2.GatewayVpcEndpointAwsService.S3,
                subnets=[self.subnets],
            )
        self._output_nat_ips(network.nat_gateway_ids)

    def _output_nat_ips(self, nat_gateway_ids: list[str]) -> None:
        """The public IP of each NAT gateway, as a stack output (the Snowflake allowlist)."""
        for index, nat_id in enumerate(nat_gateway_ids):
            lookup = cr.AwsCustomResource(
                self,
                f"NatGateway{index}",
                on_update=cr.AwsSdkCall(
                    service="EC2",
                    action="describeNatGateways",
                    parameters={"NatGatewayIds": [nat_id]},
                    physical_resource_id=cr.PhysicalResourceId.of(f"nat-ip-{nat_id}"),
                    output_paths=["NatGateways.0.NatGatewayAddresses.0.PublicIp"],
                ),
                policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
                    resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
                ),
                install_latest_aws_sdk=False,
            )
            CfnOutput(
                self,
                f"NatPublicIp{index}",
                value=lookup.get_response_field("NatGateways.0.NatGatewayAddresses.0.PublicIp"),
                description=f"public IP of {nat_id}: add it to the Snowflake network policy",
            )
            acknowledge(
                lookup,
                "IAM5[Resource::*]",
                "ec2:DescribeNatGateways has no resource-level permissions; the lookup only reads the "
                "public IPs of the NAT gateways named in cdk.json",
            )
