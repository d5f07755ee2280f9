"""CDK entry point: `cdk synth -c env=dev` builds the stack of that environment.

Per-environment values come from cdk.json context (`environments.<env>`), validated by
`infra.config`; the stack is built from the step list in `visit_conflicts/pipeline.py`.
"""

from __future__ import annotations

from aws_cdk import App, Environment

from infra.config import check_runtime_config, load_environment
from infra.stack import PipelineStack


def create_stack(app: App) -> PipelineStack:
    """The stack of the environment selected with `-c env=<name>`, from the app's context."""
    environment = app.node.try_get_context("env")
    config = load_environment({"environments": app.node.try_get_context("environments")}, environment)
    check_runtime_config(config)
    return PipelineStack(
        app,
        config.stack_name,
        config=config,
        env=Environment(account=config.account, region=config.region),
        description=f"visit-conflicts pipeline ({config.name})",
        termination_protection=config.name == "prod",
    )


def main() -> None:
    app = App()
    create_stack(app)
    app.synth()


if __name__ == "__main__":
    main()
