variable "ack_deadline_seconds" {
  description = "Seconds Pub/Sub waits for the push endpoint to answer (also its request timeout)."
  type        = number
  default     = 600

  validation {
    condition     = var.ack_deadline_seconds >= 10 && var.ack_deadline_seconds <= 600
    error_message = "ack_deadline_seconds must be between 10 and 600."
  }
}

variable "dead_letter_retention" {
  description = "How long the dead-letter subscription keeps undelivered messages (duration, e.g. 604800s)."
  type        = string
  default     = "604800s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.dead_letter_retention))
    error_message = "dead_letter_retention must be a duration in seconds such as 604800s."
  }
}

variable "labels" {
  description = "Labels put on the topics and subscriptions."
  type        = map(string)
  default     = {}
}

variable "max_delivery_attempts" {
  description = "Deliveries of one message before it is forwarded to the dead-letter topic."
  type        = number
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100 (the Pub/Sub limits)."
  }
}

variable "maximum_backoff" {
  description = "Longest wait between redeliveries (duration, at most 600s)."
  type        = string
  default     = "600s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.maximum_backoff))
    error_message = "maximum_backoff must be a duration in seconds such as 600s."
  }
}

variable "minimum_backoff" {
  description = "Shortest wait between redeliveries (duration, at least 0s)."
  type        = string
  default     = "10s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.minimum_backoff))
    error_message = "minimum_backoff must be a duration in seconds such as 10s."
  }
}

variable "name" {
  description = "Name of the work topic; the dead-letter topic and subscriptions derive from it."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~+%-]{2,200}$", var.name))
    error_message = "name must start with a letter and use only letters, digits and ._~+%- (3-201 characters)."
  }
}

variable "project_id" {
  description = "Google Cloud project that owns the topics."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid Google Cloud project id."
  }
}

variable "publisher_members" {
  description = "Principals allowed to publish work messages (roles/pubsub.publisher on the work topic only) keyed by a stable label, e.g. backfill-workflow => serviceAccount:…; never public."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for m in values(var.publisher_members) : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "publisher_members must not contain allUsers or allAuthenticatedUsers."
  }
}

variable "push_endpoint" {
  description = "HTTPS URL of the function that processes work messages (the gen2 function's service URI)."
  type        = string

  validation {
    condition     = startswith(var.push_endpoint, "https://")
    error_message = "push_endpoint must be an https:// URL."
  }
}

variable "push_service_account_email" {
  description = "Service account whose OIDC token Pub/Sub attaches to pushes; it must be allowed to invoke the function."
  type        = string

  validation {
    condition     = endswith(var.push_service_account_email, ".iam.gserviceaccount.com")
    error_message = "push_service_account_email must be a service account email."
  }
}
