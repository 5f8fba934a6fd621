# One gen2 Cloud Function running as its own service account (never the default compute one),
# built by its own build service account, reachable only by the principals in invoker_members.
# With event_trigger it is fed by an Eventarc Pub/Sub trigger whose retries are always on.

resource "google_service_account" "this" {
  project      = var.project_id
  account_id   = var.service_account_id
  display_name = "backcourt function ${var.name}"
}

resource "google_project_iam_member" "roles" {
  for_each = toset(var.project_roles)

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.this.email}"
}

resource "google_cloudfunctions2_function" "this" {
  project     = var.project_id
  location    = var.region
  name        = var.name
  description = var.description
  labels      = var.labels

  build_config {
    runtime         = var.runtime
    entry_point     = var.entry_point
    service_account = var.build_service_account_id

    source {
      storage_source {
        bucket = var.source_bucket
        object = var.source_object
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.this.email
    available_memory                 = var.available_memory
    timeout_seconds                  = var.timeout_seconds
    min_instance_count               = var.min_instance_count
    max_instance_count               = var.max_instance_count
    max_instance_request_concurrency = 1
    environment_variables            = var.environment_variables
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
  }

  dynamic "event_trigger" {
    for_each = var.event_trigger == null ? [] : [var.event_trigger]

    content {
      trigger_region        = var.region
      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
      pubsub_topic          = event_trigger.value.pubsub_topic
      service_account_email = event_trigger.value.service_account_email
      # Without retries a failing event function "always reports success" and the event is lost
      # (LESSONS.md #9): redelivered with backoff for up to 24 h instead.
      retry_policy = "RETRY_POLICY_RETRY"
    }
  }

  lifecycle {
    precondition {
      condition     = var.event_trigger == null || var.timeout_seconds <= 540
      error_message = "event-driven gen2 functions stop at 540 s: timeout_seconds must be <= 540 with an event_trigger."
    }
  }

  depends_on = [google_project_iam_member.roles]
}

# Gen2 functions are Cloud Run services: invoking one needs roles/run.invoker on that service.
resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = var.invoker_members

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.this.name
  role     = "roles/run.invoker"
  member   = each.value
}
