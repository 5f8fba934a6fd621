variable "collection_prefix" {
  description = "Prefix of the status collections (the code's default is backcourt: backcourt_partitions, backcourt_verdicts, backcourt_runs)."
  type        = string
  default     = "backcourt"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,60}$", var.collection_prefix))
    error_message = "collection_prefix must be lowercase letters, digits and underscores, starting with a letter."
  }
}

variable "database_id" {
  description = "Firestore database id ((default) or a named database)."
  type        = string
  default     = "(default)"

  validation {
    condition     = var.database_id == "(default)" || can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.database_id))
    error_message = "database_id must be (default) or 4-63 lowercase letters, digits and hyphens."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the database (keep true outside throw-away projects)."
  type        = bool
  default     = true
}

variable "location_id" {
  description = "Firestore location, e.g. nam5 or us-east1."
  type        = string
  default     = "nam5"
}

variable "project_id" {
  description = "Google Cloud project that owns the database."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid Google Cloud project id."
  }
}
