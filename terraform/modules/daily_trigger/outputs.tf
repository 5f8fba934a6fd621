output "job_names" {
  description = "Names of the Cloud Scheduler jobs, keyed by job."
  value       = { for k, j in google_cloud_scheduler_job.tick : k => j.name }
}

output "paused" {
  description = "Whether the jobs are paused (off-season)."
  value       = var.paused
}

output "topic_id" {
  description = "Full id (projects/…/topics/…) of the daily topic (the start_daily function's trigger)."
  value       = google_pubsub_topic.daily.id
}

output "topic_name" {
  description = "Short name of the daily topic."
  value       = google_pubsub_topic.daily.name
}
