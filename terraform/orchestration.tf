# The workflows of workflows/ and the daily schedule that starts them.
#
# The YAML files are deployed as they are (file(), not templatefile(): Workflows' ${...}
# expressions would collide with Terraform's); the deployment's settings reach them as user
# environment variables read with sys.get_env().

module "backfill_workflow" {
  source = "./modules/pipeline_workflow"

  project_id         = var.project_id
  region             = var.region
  name               = local.backfill_workflow
  description        = "Backfill of a season or date range: plan, publish work, poll progress, gate, phase by phase."
  service_account_id = "${var.prefix}-wf-backfill"
  labels             = local.labels
  source_contents    = file("${path.module}/../workflows/backfill.workflows.yaml")

  # Invoking plan/progress/validate and publishing to the work topic are granted where those
  # live (functions.tf): it has no project role at all. The functions are called on their run.app
  # URIs (service_config[0].uri): with ingress ALLOW_INTERNAL_ONLY, a call from Workflows counts as
  # internal only there, never on the cloudfunctions.net URL. No cycle: the functions reference
  # this workflow's service account (invokers), not the workflow, and their environment holds
  # plain names (main.tf locals), never a workflow output.
  env = {
    PLAN_URL         = module.pipeline_function["plan"].uri
    PROGRESS_URL     = module.pipeline_function["progress"].uri
    VALIDATE_URL     = module.pipeline_function["validate"].uri
    PHASE_DEADLINE_S = tostring(var.phase_deadline_s)
    POLL_INTERVAL_S  = tostring(var.poll_interval_s)
    WORK_TOPIC       = module.work_topic.topic_id
  }

  depends_on = [google_project_service.apis]
}

module "daily_workflow" {
  source = "./modules/pipeline_workflow"

  project_id         = var.project_id
  region             = var.region
  name               = local.daily_workflow
  description        = "Daily run: post-game phases for yesterday and pre-game phases for today, as child executions of the backfill workflow."
  service_account_id = "${var.prefix}-wf-daily"
  labels             = local.labels
  source_contents    = file("${path.module}/../workflows/daily.workflows.yaml")

  # Its only power: start (and wait for) executions. Workflows grants that at project level only.
  project_roles = ["roles/workflows.invoker"]

  # PHASE_DEADLINE_S: a child backfill execution may run one deadline per phase, so the
  # connector waiting for it must not give up at its 30-minute default.
  env = {
    BACKFILL_WORKFLOW = module.backfill_workflow.name
    PHASE_DEADLINE_S  = tostring(var.phase_deadline_s)
  }

  depends_on = [google_project_service.apis]
}

module "daily_trigger" {
  source = "./modules/daily_trigger"

  project_id = var.project_id
  region     = var.region
  name       = "${var.prefix}-daily"
  labels     = local.labels
  jobs       = var.daily_jobs
  paused     = !var.season_active

  depends_on = [google_project_service.apis]
}

# The backfill workflow reaches plan/progress/validate on their run.app URIs (PLAN_URL, …): warn
# on a plan whose URIs are not https run.app addresses (a custom domain or cloudfunctions.net URL
# would not count as internal traffic and the calls would be refused).
check "workflow_calls_the_functions_on_run_app" {
  assert {
    condition = alltrue([
      for fn in ["plan", "progress", "validate"] :
      can(regex("^https://[a-z0-9.-]+\\.run\\.app$", module.pipeline_function[fn].uri))
    ])
    error_message = "plan, progress and validate must be reached on their https://….run.app URIs (service_config[0].uri)."
  }
}
