variable "alert_logger" {
  description = "Logger name (jsonPayload.logger of the functions' JSON log entries) whose ERROR entries mean a person is needed."
  type        = string
  default     = "backcourt.functions"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.]*$", var.alert_logger))
    error_message = "alert_logger must be a Python logger name such as backcourt.functions."
  }
}

variable "billing_account" {
  description = "Billing account id (XXXXXX-XXXXXX-XXXXXX) that pays for the project; the budget is set on it, filtered to this project."
  type        = string

  validation {
    condition     = can(regex("^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$", var.billing_account))
    error_message = "billing_account must look like 012345-6789AB-CDEF01."
  }
}

variable "budget_amount" {
  description = "Monthly budget in whole units of budget_currency; alerts at 50%, 90%, 100% and at 100% forecast."
  type        = number
  default     = 100

  validation {
    condition     = var.budget_amount > 0 && floor(var.budget_amount) == var.budget_amount
    error_message = "budget_amount must be a positive whole number."
  }
}

variable "budget_currency" {
  description = "ISO 4217 currency of the budget; it must be the billing account's currency."
  type        = string
  default     = "USD"

  validation {
    condition     = can(regex("^[A-Z]{3}$", var.budget_currency))
    error_message = "budget_currency must be a three-letter ISO 4217 code such as USD."
  }
}

variable "dead_letter_subscriptions" {
  description = "Names of the subscriptions that keep dead letters; any undelivered message there alerts."
  type        = list(string)

  validation {
    condition     = length(var.dead_letter_subscriptions) > 0
    error_message = "dead_letter_subscriptions needs at least one subscription."
  }
}

variable "function_services" {
  description = "Names of the functions (their Cloud Run services) whose alert_logger ERROR entries are counted and alerted on."
  type        = list(string)

  validation {
    condition     = length(var.function_services) > 0
    error_message = "function_services needs at least one function."
  }
}

variable "notification_email" {
  description = "E-mail address that receives the alerts and budget notifications."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.notification_email))
    error_message = "notification_email must be an e-mail address."
  }
}

variable "prefix" {
  description = "Deployment prefix, used in display names and the log-based metric's name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}$", var.prefix))
    error_message = "prefix must be 2-15 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "project_id" {
  description = "Google Cloud project monitored (and budgeted)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid Google Cloud project id."
  }
}

variable "workflow_names" {
  description = "Names of the workflows whose FAILED executions alert."
  type        = list(string)

  validation {
    condition     = length(var.workflow_names) > 0
    error_message = "workflow_names needs at least one workflow."
  }
}
