variable "call_log_level" {
  description = "Platform logging of calls during executions."
  type        = string
  default     = "LOG_ERRORS_ONLY"

  validation {
    condition     = contains(["LOG_ALL_CALLS", "LOG_ERRORS_ONLY", "LOG_NONE"], var.call_log_level)
    error_message = "call_log_level must be LOG_ALL_CALLS, LOG_ERRORS_ONLY or LOG_NONE."
  }
}

variable "deletion_protection" {
  description = "Whether Terraform refuses to destroy (or replace, on a rename) the workflow. It holds no data (its YAML is in the repository), so false by default."
  type        = bool
  default     = false
}

variable "description" {
  description = "What the workflow does (at most 1000 characters)."
  type        = string
  default     = ""

  validation {
    condition     = length(var.description) <= 1000
    error_message = "description must be at most 1000 characters."
  }
}

variable "env" {
  description = "User environment variables the YAML reads with sys.get_env (at most 20; keys must not start with GOOGLE or WORKFLOWS)."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.env) <= 20 && alltrue([for k in keys(var.env) : k != "" && !startswith(k, "GOOGLE") && !startswith(k, "WORKFLOWS")])
    error_message = "env allows at most 20 keys, none empty or starting with GOOGLE or WORKFLOWS."
  }
}

variable "labels" {
  description = "Labels put on the workflow."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Workflow name (what gcloud workflows run takes)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_-]{0,63}$", var.name))
    error_message = "name must start with a letter and have at most 64 letters, digits, hyphens and underscores."
  }
}

variable "project_id" {
  description = "Google Cloud project that owns the workflow."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid Google Cloud project id."
  }
}

variable "project_roles" {
  description = "Project-level roles of the workflow's service account; only roles/workflows.invoker (Workflows grants it at project level only) and roles/logging.logWriter are allowed."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for r in var.project_roles : contains(["roles/workflows.invoker", "roles/logging.logWriter"], r)])
    error_message = "project_roles may only contain roles/workflows.invoker and roles/logging.logWriter."
  }
}

variable "region" {
  description = "Region of the workflow."
  type        = string
}

variable "service_account_id" {
  description = "account_id of the workflow's own service account (6-30 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.service_account_id))
    error_message = "service_account_id must be 6-30 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "source_contents" {
  description = "The workflow YAML, unchanged: file(\"…/workflows/<name>.workflows.yaml\") (at most 128 KB)."
  type        = string

  validation {
    condition     = length(var.source_contents) > 0 && length(var.source_contents) <= 131072
    error_message = "source_contents must be non-empty and at most 128 KB."
  }
}
