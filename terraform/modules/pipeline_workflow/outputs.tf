output "id" {
  description = "Full id projects/P/locations/R/workflows/NAME (what the Workflows executions API takes)."
  value       = google_workflows_workflow.this.id
}

output "name" {
  description = "Workflow name (gcloud workflows run NAME)."
  value       = google_workflows_workflow.this.name
}

output "service_account_email" {
  description = "Email of the workflow's own service account."
  value       = google_service_account.this.email
}

output "service_account_member" {
  description = "IAM member string (serviceAccount:…) of the workflow's service account, for invoker and publisher grants."
  value       = "serviceAccount:${google_service_account.this.email}"
}
