variable "available_memory" {
  description = "Memory of each instance, e.g. 512Mi or 1Gi."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.available_memory))
    error_message = "available_memory must look like 512Mi or 2Gi."
  }
}

variable "build_service_account_id" {
  description = "Full id (projects/P/serviceAccounts/EMAIL) of the service account Cloud Build uses to build the function (not the default compute account)."
  type        = string

  validation {
    condition     = can(regex("^projects/[^/]+/serviceAccounts/[^/]+@[^/]+$", var.build_service_account_id))
    error_message = "build_service_account_id must look like projects/P/serviceAccounts/NAME@P.iam.gserviceaccount.com."
  }
}

variable "description" {
  description = "What the function does (shown in the console)."
  type        = string
  default     = ""
}

variable "entry_point" {
  description = "Python function in functions/main.py that serves requests (process, plan, progress, validate, status, start_daily)."
  type        = string

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]*$", var.entry_point))
    error_message = "entry_point must be a Python identifier."
  }
}

variable "environment_variables" {
  description = "Runtime environment (BACKCOURT_* settings)."
  type        = map(string)
  default     = {}
}

variable "event_trigger" {
  description = "Pub/Sub topic (projects/P/topics/T) feeding the function through an Eventarc trigger, and the identity the trigger pushes with (it must be an invoker); null for a function called over HTTP(S) or by a push subscription."
  type = object({
    pubsub_topic          = string
    service_account_email = string
  })
  default = null

  validation {
    condition     = var.event_trigger == null || can(regex("^projects/[^/]+/topics/[^/]+$", var.event_trigger.pubsub_topic))
    error_message = "event_trigger.pubsub_topic must be a full topic id projects/P/topics/T."
  }
}

variable "ingress_settings" {
  description = "Who may reach the function over the network (IAM still applies)."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress_settings)
    error_message = "ingress_settings must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "invoker_members" {
  description = "Principals allowed to invoke the function (roles/run.invoker) keyed by a stable label, e.g. push => serviceAccount:…; never public."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for m in values(var.invoker_members) : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "invoker_members must not contain allUsers or allAuthenticatedUsers."
  }
}

variable "labels" {
  description = "Labels put on the function."
  type        = map(string)
  default     = {}
}

variable "max_instance_count" {
  description = "Upper bound on instances (caps concurrency against BigQuery and sources)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_instance_count >= 1 && var.max_instance_count <= 1000
    error_message = "max_instance_count must be between 1 and 1000."
  }
}

variable "min_instance_count" {
  description = "Instances kept warm (0 scales to zero)."
  type        = number
  default     = 0

  validation {
    condition     = var.min_instance_count >= 0
    error_message = "min_instance_count must not be negative."
  }
}

variable "name" {
  description = "Function name: the entry point with hyphens (start_daily → start-daily); also the name of its Cloud Run service."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,48}[a-z0-9]$", var.name))
    error_message = "name must be 2-50 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "project_id" {
  description = "Google Cloud project that owns the function."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid Google Cloud project id."
  }
}

variable "project_roles" {
  description = "Project-level roles granted to the function's own service account (least privilege)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for r in var.project_roles : !contains(["roles/owner", "roles/editor"], r)])
    error_message = "project_roles must not include the primitive owner or editor roles."
  }
}

variable "region" {
  description = "Region the function runs in."
  type        = string
}

variable "runtime" {
  description = "Cloud Functions runtime."
  type        = string
  default     = "python311"
}

variable "service_account_id" {
  description = "account_id of the function's own runtime service account (6-30 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.service_account_id))
    error_message = "service_account_id must be 6-30 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "source_bucket" {
  description = "GCS bucket holding the source zip (functions/ + the backcourt package)."
  type        = string
}

variable "source_object" {
  description = "Object name of the source zip in source_bucket."
  type        = string
}

variable "timeout_seconds" {
  description = "Request timeout: HTTP functions up to 3600 s, event-driven ones up to 540 s (checked by a precondition)."
  type        = number
  default     = 540

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 3600
    error_message = "timeout_seconds must be between 1 and 3600."
  }
}
