# The Cloud Functions (gen2) of functions/main.py, their source, identities and triggers, and the
# work queue that feeds the process function.
#
# Function names are their entry points (start_daily → start-daily) and are NOT prefixed. The
# backfill workflow calls plan, progress and validate on their run.app URIs (PLAN_URL,
# PROGRESS_URL, VALIDATE_URL: each function's service_config[0].uri, orchestration.tf): only there
# does a call from Workflows count as internal traffic for ALLOW_INTERNAL_ONLY ingress.

locals {
  # The process function's timeout is the one setting its lease and retries derive from: a lease
  # ends a minute before the function is stopped (at least 60 s), so a redelivery of a killed
  # message finds it expired; the dead-letter limit is the subscription's max_delivery_attempts.
  process_timeout_s     = 540 # event-driven gen2 functions stop at 540 s
  lease_ttl_s           = max(60, local.process_timeout_s - 60)
  max_delivery_attempts = 5

  # The BACKCOURT_* settings every function gets (and `terraform output runtime_env`): the names
  # come from main.tf's locals, the same ones the resources are created with.
  runtime_env = {
    BACKCOURT_BACKEND                = "gcp"
    BACKCOURT_GCP__BACKFILL_WORKFLOW = local.backfill_workflow
    BACKCOURT_GCP__BUCKET            = var.bucket_name
    BACKCOURT_GCP__COLLECTION_PREFIX = "backcourt"
    BACKCOURT_GCP__DAILY_WORKFLOW    = local.daily_workflow
    BACKCOURT_GCP__DATASET_PREFIX    = var.dataset_prefix
    BACKCOURT_GCP__LOCATION          = var.bigquery_location
    BACKCOURT_GCP__PROJECT           = var.project_id
    BACKCOURT_GCP__REGION            = var.region
    BACKCOURT_GCP__TOPIC             = local.work_topic
  }

  push_member = "serviceAccount:${google_service_account.push.email}"

  # Every entry point of functions/main.py with what it may do. roles: project level (BigQuery
  # jobs, Firestore, Workflows have no finer grant); dataset_roles: on each warehouse dataset.
  functions = {
    process = {
      description   = "One work message from the work topic (push subscription): runs a unit of work."
      memory        = "1Gi"
      timeout       = local.process_timeout_s
      max           = 20
      ingress       = "ALLOW_INTERNAL_ONLY"
      roles         = ["roles/bigquery.jobUser", "roles/datastore.user"]
      dataset_roles = ["roles/bigquery.dataEditor"]
      invokers      = { push = local.push_member }
      trigger_topic = null
      env = {
        BACKCOURT_LEASE_TTL_S        = tostring(local.lease_ttl_s)
        BACKCOURT_FUNCTION_TIMEOUT_S = tostring(local.process_timeout_s)
        BACKCOURT_MAX_DELIVERIES     = tostring(local.max_delivery_attempts)
      }
    }
    plan = {
      description   = "HTTP, called by the backfill workflow: seeds a phase's status and returns the work to publish."
      memory        = "512Mi"
      timeout       = 300
      max           = 2
      ingress       = "ALLOW_INTERNAL_ONLY"
      roles         = ["roles/bigquery.jobUser", "roles/datastore.user"]
      dataset_roles = ["roles/bigquery.dataViewer"]
      invokers      = { backfill-workflow = module.backfill_workflow.service_account_member }
      trigger_topic = null
      env           = {}
    }
    progress = {
      description   = "HTTP, called by the backfill workflow: counts of a phase's dates by state."
      memory        = "256Mi"
      timeout       = 60
      max           = 2
      ingress       = "ALLOW_INTERNAL_ONLY"
      roles         = ["roles/datastore.viewer"]
      dataset_roles = ["roles/bigquery.metadataViewer"]
      invokers      = { backfill-workflow = module.backfill_workflow.service_account_member }
      trigger_topic = null
      env           = {}
    }
    validate = {
      description   = "HTTP, called by the backfill workflow: runs a phase's gate and stores the verdicts."
      memory        = "512Mi"
      timeout       = 300
      max           = 2
      ingress       = "ALLOW_INTERNAL_ONLY"
      roles         = ["roles/bigquery.jobUser", "roles/datastore.user"]
      dataset_roles = ["roles/bigquery.dataViewer"]
      invokers      = { backfill-workflow = module.backfill_workflow.service_account_member }
      trigger_topic = null
      env           = {}
    }
    status = {
      description   = "HTTP GET for operators: the HTML status report (reads Firestore and BigQuery only)."
      memory        = "512Mi"
      timeout       = 300
      max           = 2
      ingress       = "ALLOW_ALL" # operators call it from outside Google; IAM still decides who
      roles         = ["roles/bigquery.jobUser", "roles/datastore.viewer"]
      dataset_roles = ["roles/bigquery.dataViewer"]
      invokers      = { for m in var.operator_members : m => m }
      trigger_topic = null
      env           = {}
    }
    # start_daily: workflows.invoker holds executions.create and executions.list (start_once
    # lists a tick's executions before it starts one).
    start_daily = {
      description   = "Daily tick (Eventarc on the daily topic): resolves the dates once and starts the daily workflow."
      memory        = "256Mi"
      timeout       = 120
      max           = 1
      ingress       = "ALLOW_INTERNAL_ONLY"
      roles         = ["roles/workflows.invoker"]
      dataset_roles = []
      invokers      = { push = local.push_member }
      trigger_topic = module.daily_trigger.topic_id
      # Kept while functions/main.py reads it (it may build the same path from the settings).
      env = {
        BACKCOURT_DAILY_WORKFLOW = "projects/${var.project_id}/locations/${var.region}/workflows/${local.daily_workflow}"
      }
    }
  }
}

