output "name" {
  description = "Function name (also the name of its Cloud Run service)."
  value       = google_cloudfunctions2_function.this.name
}

output "service_account_email" {
  description = "Email of the function's own runtime service account."
  value       = google_service_account.this.email
}

output "service_account_member" {
  description = "IAM member string (serviceAccount:…) of the function's runtime service account."
  value       = "serviceAccount:${google_service_account.this.email}"
}

output "uri" {
  description = "run.app URI of the function (service_config[0].uri): the push endpoint and the Workflows call target (internal ingress admits Workflows only there); available once the invokers are bound."
  value       = google_cloudfunctions2_function.this.service_config[0].uri
  depends_on  = [google_cloud_run_service_iam_member.invoker]
}
