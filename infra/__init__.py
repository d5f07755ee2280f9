"""CDK constructs of the AWS deployment: one construct per concern, composed by `infra.stack`.

Nothing here imports runtime code except the step list (`visit_conflicts.pipeline`), which the state
machine, the Lambda functions and the Fargate task are built from.
"""
