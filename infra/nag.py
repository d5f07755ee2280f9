"""Acknowledging cdk-nag (AwsSolutions) findings, always with a reason.

cdk-nag 3 uses CDK's own Validations API; an acknowledgement names one finding (rule id plus, for
IAM findings, the exact action/resource/policy) on the construct that causes it.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

PACK = "AwsSolutions"


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge `finding` (e.g. "IAM5[Resource::*]") of the AwsSolutions pack on `construct`."""
    if not reason.strip():
        raise ValueError(f"acknowledging {finding} needs a reason")
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{PACK}::{PACK}-{finding}", reason=reason))
