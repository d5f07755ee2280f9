"""Where the pipeline's Lambdas and Fargate tasks run: the VPC, their subnets and their security group.

With `vpc_id` the existing VPC (the one that reaches the PostgreSQL database) is looked up; without it a
small VPC is created. Either way the compute runs in private subnets with outbound internet access
(Snowflake, Secrets Manager, SES) and accepts no inbound traffic. The database's security group must
admit `security_group` on its port; that rule belongs to the database and is managed outside CDK.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct


class PipelineNetwork(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, vpc_id: str | None, log_retention: logs.RetentionDays
    ) -> None:
        super().__init__(scope, construct_id)
        if vpc_id:
            self.vpc: ec2.IVpc = ec2.Vpc.from_lookup(self, "Vpc", vpc_id=vpc_id)
        else:
            vpc = ec2.Vpc(
                self,
                "Vpc",
                max_azs=2,
                nat_gateways=1,  # one NAT: the pipeline is a batch job, an AZ outage only delays a run
                subnet_configuration=[
                    ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                    ec2.SubnetConfiguration(
                        name="compute", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                    ),
                ],
            )
            vpc.add_flow_log(
                "FlowLog",
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                    logs.LogGroup(self, "FlowLogs", retention=log_retention)
                ),
            )
            self.vpc = vpc
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.security_group = ec2.SecurityGroup(
            self,
            "Compute",
            vpc=self.vpc,
            description="visit-conflicts Lambdas and Fargate tasks: outbound only",
            allow_all_outbound=True,
        )
