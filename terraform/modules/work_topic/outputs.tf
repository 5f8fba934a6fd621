output "dead_letter_subscription" {
  description = "Name of the pull subscription that keeps dead letters (inspect or replay from here)."
  value       = google_pubsub_subscription.dead_letter.name
}

output "dead_letter_topic" {
  description = "Name of the dead-letter topic (alert on messages published here)."
  value       = google_pubsub_topic.dead_letter.name
}

output "push_subscription" {
  description = "Name of the push subscription that delivers work to the process function."
  value       = google_pubsub_subscription.push.name
}

output "topic_id" {
  description = "Full id (projects/…/topics/…) of the work topic, for publisher IAM."
  value       = google_pubsub_topic.work.id
}

output "topic_name" {
  description = "Short name of the work topic (the code's BACKCOURT_WORK_TOPIC)."
  value       = google_pubsub_topic.work.name
}
