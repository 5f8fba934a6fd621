variable "exports_retention_days" {
  description = "Days an object under exports/ is kept (exports are re-rendered from the warehouse on demand)."
  type        = number
  default     = 400

  validation {
    condition     = var.exports_retention_days >= 30
    error_message = "exports_retention_days must be at least 30."
  }
}

variable "iam_members" {
  description = "Bucket-level grants keyed by a stable label (e.g. process-writer): member and role, one of roles/storage.objectAdmin, roles/storage.objectCreator, roles/storage.objectViewer; never public."
  type = map(object({
    member = string
    role   = string
  }))
  default = {}

  validation {
    condition     = alltrue([for g in values(var.iam_members) : contains(["roles/storage.objectAdmin", "roles/storage.objectCreator", "roles/storage.objectViewer"], g.role)])
    error_message = "iam_members roles must be roles/storage.objectAdmin, roles/storage.objectCreator or roles/storage.objectViewer."
  }

  validation {
    condition     = alltrue([for g in values(var.iam_members) : !contains(["allUsers", "allAuthenticatedUsers"], g.member)])
    error_message = "iam_members must not grant allUsers or allAuthenticatedUsers."
  }
}

variable "labels" {
  description = "Labels put on the bucket."
  type        = map(string)
  default     = {}
}

variable "location" {
  description = "Bucket location: a multi-region such as US, or a region (keep it near the functions)."
  type        = string
  default     = "US"
}

variable "name" {
  description = "Globally unique bucket name (the code's BACKCOURT_GCP__BUCKET)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be a valid GCS bucket name (3-63 lowercase letters, digits, dots, hyphens, underscores)."
  }
}

variable "noncurrent_expiring_prefixes" {
  description = "Prefixes whose noncurrent versions expire after noncurrent_retention_days: every prefix of the bucket except raw/nbacom_schedule/, whose versions are all kept."
  type        = list(string)
  default = [
    "raw/nbacom_boxscore/", "raw/nbacom_leaguegamelog/", "raw/balldontlie_boxscores/",
    "raw/balldontlie_stats/", "raw/oddsapi_player_props/", "raw/oddsapi_game_lines/",
    "raw/nbacom_injury_report/", "raw/nbacom_shotchart/", "quarantine/", "models/", "exports/",
  ]

  validation {
    condition     = !anytrue([for p in var.noncurrent_expiring_prefixes : startswith("raw/nbacom_schedule/", p)])
    error_message = "noncurrent_expiring_prefixes must not cover raw/nbacom_schedule/: every schedule version is kept."
  }
}

variable "noncurrent_retention_days" {
  description = "Days an overwritten or deleted object version is kept before it is removed."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_retention_days >= 1
    error_message = "noncurrent_retention_days must be at least 1."
  }
}

variable "project_id" {
  description = "Google Cloud project that owns the bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid Google Cloud project id."
  }
}

variable "raw_coldline_after_days" {
  description = "Age in days at which raw/ files move from NEARLINE to COLDLINE (past seasons are rarely re-read)."
  type        = number
  default     = 365

  validation {
    condition     = var.raw_coldline_after_days >= 90
    error_message = "raw_coldline_after_days must be at least 90 (COLDLINE has a 90-day minimum storage duration)."
  }
}

variable "raw_nearline_after_days" {
  description = "Age in days at which raw/ files move from STANDARD to NEARLINE (the current season stays hot)."
  type        = number
  default     = 30

  validation {
    condition     = var.raw_nearline_after_days >= 1
    error_message = "raw_nearline_after_days must be at least 1."
  }
}
