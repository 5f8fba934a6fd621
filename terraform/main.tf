# Root composition of backcourt's deployment: the APIs, the warehouse (tables generated from the
# registry into generated/tables.json by scripts/tf_tables.py), the status database and the
# bucket. functions.tf holds the functions and the work queue, orchestration.tf the workflows and
# the daily schedule, alerting.tf the alerts and the budget.

provider "google" {
  project = var.project_id
  region  = var.region

  # The Budgets API answers 403 to user credentials without a quota project: bill API quota
  # to this project (the deployer needs serviceusage.services.use on it).
  billing_project       = var.project_id
  user_project_override = true
}

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  registry = jsondecode(file("${path.module}/generated/tables.json"))

  # The deployment's names, defined once: the resources take them from here and so do the
  # functions' settings (runtime_env: BACKCOURT_GCP__TOPIC, __BACKFILL_WORKFLOW, __DAILY_WORKFLOW).
  # Plain strings, not module outputs: a function's environment that read a workflow's output would
  # close a cycle (backfill workflow env -> function URIs -> function env -> workflow).
  work_topic        = "${var.prefix}-work"
  backfill_workflow = "${var.prefix}-backfill"
  daily_workflow    = "${var.prefix}-daily"

  labels = {
    app    = "backcourt"
    prefix = var.prefix
  }

  apis = toset([
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "billingbudgets.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "eventarc.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
    "workflowexecutions.googleapis.com",
    "workflows.googleapis.com",
  ])

  # Who reads or writes the warehouse, on each dataset (never project-wide).
  dataset_access = merge([
    for fn, spec in local.functions : {
      for role in spec.dataset_roles : "${fn} ${role}" => {
        member = module.pipeline_function[fn].service_account_member
        role   = role
      }
    }
  ]...)
}

# Enabled once; never disabled by a destroy (other things in the project may use them).
resource "google_project_service" "apis" {
  for_each = local.apis

  project                    = var.project_id
  service                    = each.value
  disable_on_destroy         = false
  disable_dependent_services = false
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
  iam_members         = local.dataset_access

  depends_on = [google_project_service.apis]
}

module "state_db" {
  source = "./modules/state_db"

  project_id          = var.project_id
  location_id         = var.firestore_location
  deletion_protection = var.deletion_protection

  depends_on = [google_project_service.apis]
}

module "raw_bucket" {
  source = "./modules/raw_bucket"

  project_id = var.project_id
  name       = var.bucket_name
  location   = var.bucket_location
  labels     = local.labels

  iam_members = {
    process-writer = {
      member = module.pipeline_function["process"].service_account_member
      role   = "roles/storage.objectAdmin"
    }
  }

  depends_on = [google_project_service.apis]
}
