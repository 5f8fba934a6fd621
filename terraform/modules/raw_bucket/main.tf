# The GCS bucket of the pipeline (BACKCOURT_GCP__BUCKET): raw source files (raw/<source>/<date>/),
# quarantine/, models/ and exports/. Private by construction: uniform bucket-level access, public
# access prevention enforced, grants only through iam_members. Versioned so an overwritten or
# deleted raw file can be restored; lifecycle rules age raw files into colder classes (they are
# the source of truth for reprocessing, so they are never deleted) and expire old exports and
# noncurrent versions (never those of the schedules).

resource "google_storage_bucket" "this" {
  #checkov:skip=CKV_GCP_62:Usage-log buckets are a legacy feature; reads and writes are traced by Cloud Audit Logs of the functions' service accounts, and a log bucket would itself need a log bucket.
  project                     = var.project_id
  name                        = var.name
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age                   = var.raw_nearline_after_days
      matches_prefix        = ["raw/"]
      matches_storage_class = ["STANDARD"]
    }
    action {
      type          = "SetStorageClass"
      storage_class = "NEARLINE"
    }
  }

  lifecycle_rule {
    condition {
      age                   = var.raw_coldline_after_days
      matches_prefix        = ["raw/"]
      matches_storage_class = ["NEARLINE"]
    }
    action {
      type          = "SetStorageClass"
      storage_class = "COLDLINE"
    }
  }

  lifecycle_rule {
    condition {
      age            = var.exports_retention_days
      matches_prefix = ["exports/"]
    }
    action {
      type = "Delete"
    }
  }

  # Noncurrent versions expire everywhere except under raw/nbacom_schedule/: every schedule
  # version is kept (the calendar's provenance). A rule cannot exclude a prefix, so it lists
  # the others (tests/unit/test_terraform.py checks the list against sources/layout.py).
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_retention_days
      with_state                 = "ARCHIVED"
      matches_prefix             = var.noncurrent_expiring_prefixes
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_iam_member" "access" {
  for_each = var.iam_members

  bucket = google_storage_bucket.this.name
  role   = each.value.role
  member = each.value.member
}
