output "name" {
  description = "Function name."
  value       = google_cloudfunctions2_function.this.name
}

output "service_account_email" {
  description = "Email of the function's own service account."
  value       = google_service_account.this.email
}

output "uri" {
  description = "HTTPS URI of the function (push endpoint / workflow call target)."
  value       = google_cloudfunctions2_function.this.service_config[0].uri
}
