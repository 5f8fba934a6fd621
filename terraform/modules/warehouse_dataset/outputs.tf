output "dataset_id" {
  description = "The dataset id (as created)."
  value       = google_bigquery_dataset.this.dataset_id
}

output "table_ids" {
  description = "Fully qualified ids (projects/…/datasets/…/tables/…) of the tables, keyed by dataset.table."
  value       = { for k, t in google_bigquery_table.table : k => t.id }
}
