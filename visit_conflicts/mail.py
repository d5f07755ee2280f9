"""The report email (D22) through SES, when the environment enables it."""

from __future__ import annotations

from typing import Any

from visit_conflicts.config import EmailParams
from visit_conflicts.report import email_subject, render_html, render_text


def send_report_email(email: EmailParams, report: dict[str, Any]) -> None:
    """Send the report to the configured recipients: text and HTML parts of the same content."""
    import boto3

    client = boto3.client("ses", region_name=email.region)
    client.send_email(
        Source=email.sender,
        Destination={"ToAddresses": list(email.recipients)},
        Message={
            "Subject": {"Data": email_subject(email.subject_prefix, report), "Charset": "UTF-8"},
            "Body": {
                "Text": {"Data": render_text(report), "Charset": "UTF-8"},
                "Html": {"Data": render_html(report), "Charset": "UTF-8"},
            },
        },
    )
