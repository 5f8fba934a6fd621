# The work topic, its push subscription to the process function, and the dead-letter topic
# (with its own pull subscription so dead letters are kept and can be inspected or replayed).

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # The Pub/Sub service agent forwards dead letters and acknowledges the original message.
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_topic" "work" {
  #checkov:skip=CKV_GCP_83:Work messages carry ids and date ranges of public NBA data, no personal data: Google-managed encryption.
  project = var.project_id
  name    = var.name
  labels  = var.labels
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Dead letters are copies of work messages (ids and date ranges, no personal data): Google-managed encryption.
  project = var.project_id
  name    = "${var.name}-dead-letter"
  labels  = var.labels
}

resource "google_pubsub_subscription" "push" {
  project              = var.project_id
  name                 = "${var.name}-push"
  topic                = google_pubsub_topic.work.id
  labels               = var.labels
  ack_deadline_seconds = var.ack_deadline_seconds

  push_config {
    push_endpoint = var.push_endpoint

    oidc_token {
      service_account_email = var.push_service_account_email
      audience              = var.push_endpoint
    }
  }

  retry_policy {
    minimum_backoff = var.minimum_backoff
    maximum_backoff = var.maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = "" # never expires
  }

  # The service agent must be able to forward before the first dead letter occurs.
  depends_on = [google_pubsub_topic_iam_member.dead_letter_publisher]
}

# Pull subscription on the dead-letter topic: without one, dead letters are dropped. It is the end
# of the line, so it has no dead-letter policy of its own: nothing consumes it automatically and
# unacknowledged messages are kept for message_retention_duration (the offline test exempts only
# subscriptions whose topic is some subscription's dead_letter_topic).
resource "google_pubsub_subscription" "dead_letter" {
  project                    = var.project_id
  name                       = "${var.name}-dead-letter-keep"
  topic                      = google_pubsub_topic.dead_letter.id
  labels                     = var.labels
  ack_deadline_seconds       = 60
  message_retention_duration = var.dead_letter_retention

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "push_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.push.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# Who may publish work: the backfill workflow's own service account, on this topic only.
resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = var.publisher_members

  project = var.project_id
  topic   = google_pubsub_topic.work.name
  role    = "roles/pubsub.publisher"
  member  = each.value
}
