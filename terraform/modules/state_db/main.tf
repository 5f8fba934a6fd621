# The Firestore (native mode) database of the status store (backcourt.adapters.gcp.firestore_status)
# and the composite indexes its progress queries need. No TTL policy on any field: a TTL deletes
# the whole document, and a partition's document is its history (attempt count, last error);
# expired leases are released by the code (plan and progress), never by Firestore.

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
