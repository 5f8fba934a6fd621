# The workflows of workflows/ and the daily schedule that starts them.
#
# The YAML files are deployed as they are (file(), not templatefile(): Workflows' ${...}
# expressions would collide with Terraform's); the deployment's settings reach them as user
# environment variables read with sys.get_env().

module "backfill_workflow" {
  source = "./modules/pipeline_workflow"

  project_id         = var.project_id
  region             = var.region
  name               = "${var.prefix}-backfill"
  description        = "Backfill of a season or date range: plan, publish work, poll progress, gate, phase by phase."
  service_account_id = "${var.prefix}-wf-backfill"
  labels             = local.labels
  source_contents    = file("${path.module}/../workflows/backfill.workflows.yaml")

  # Invoking plan/progress/validate and publishing to the work topic are granted where those
  # live (functions.tf): it has no project role at all.
  env = {
    FUNCTIONS_URL    = local.functions_url
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
  name               = "${var.prefix}-daily"
  description        = "Daily run: post-game phases for yesterday and pre-game phases for today, as child executions of the backfill workflow."
  service_account_id = "${var.prefix}-wf-daily"
  labels             = local.labels
  source_contents    = file("${path.module}/../workflows/daily.workflows.yaml")

  # Its only power: start (and wait for) executions. Workflows grants that at project level only.
  project_roles = ["roles/workflows.invoker"]

  env = {
    BACKFILL_WORKFLOW = module.backfill_workflow.name
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

# The workflow addresses plan/progress/validate as FUNCTIONS_URL + "/<entry point>": warn on a plan
# whose deployed URLs would not match.
check "workflow_reaches_the_functions" {
  assert {
    condition = alltrue([
      for fn in ["plan", "progress", "validate"] :
      module.pipeline_function[fn].url == "${local.functions_url}/${fn}"
    ])
    error_message = "a function called by the backfill workflow is not at FUNCTIONS_URL/<entry point>."
  }
}
