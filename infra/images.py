"""The lifecycle of the pipeline's container images.

CDK publishes image assets to the bootstrap's ECR repository, tagged `<DOCKER_TAG_PREFIX><hash>` (the
stack's synthesizer sets the prefix). Every deploy that changes the code pushes new images, and nothing
expires them, so this construct puts a lifecycle policy on that repository at every deploy: keep the
newest `ECR_IMAGES_KEPT` images with this app's tag prefix, expire untagged ones after a week (a
re-bootstrap that resets the policy is corrected by the next deploy). Images of other apps in the same
repository carry other tags and are untouched by the prefix rule.
"""

from __future__ import annotations

import json

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra import constants as c


def lifecycle_policy() -> dict[str, object]:
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"keep the newest {c.ECR_IMAGES_KEPT} visit-conflicts images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPrefixList": [c.DOCKER_TAG_PREFIX],
                    "countType": "imageCountMoreThan",
                    "countNumber": c.ECR_IMAGES_KEPT,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": "untagged images are leftovers of interrupted pushes",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 7,
                },
                "action": {"type": "expire"},
            },
        ]
    }


class ImageLifecycle(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, repository_name: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        repository_arn = stack.format_arn(service="ecr", resource="repository", resource_name=repository_name)
        self.policy = cr.AwsCustomResource(
            self,
            "Policy",
            on_update=cr.AwsSdkCall(
                service="ECR",
                action="putLifecyclePolicy",
                parameters={
                    "repositoryName": repository_name,
                    "lifecyclePolicyText": json.dumps(lifecycle_policy()),
                },
                physical_resource_id=cr.PhysicalResourceId.of(f"lifecycle-{repository_name}"),
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["ecr:PutLifecyclePolicy"], resources=[repository_arn])]
            ),
            install_latest_aws_sdk=False,
        )
