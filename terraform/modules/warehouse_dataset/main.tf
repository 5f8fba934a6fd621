# One BigQuery dataset and every registry table that lives in it. Tables are day-partitioned on
# their partition column (game_date) and clustered as the code declares.

resource "google_bigquery_dataset" "this" {
  project     = var.project_id
  dataset_id  = var.dataset_id
  location    = var.location
  description = var.description
  labels      = var.labels
}

resource "google_bigquery_table" "table" {
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
