# One BigQuery dataset and every registry table that lives in it. Tables are day-partitioned on
# their partition column (game_date) and clustered as the code declares. Access is granted on the
# dataset, never project-wide (iam_members).

resource "google_bigquery_dataset" "this" {
  #checkov:skip=CKV_GCP_81:Public NBA statistics, no personal data: Google-managed encryption at rest; a CMEK key ring would add a KMS dependency to every query.
  project     = var.project_id
  dataset_id  = var.dataset_id
  location    = var.location
  description = var.description
  labels      = var.labels
}

resource "google_bigquery_table" "table" {
  #checkov:skip=CKV_GCP_80:Public NBA statistics, no personal data: Google-managed encryption at rest (as the dataset).
  for_each = var.tables

  project             = var.project_id
  dataset_id          = google_bigquery_dataset.this.dataset_id
  table_id            = each.value.name
  description         = each.value.description
  labels              = var.labels
  deletion_protection = var.deletion_protection
  clustering          = length(each.value.clustering) > 0 ? each.value.clustering : null

  time_partitioning {
    type  = "DAY"
    field = each.value.partition_field
  }

  schema = jsonencode(each.value.columns)
}

resource "google_bigquery_dataset_iam_member" "access" {
  for_each = var.iam_members

  project    = var.project_id
  dataset_id = google_bigquery_dataset.this.dataset_id
  role       = each.value.role
  member     = each.value.member
}
