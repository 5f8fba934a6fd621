variable "dataset_id" {
  description = "BigQuery dataset id: the code's BACKCOURT_GCP__DATASET_PREFIX + the registry dataset, e.g. nba_raw."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,1023}$", var.dataset_id))
    error_message = "dataset_id must be letters, digits and underscores, starting with a letter or underscore."
  }
}

variable "deletion_protection" {
  description = "Refuse to destroy the tables (keep true outside throw-away projects)."
  type        = bool
  default     = true
}

variable "description" {
  description = "Human-readable description of the dataset."
  type        = string
  default     = ""
}

variable "iam_members" {
  description = "Dataset-level grants keyed by a stable label (e.g. process-writer): member (serviceAccount:…, group:…) and role, one of roles/bigquery.dataEditor, roles/bigquery.dataViewer, roles/bigquery.metadataViewer; never public."
  type = map(object({
    member = string
    role   = string
  }))
  default = {}

  validation {
    condition     = alltrue([for g in values(var.iam_members) : contains(["roles/bigquery.dataEditor", "roles/bigquery.dataViewer", "roles/bigquery.metadataViewer"], g.role)])
    error_message = "iam_members roles must be roles/bigquery.dataEditor, roles/bigquery.dataViewer or roles/bigquery.metadataViewer."
  }

  validation {
    condition     = alltrue([for g in values(var.iam_members) : !contains(["allUsers", "allAuthenticatedUsers"], g.member)])
    error_message = "iam_members must not grant allUsers or allAuthenticatedUsers."
  }
}

variable "labels" {
  description = "Labels put on the dataset and its tables."
  type        = map(string)
  default     = {}
}

variable "location" {
  description = "BigQuery location of the dataset (multi-region such as US, or a region)."
  type        = string
  default     = "US"
}

variable "project_id" {
  description = "Google Cloud project that owns the dataset."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid Google Cloud project id (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "tables" {
  description = "Tables of this dataset keyed by dataset.table, as rendered by scripts/tf_tables.py into terraform/generated/tables.json."
  type = map(object({
    clustering = list(string)
    columns = list(object({
      description = string
      mode        = string
      name        = string
      type        = string
    }))
    dataset         = string
    description     = string
    name            = string
    partition_field = string
  }))

  validation {
    condition     = alltrue([for t in values(var.tables) : endswith(var.dataset_id, t.dataset)])
    error_message = "every table passed to a warehouse_dataset must belong to that dataset (dataset_id = optional prefix + table dataset)."
  }

  validation {
    condition     = alltrue([for t in values(var.tables) : contains([for c in t.columns : c.name], t.partition_field)])
    error_message = "every table must declare its partition column."
  }

  validation {
    condition     = alltrue([for t in values(var.tables) : length(t.clustering) <= 4])
    error_message = "BigQuery allows at most four clustering columns."
  }
}
