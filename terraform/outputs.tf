output "dataset_ids" {
  description = "BigQuery dataset ids, keyed by the registry dataset name."
  value       = { for k, m in module.warehouse_dataset : k => m.dataset_id }
}

output "dead_letter_subscription" {
  description = "Pull subscription that keeps the work topic's dead letters."
  value       = module.work_topic.dead_letter_subscription
}

output "firestore_database" {
  description = "Firestore database of the status store."
  value       = module.state_db.database_id
}

output "function_uris" {
  description = "HTTPS URIs of the functions, keyed by entry point."
  value       = { for k, m in module.pipeline_function : k => m.uri }
}

output "season_active" {
  description = "Whether the daily schedules are meant to run (read by the scheduler slice)."
  value       = var.season_active
}

output "work_topic" {
  description = "Name of the Pub/Sub work topic (BACKCOURT_GCP__TOPIC)."
  value       = module.work_topic.topic_name
}
