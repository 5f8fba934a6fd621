variable "bucket_name" {
  description = "Globally unique name of the bucket holding the source zips."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid GCS bucket name."
  }
}

variable "labels" {
  description = "Labels put on the bucket."
  type        = map(string)
  default     = {}
}

variable "location" {
  description = "Bucket location (the functions' region keeps builds local)."
  type        = string
}

variable "project_id" {
  description = "Google Cloud project that owns the bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid Google Cloud project id."
  }
}

variable "reader_members" {
  description = "Principals that read the zips (roles/storage.objectViewer), keyed by a stable label, e.g. the functions' build service account; never public."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for m in values(var.reader_members) : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "reader_members must not contain allUsers or allAuthenticatedUsers."
  }
}

variable "retention_days" {
  description = "Days a source zip is kept (older ones only serve rollbacks)."
  type        = number
  default     = 90

  validation {
    condition     = var.retention_days >= 7
    error_message = "retention_days must be at least 7."
  }
}

variable "zip_path" {
  description = "Path of the zip built by Cloud Build's package step (python terraform/package_functions.py), e.g. ../dist/functions-source.zip."
  type        = string

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "zip_path must name a .zip file."
  }
}
