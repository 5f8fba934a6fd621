# The daily tick: a Pub/Sub topic and Cloud Scheduler jobs publishing to it in America/New_York
# (game dates are Eastern dates; the start_daily function resolves them once per tick). Off-season
# the jobs are paused, never deleted (LESSONS.md #9: a clean-up once deleted 94 scheduler jobs).

resource "google_pubsub_topic" "daily" {
  #checkov:skip=CKV_GCP_83:Ticks carry only the job name, no data: Google-managed encryption.
  project = var.project_id
  name    = var.name
  labels  = var.labels

  # A tick nobody consumed within a day is stale: the next day's tick supersedes it.
  message_retention_duration = "86400s"
}

resource "google_cloud_scheduler_job" "tick" {
  for_each = var.jobs

  project     = var.project_id
  region      = var.region
  name        = "${var.name}-${each.key}"
  description = each.value.description
  schedule    = each.value.schedule
  time_zone   = "America/New_York"
  paused      = var.paused

  retry_config {
    retry_count          = 3
    min_backoff_duration = "30s"
    max_backoff_duration = "300s"
  }

  pubsub_target {
    topic_name = google_pubsub_topic.daily.id
    data       = base64encode(jsonencode({ job = each.key }))
    attributes = { job = each.key }
  }
}
