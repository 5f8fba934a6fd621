# The Firestore (native mode) database of the status store (backcourt.adapters.gcp.firestore_status):
# TTL on partition leases and the composite indexes its progress queries need.

locals {
  partitions = "${var.collection_prefix}_partitions"
  verdicts   = "${var.collection_prefix}_verdicts"
}

resource "google_firestore_database" "this" {
  project                 = var.project_id
  name                    = var.database_id
  location_id             = var.location_id
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy         = var.deletion_protection ? "ABANDON" : "DELETE"
}

# Firestore deletes a partition document some time after its lease_expires_at passes. Only
# documents still carrying a lease have the field in the past; finished partitions clear it.
resource "google_firestore_field" "lease_ttl" {
  project    = var.project_id
  database   = google_firestore_database.this.name
  collection = local.partitions
  field      = "lease_expires_at"

  ttl_config {}

  # A TTL field is never queried: no single-field indexes on it.
  index_config {}
}

# partitions: where processor == X and game_date between A and B.
resource "google_firestore_index" "partitions_by_processor_date" {
  project    = var.project_id
  database   = google_firestore_database.this.name
  collection = local.partitions

  fields {
    field_path = "processor"
    order      = "ASCENDING"
  }

  fields {
    field_path = "game_date"
    order      = "ASCENDING"
  }
}

# verdicts: where phase == X and game_date between A and B.
resource "google_firestore_index" "verdicts_by_phase_date" {
  project    = var.project_id
  database   = google_firestore_database.this.name
  collection = local.verdicts

  fields {
    field_path = "phase"
    order      = "ASCENDING"
  }

  fields {
    field_path = "game_date"
    order      = "ASCENDING"
  }
}
