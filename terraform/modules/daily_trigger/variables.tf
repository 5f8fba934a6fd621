variable "jobs" {
  description = "Scheduler jobs keyed by a short name: a cron schedule read in America/New_York and a description."
  type = map(object({
    description = string
    schedule    = string
  }))
  nullable = false
  default = {
    morning = {
      description = "Post-game results for yesterday and pre-game predictions for today."
      schedule    = "0 6 * * *"
    }
  }

  validation {
    condition     = length(var.jobs) > 0 && alltrue([for k in keys(var.jobs) : can(regex("^[a-z][a-z0-9-]{0,20}$", k))])
    error_message = "jobs needs at least one entry, keyed by 1-21 lowercase letters, digits and hyphens."
  }

  validation {
    condition     = alltrue([for j in values(var.jobs) : length(split(" ", trimspace(j.schedule))) == 5])
    error_message = "every schedule must be a five-field cron expression such as 0 6 * * *."
  }
}

variable "labels" {
  description = "Labels put on the topic."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Name of the daily topic; the jobs are named <name>-<job>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "name must be 3-41 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "paused" {
  description = "Pause every job (off-season); the jobs and the topic are kept."
  type        = bool
  default     = false
}

variable "project_id" {
  description = "Google Cloud project that owns the topic and jobs."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid Google Cloud project id."
  }
}

variable "region" {
  description = "Region of the Cloud Scheduler jobs."
  type        = string
}
