variable "alert_email" {
  description = "E-mail address that receives the alerts (dead letters, failed executions, function errors) and budget notifications."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an e-mail address."
  }
}

variable "bigquery_location" {
  description = "BigQuery location of the datasets and jobs (the code's BACKCOURT_GCP__LOCATION)."
  type        = string
  default     = "US"
}

variable "billing_account" {
  description = "Billing account id (XXXXXX-XXXXXX-XXXXXX) paying for the project; the monthly budget is set on it, filtered to this project."
  type        = string

  validation {
    condition     = can(regex("^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$", var.billing_account))
    error_message = "billing_account must look like 012345-6789AB-CDEF01."
  }
}

variable "bucket_location" {
  description = "Location of the raw/exports bucket (a multi-region such as US, or the functions' region)."
  type        = string
  default     = "US"
}

variable "bucket_name" {
  description = "GCS bucket of raw files, quarantine, model artifacts and exports (BACKCOURT_GCP__BUCKET)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid GCS bucket name."
  }
}

variable "budget_amount" {
  description = "Monthly budget of the project in USD; alerts at 50%, 90%, 100% and 100% forecast."
  type        = number
  default     = 100

  validation {
    condition     = var.budget_amount > 0 && floor(var.budget_amount) == var.budget_amount
    error_message = "budget_amount must be a positive whole number."
  }
}

variable "daily_jobs" {
  description = "Daily Cloud Scheduler jobs (cron in America/New_York) keyed by name; null keeps the default single 06:00 run."
  type = map(object({
    description = string
    schedule    = string
  }))
  default = null
}

variable "dataset_prefix" {
  description = "Prefix of the BigQuery datasets, e.g. dev_ (BACKCOURT_GCP__DATASET_PREFIX); empty in production."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[a-z0-9_]*$", var.dataset_prefix))
    error_message = "dataset_prefix must be lowercase letters, digits and underscores."
  }
}

variable "deletion_protection" {
  description = "Protect the warehouse tables and the Firestore database from destroy."
  type        = bool
  default     = true
}

variable "firestore_location" {
  description = "Firestore location of the status database, e.g. nam5."
  type        = string
  default     = "nam5"
}

variable "function_source_zip" {
  description = "Path (from terraform/) of the zip of functions/ + the backcourt package, built by `python terraform/package_functions.py` (Cloud Build's package step)."
  type        = string
  default     = "../dist/functions-source.zip"

  validation {
    condition     = endswith(var.function_source_zip, ".zip")
    error_message = "function_source_zip must name a .zip file."
  }
}

variable "operator_members" {
  description = "Who may open the status report (roles/run.invoker on the status function), e.g. [\"group:ops@example.com\"]; never public."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.operator_members : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "operator_members must not contain allUsers or allAuthenticatedUsers: the status report is private."
  }

  validation {
    condition     = alltrue([for m in var.operator_members : can(regex("^(user|group|serviceAccount|domain):[^\\s]+$", m))])
    error_message = "operator_members entries must be IAM members such as user:a@example.com, group:ops@example.com or domain:example.com."
  }
}

variable "phase_deadline_s" {
  description = "Seconds the backfill workflow waits for a phase's work before it runs the gate anyway (PHASE_DEADLINE_S)."
  type        = number
  default     = 3600

  validation {
    # The daily workflow waits for a chain of up to 4 phases (phase 2 plans twice: 5 waits) plus
    # 1800 s within its connector timeout of 43200 s (workflows/daily.workflows.yaml).
    condition     = var.phase_deadline_s >= 60 && var.phase_deadline_s <= 8280
    error_message = "phase_deadline_s must be between 60 and 8280 (the daily workflow's connector timeout, 43200 s, covers 5 phase waits + 1800 s)."
  }
}

variable "poll_interval_s" {
  description = "Seconds between the backfill workflow's progress polls (POLL_INTERVAL_S); each poll is a billed step."
  type        = number
  default     = 30

  validation {
    condition     = var.poll_interval_s >= 1 && var.poll_interval_s <= 600
    error_message = "poll_interval_s must be between 1 and 600."
  }
}

variable "prefix" {
  description = "Short name prefix of every resource but the functions (topics, workflows, service accounts, jobs, alerts)."
  type        = string
  default     = "backcourt"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}$", var.prefix))
    error_message = "prefix must be 2-15 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "project_id" {
  description = "Google Cloud project everything is deployed into."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid Google Cloud project id."
  }
}

variable "region" {
  description = "Region of the functions, workflows, scheduler jobs and function-source bucket."
  type        = string
  default     = "us-east1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as us-east1."
  }
}

variable "season_active" {
  description = "In season the daily scheduler jobs run; off-season (false) they are paused. Nothing is deleted either way."
  type        = bool
  default     = true
}
