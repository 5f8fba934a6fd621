variable "bigquery_location" {
  description = "BigQuery location of the datasets and jobs (the code's BACKCOURT_GCP__LOCATION)."
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

variable "function_source_bucket" {
  description = "GCS bucket holding the function source zip (functions/ + the backcourt package)."
  type        = string
}

variable "function_source_object" {
  description = "Object name of the function source zip (content-addressed so a new zip redeploys)."
  type        = string
}

variable "prefix" {
  description = "Short name prefix of every resource (topics, functions, service accounts)."
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
  description = "Region of the functions (and, later, workflows and scheduler jobs)."
  type        = string
  default     = "us-east1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as us-east1."
  }
}

variable "season_active" {
  description = "In season the daily schedules run; off-season they are paused (nothing is deleted). Consumed by the scheduler module."
  type        = bool
  default     = true
}
