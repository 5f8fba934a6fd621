# Root composition of backcourt's deployment. The warehouse tables come from
# generated/tables.json, rendered by scripts/tf_tables.py from backcourt.domain.registry.

provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  registry   = jsondecode(file("${path.module}/generated/tables.json"))
  work_topic = "${var.prefix}-work"

  labels = {
    app    = "backcourt"
    prefix = var.prefix
  }

  runtime_env = {
    BACKCOURT_BACKEND                = "gcp"
    BACKCOURT_GCP__BUCKET            = var.bucket_name
    BACKCOURT_GCP__COLLECTION_PREFIX = "backcourt"
    BACKCOURT_GCP__DATASET_PREFIX    = var.dataset_prefix
    BACKCOURT_GCP__LOCATION          = var.bigquery_location
    BACKCOURT_GCP__PROJECT           = var.project_id
    BACKCOURT_GCP__TOPIC             = local.work_topic
  }

  # Entry points of functions/main.py served over HTTP(S) (push or Workflows calls), each with
  # only the project roles it needs.
  functions = {
    process = {
      memory  = "1Gi"
      timeout = 540
      max     = 20

      roles = [
        "roles/bigquery.dataEditor",
        "roles/bigquery.jobUser",
        "roles/datastore.user",
        "roles/storage.objectAdmin",
      ]
    }
    plan = {
      memory  = "512Mi"
      timeout = 300
      max     = 2
      roles   = ["roles/bigquery.dataViewer", "roles/bigquery.jobUser", "roles/datastore.user"]
    }
    progress = {
      memory  = "256Mi"
      timeout = 60
      max     = 2
      roles   = ["roles/datastore.viewer"]
    }
    validate = {
      memory  = "512Mi"
      timeout = 300
      max     = 2
      roles   = ["roles/bigquery.dataViewer", "roles/bigquery.jobUser", "roles/datastore.user"]
    }
  }
}

module "warehouse_dataset" {
  source   = "./modules/warehouse_dataset"
  for_each = toset(local.registry.datasets)

  project_id          = var.project_id
  dataset_id          = "${var.dataset_prefix}${each.key}"
  location            = var.bigquery_location
  deletion_protection = var.deletion_protection
  labels              = local.labels
  tables              = { for k, t in local.registry.tables : k => t if t.dataset == each.key }
}

module "state_db" {
  source = "./modules/state_db"

  project_id          = var.project_id
  location_id         = var.firestore_location
  deletion_protection = var.deletion_protection
}

# Identity whose OIDC token Pub/Sub attaches when pushing work to the process function.
resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.prefix}-push"
  display_name = "backcourt Pub/Sub push to process"
}

module "pipeline_function" {
  source   = "./modules/pipeline_function"
  for_each = local.functions

  project_id            = var.project_id
  region                = var.region
  name                  = "${var.prefix}-${replace(each.key, "_", "-")}"
  entry_point           = each.key
  available_memory      = each.value.memory
  timeout_seconds       = each.value.timeout
  max_instance_count    = each.value.max
  project_roles         = each.value.roles
  environment_variables = local.runtime_env
  source_bucket         = var.function_source_bucket
  source_object         = var.function_source_object
  labels                = local.labels
  invoker_members       = each.key == "process" ? ["serviceAccount:${google_service_account.push.email}"] : []
}

module "work_topic" {
  source = "./modules/work_topic"

  project_id                 = var.project_id
  name                       = local.work_topic
  labels                     = local.labels
  push_endpoint              = module.pipeline_function["process"].uri
  push_service_account_email = google_service_account.push.email
}
