# The Cloud Functions (gen2) of functions/main.py, their source, identities and triggers, and the
# work queue that feeds the process function.
#
# Function names are their entry points (start_daily → start-daily) and are NOT prefixed: the
# backfill workflow calls FUNCTIONS_URL + "/plan" (and /progress, /validate), and a gen2
# function's cloudfunctions.net URL is https://REGION-PROJECT.cloudfunctions.net/NAME. So one
# backcourt deployment per project and region; everything else carries the prefix.

locals {
  functions_url = "https://${var.region}-${var.project_id}.cloudfunctions.net"

  runtime_env = {
    BACKCOURT_BACKEND                = "gcp"
    BACKCOURT_GCP__BUCKET            = var.bucket_name
    BACKCOURT_GCP__COLLECTION_PREFIX = "backcourt"
    BACKCOURT_GCP__DATASET_PREFIX    = var.dataset_prefix
    BACKCOURT_GCP__LOCATION          = var.bigquery_location
    BACKCOURT_GCP__PROJECT           = var.project_id
    BACKCOURT_GCP__TOPIC             = local.work_topic
  }

  push_member = "serviceAccount:${google_service_account.push.email}"

  # Every entry point of functions/main.py with what it may do. roles: project level (BigQuery
  # jobs, Firestore, Workflows have no finer grant); dataset_roles: on each warehouse dataset.
  functions = {
    process = {
      description   = "One work message from the work topic (push subscription): runs a unit of work."
      memory        = "1Gi"
      timeout       = 540
      max           = 20
      ingress       = "ALLOW_INTERNAL_ONLY"
      roles         = ["roles/bigquery.jobUser", "roles/datastore.user"]
      dataset_roles = ["roles/bigquery.dataEditor"]
      invokers      = { push = local.push_member }
      trigger_topic = null
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
    }
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
}

# Logs, the built images, and the sources Cloud Functions stages in its own gcf-v2-sources bucket.
resource "google_project_iam_member" "build" {
  for_each = toset(["roles/artifactregistry.writer", "roles/logging.logWriter", "roles/storage.objectViewer"])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"
}

# The identity whose OIDC token Pub/Sub attaches when it pushes: the work subscription to process
# and the Eventarc trigger of the daily topic to start_daily. It may invoke those two only.
resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.prefix}-push"
  display_name = "backcourt Pub/Sub pushes to process and start_daily"
}

# Pub/Sub's service agent mints those OIDC tokens: token creator on this account only.
resource "google_service_account_iam_member" "push_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
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

  environment_variables = merge(local.runtime_env, each.key != "start_daily" ? {} : {
    BACKCOURT_DAILY_WORKFLOW = module.daily_workflow.id
    BACKCOURT_GCP__REGION    = var.region
  })

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
  publisher_members          = { backfill-workflow = module.backfill_workflow.service_account_member }

  depends_on = [google_project_service.apis, google_service_account_iam_member.push_token_creator]
}