module "function_source" {
  source = "./modules/function_source"

  project_id  = var.project_id
  bucket_name = "${var.project_id}-${var.prefix}-fn-source"
  location    = var.region
  labels      = local.labels
  zip_path    = var.function_source_zip

  reader_members = { build = "serviceAccount:${google_service_account.build.email}" }

  depends_on = [google_project_service.apis]
}

# Builds the functions' containers (instead of the default compute account).
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.prefix}-fn-build"
  display_name = "backcourt function builds"

  # On a first apply the IAM API may not be on yet: create accounts only after the APIs.
  depends_on = [google_project_service.apis]
}

# Logs, the built images, and the sources Cloud Functions stages in its own gcf-v2-sources bucket.
resource "google_project_iam_member" "build" {
  for_each = toset(["roles/artifactregistry.writer", "roles/logging.logWriter", "roles/storage.objectViewer"])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"

  depends_on = [google_project_service.apis]
}

# The identity whose OIDC token Pub/Sub attaches when it pushes: the work subscription to process
# and the Eventarc trigger of the daily topic to start_daily. It may invoke those two only.
resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.prefix}-push"
  display_name = "backcourt Pub/Sub pushes to process and start_daily"

  depends_on = [google_project_service.apis]
}

# Pub/Sub's service agent mints those OIDC tokens: token creator on this account only.
resource "google_service_account_iam_member" "push_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # The Pub/Sub service agent exists once pubsub.googleapis.com is enabled.
  depends_on = [google_project_service.apis]
}

module "pipeline_function" {
  source   = "./modules/pipeline_function"
  for_each = local.functions

  project_id               = var.project_id
  region                   = var.region
  name                     = replace(each.key, "_", "-")
  entry_point              = each.key
  description              = each.value.description
  service_account_id       = "${var.prefix}-fn-${replace(each.key, "_", "-")}"
  build_service_account_id = google_service_account.build.id
  available_memory         = each.value.memory
  timeout_seconds          = each.value.timeout
  max_instance_count       = each.value.max
  ingress_settings         = each.value.ingress
  project_roles            = each.value.roles
  invoker_members          = each.value.invokers
  labels                   = local.labels
  source_bucket            = module.function_source.bucket
  source_object            = module.function_source.object

  environment_variables = merge(local.runtime_env, each.value.env)

  event_trigger = each.value.trigger_topic == null ? null : {
    pubsub_topic          = each.value.trigger_topic
    service_account_email = google_service_account.push.email
  }

  depends_on = [google_project_service.apis, google_project_iam_member.build]
}

module "work_topic" {
  source = "./modules/work_topic"

  project_id                 = var.project_id
  name                       = local.work_topic
  labels                     = local.labels
  push_endpoint              = module.pipeline_function["process"].uri
  push_service_account_email = google_service_account.push.email
  max_delivery_attempts      = local.max_delivery_attempts
  publisher_members          = { backfill-workflow = module.backfill_workflow.service_account_member }

  depends_on = [google_project_service.apis, google_service_account_iam_member.push_token_creator]
}
