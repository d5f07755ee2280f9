"""Every fixed name and number of the deployment, in one place.

Per-environment values (account, sizes, schedule, ...) are not here: they come from cdk.json context
through `infra.config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aws_cdk import aws_logs as logs

# The Docker build context is the repository root: the image needs the package, sql/ and config/.
REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DOCKERFILE: Final = "containers/Dockerfile"
FARGATE_BUILD_TARGET: Final = "fargate"
LAMBDA_BUILD_TARGET: Final = "lambda"
# The environment's runtime parameters (secret names, email placeholders) live here.
RUNTIME_CONFIG_DIR: Final = REPO_ROOT / "config"

STACK_NAME_TEMPLATE: Final = "VisitConflicts-{environment}"
STATE_MACHINE_NAME_TEMPLATE: Final = "visit-conflicts-{environment}"
MIGRATE_STATE_MACHINE_NAME_TEMPLATE: Final = "visit-conflicts-{environment}-migrate"
# The state machine's log group: Step Functions' log delivery needs a /aws/vendedlogs/ name to stay
# within CloudWatch Logs' resource-policy size limit.
STATE_MACHINE_LOG_GROUP_TEMPLATE: Final = "/aws/vendedlogs/states/visit-conflicts-{environment}"
# Tags of this app's images in the bootstrap's asset repository: the ECR lifecycle rule keeps the
# newest images with this prefix.
DOCKER_TAG_PREFIX: Final = "visit-conflicts-"
ECR_IMAGES_KEPT: Final = 20
# The Lambda that ends a run the state machine could not close (abnormal end), beside the step Lambdas.
ABNORMAL_END_HANDLER: Final = "functions.cleanup.handler"
# The operators' explain Lambda (docs/explain.md): not a step, the state machine never invokes it.
EXPLAIN_HANDLER: Final = "functions.explain.handler"
MIGRATE_COMMAND: Final = "migrate"
CONTAINER_NAME: Final = "pipeline"
LAMBDA_HANDLER_TEMPLATE: Final = "functions.{step}.handler"
LAMBDA_MEMORY_MIB: Final = 1024
LAMBDA_MAX_TIMEOUT_SECONDS: Final = 900

# Environment variables of the deployed Lambdas and containers: names and non-secret values only.
ENV_ENVIRONMENT: Final = "VC_ENVIRONMENT"  # selects config/<environment>.toml, which names the secrets
ENV_EMAIL_SENDER: Final = "EMAIL_SENDER"  # fills ${EMAIL_SENDER} in the config file
ENV_EMAIL_RECIPIENTS: Final = "EMAIL_RECIPIENTS"  # fills ${EMAIL_RECIPIENTS}
ENV_REGION: Final = "AWS_REGION"  # fills ${AWS_REGION}; Lambda sets it itself (reserved there)
ENV_PAYLOAD: Final = "VC_PAYLOAD"  # set per task by the state machine: {"run_id","context","params"}
DEPLOYED_ENV_NAMES: Final = frozenset(
    {ENV_ENVIRONMENT, ENV_EMAIL_SENDER, ENV_EMAIL_RECIPIENTS, ENV_REGION, ENV_PAYLOAD}
)

# Paths of the state machine's JSON document (JSONPath query language).
RUN: Final = "$.run"  # preflight's result: payload, chunks, selected steps
RUN_STEPS: Final = "$.run.steps"
RUN_CHUNKS: Final = "$.run.chunks"
RUN_PAYLOAD: Final = "$.run.payload"
SELECTION: Final = "$.selection"
ERROR: Final = "$.error"
END: Final = "$.end"  # how the work ended: {"outcome", "error"}, set on the success and the catch path
RESTORE_RESULT: Final = "$.restore"
REPORT_RESULT: Final = "$.report"
CHUNK: Final = "$.chunk"
TASK_FAILURE: Final = "$.taskFailure"  # an ECS task's failure, inside the classifying Parallel

# Exit codes of the container (visit_conflicts.errors): 75 = transient, retried; anything else is not.
# An ECS task that could not start (image pull, ENI, capacity) is transient too.
EXIT_TRANSIENT: Final = 75
ERROR_PERMANENT: Final = "PermanentError"
# Lambda's own service errors, worth a retry whatever the function does. The Lambda tasks retry them
# in the one retrier of their step (backoff, full jitter) instead of CDK's default retrier (no jitter,
# six attempts), so a step's worst case counts every retry there is.
LAMBDA_SERVICE_ERRORS: Final = (
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)

# Outcomes understood by the cleanup step (same words as the local runner).
OUTCOME_SUCCEEDED: Final = "succeeded"
OUTCOME_FAILED: Final = "failed"
OUTCOME_CANCELLED: Final = "cancelled"

# Error names of the state machine's own Fail states. Executions that end in one of them already ran
# their closing states (restore, report), so the abnormal-end rules leave them alone (D19).
ERROR_RUN_NOT_SUCCEEDED: Final = "VisitConflicts.RunNotSucceeded"
OWN_FAIL_ERRORS: Final = (ERROR_RUN_NOT_SUCCEEDED,)

# Names of the states that are not steps (step states are named after their step).
STATE_WORK_SUCCEEDED: Final = "Work succeeded"
STATE_WORK_FAILED: Final = "Work failed"
STATE_RUN_SUCCEEDED: Final = "Run succeeded?"
STATE_TASK_SUFFIX: Final = " task"  # the ECS task inside a step's classifying Parallel
STATE_CLASSIFY_SUFFIX: Final = " exit?"
STATE_TRANSIENT_SUFFIX: Final = " transient"
STATE_PERMANENT_SUFFIX: Final = " permanent"
STATE_SUCCEED: Final = "Done"
STATE_FAIL_STEP: Final = "Step failed"
STATE_FAIL_RUN: Final = "Run not succeeded"
STATE_CHUNK_SUFFIX: Final = " chunk"
STATE_SELECT_TEMPLATE: Final = "Select {step}"
STATE_RUN_TEMPLATE: Final = "Run {step}?"

SCHEDULE_INPUT: Final[dict[str, dict[str, object]]] = {
    "params": {}
}  # a scheduled run uses the environment's config unchanged

ALARM_PERIOD_MINUTES: Final = 5
# "No successful run in 26 h": a nightly run plus two hours of slack.
NO_SUCCESS_HOURS: Final = 26
METRICS_NAMESPACE: Final = "VisitConflicts"  # visit_conflicts.observability
METRICS_SERVICE: Final = "visit-conflicts"

RETENTION_BY_DAYS: Final = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}

# Valid Fargate cpu units -> allowed memory (MiB).
FARGATE_MEMORY_BY_CPU: Final = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
# An inline Map runs at most 40 iterations at a time whatever MaxConcurrency says.
MAX_INLINE_MAP_CONCURRENCY: Final = 40
