# One Cloud Workflows workflow deployed from its YAML in workflows/, running as its own service
# account. The YAML is passed through unchanged (file(), not templatefile(): Workflows' own
# ${...} expressions would be read as Terraform interpolations); deployment settings reach it as
# user environment variables that the YAML reads with sys.get_env(). What the service account may
# do is granted by the caller where the target lives (function invokers, topic publishers) plus
# project_roles here.

resource "google_service_account" "this" {
  project      = var.project_id
  account_id   = var.service_account_id
  display_name = "backcourt workflow ${var.name}"
}

resource "google_project_iam_member" "roles" {
  for_each = toset(var.project_roles)

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.this.email}"
}

resource "google_workflows_workflow" "this" {
  project         = var.project_id
  region          = var.region
  name            = var.name
  description     = var.description
  labels          = var.labels
  service_account = google_service_account.this.id
  call_log_level  = var.call_log_level
  source_contents = var.source_contents
  user_env_vars   = var.env

  # Explicit: recent 6.x providers default it to true, which makes a rename or a destroy fail.
  deletion_protection = var.deletion_protection

  depends_on = [google_project_iam_member.roles]
}
