# Where the functions' code comes from: a private bucket and one content-addressed object, the zip
# of functions/ + the backcourt package built by Cloud Build's package step
# (terraform/package_functions.py). The object name carries the zip's SHA-256, so new code is a
# new object and every function that reads it redeploys; unchanged code changes nothing (the zip
# is byte-for-byte reproducible).

locals {
  object_name = "functions-${filesha256(var.zip_path)}.zip"
}

resource "google_storage_bucket" "this" {
  #checkov:skip=CKV_GCP_62:Holds only build inputs (source zips); Cloud Audit Logs trace access, and a log bucket would itself need a log bucket.
  project                     = var.project_id
  name                        = var.bucket_name
  location                    = var.location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = var.labels

  versioning {
    enabled = true
  }

  # Old zips are only needed to roll back; the current one is re-uploaded by the next apply if
  # it was ever removed (the object is in Terraform's state).
  lifecycle_rule {
    condition {
      age = var.retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_object" "zip" {
  name         = local.object_name
  bucket       = google_storage_bucket.this.name
  source       = var.zip_path
  content_type = "application/zip"
}

resource "google_storage_bucket_iam_member" "readers" {
  for_each = var.reader_members

  bucket = google_storage_bucket.this.name
  role   = "roles/storage.objectViewer"
  member = each.value
}
