output "backfill_workflow" {
  description = "Name of the backfill workflow: gcloud workflows run <this> --location=<region> --data='{\"season\":\"2023-24\"}'."
  value       = module.backfill_workflow.name
}

output "bucket" {
  description = "The raw/exports bucket (BACKCOURT_GCP__BUCKET)."
  value       = module.raw_bucket.name
}

output "daily_jobs" {
  description = "Cloud Scheduler jobs of the daily run, keyed by job."
  value       = module.daily_trigger.job_names
}

output "daily_workflow" {
  description = "Name of the daily workflow (started by the start-daily function)."
  value       = module.daily_workflow.name
}

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

output "function_source_object" {
  description = "Content-addressed source zip the functions run (functions-<sha256>.zip)."
  value       = module.function_source.object
}

output "function_uris" {
  description = "run.app URIs of the functions (service_config[0].uri), keyed by entry point; the backfill workflow calls plan, progress and validate there."
  value       = { for k, m in module.pipeline_function : k => m.uri }
}

output "runtime_env" {
  description = "The BACKCOURT_* settings of the functions (project, region, bucket, topic, datasets, both workflow names): export them to run `backcourt status` or `backcourt cancel` against this deployment."
  value       = local.runtime_env
}

output "season_active" {
  description = "Whether the daily scheduler jobs run (false: paused for the off-season)."
  value       = var.season_active
}

output "status_url" {
  description = "URL of the HTML status report (private: operator_members only; send an identity token)."
  value       = module.pipeline_function["status"].uri
}

output "work_topic" {
  description = "Name of the Pub/Sub work topic (BACKCOURT_GCP__TOPIC)."
  value       = module.work_topic.topic_name
}
